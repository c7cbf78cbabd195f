from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db.models import Case, When
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.forms import (
    AuditFilterForm,
    KeyCreateForm,
    LoginForm,
    MemberForm,
    SignupForm,
)
from webapp.accounts.models import AccessKey, AuditEvent, EncryptionKey, Membership
from webapp.accounts.services.access_keys import (
    access_key_create,
    access_key_delete,
    access_key_revoke,
)
from webapp.accounts.services.accounts import member_add, user_signup
from webapp.accounts.services.audit import OPERATIONS, audit_events
from webapp.accounts.services.keys import key_create, key_disable, key_enable
from webapp.core import arns
from webapp.core.errors import ServiceError
from webapp.core.tables import DESC, Column, table_page

MEMBER_COLUMNS = (
    Column("User", "user", ("user__username",)),
    Column("Role", "role", ("role",)),
    Column("Added", "added", ("created_at",), first=DESC),
)
KEY_COLUMNS = (
    Column("Access key ID", "key", ("key_id",)),
    Column("Status", "status", (Case(When(revoked_at__isnull=True, then=0), default=1),)),
    Column("Created", "created", ("created_at",), first=DESC),
    Column("Last used", "used", ("last_used_at",), first=DESC),
    Column("Actions", hide_label=True),
)
ENCRYPTION_KEY_COLUMNS = (
    Column("Key", "key", ("key_id",)),
    Column("Description", "description", ("description",)),
    Column("Status", "status", ("enabled",), first=DESC),
    Column("Created", "created", ("created_at",), first=DESC),
    Column("Actions", hide_label=True),
)
AUDIT_COLUMNS = (
    Column("When", "when", ("created_at",), first=DESC),
    Column("Who", "who", ("actor_account_id", "actor_user")),
    Column("Operation", "operation", ("operation",)),
    Column("Resource", "resource", ("resource_arn",)),
    Column("Outcome", "outcome", ("outcome",)),
    Column("Details"),
    Column("From", "address", ("client_address",)),
)


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
                account_name=form.cleaned_data["account_name"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! Your account id is {user.membership.account}.")
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def members(request):
    form = MemberForm(request.POST or None)
    is_owner = Membership.objects.filter(
        account=request.account, user=request.user, role=Membership.Role.OWNER
    ).exists()
    if request.method == "POST" and form.is_valid():
        try:
            member_add(
                account=request.account,
                actor=request.user,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                email=form.cleaned_data["email"],
                owner=form.cleaned_data["owner"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"User {form.cleaned_data['username']} added.")
            return redirect("accounts:members")
    rows = Membership.objects.filter(account=request.account).select_related("user")
    table = table_page(request, rows, MEMBER_COLUMNS, default="added", default_dir="asc")
    return render(
        request, "accounts/members.html", {"form": form, "table": table, "is_owner": is_owner}
    )


@login_required
def credentials(request):
    keys = AccessKey.objects.filter(account=request.account, user=request.user)
    table = table_page(request, keys, KEY_COLUMNS, default="created")
    new_secret = request.session.pop("new_access_key", None)
    return render(
        request,
        "accounts/credentials.html",
        {
            "table": table,
            "new_key": new_secret,
            "user_arn": arns.principal_user(request.account.account_id, request.user.username),
            "default_role": arns.default_role(request.account.account_id),
        },
    )


@login_required
@require_POST
def access_key_new(request):
    try:
        key, secret = access_key_create(account=request.account, user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        # Shown once on the next page load and then forgotten, like the AWS console.
        request.session["new_access_key"] = {"key_id": key.key_id, "secret": secret}
    return redirect("accounts:credentials")


@login_required
@require_POST
def access_key_revoke_view(request, key_id):
    try:
        access_key_revoke(account=request.account, user=request.user, key_id=key_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Access key {key_id} revoked.")
    return redirect("accounts:credentials")


@login_required
@require_POST
def access_key_delete_view(request, key_id):
    try:
        access_key_delete(account=request.account, user=request.user, key_id=key_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Access key {key_id} removed.")
    return redirect("accounts:credentials")


@login_required
def keys(request):
    # Bound on every POST: a key with no description is a valid request with an empty body.
    form = KeyCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            key = key_create(
                account=request.account,
                user=request.user,
                description=form.cleaned_data["description"],
            )
        except ServiceError as exc:
            form.add_error(form.API_FIELDS.get(exc.field), exc.message)
        else:
            messages.success(request, f"Key {key.key_id} created.")
            return redirect("accounts:key-list")
    rows = EncryptionKey.objects.filter(account=request.account).select_related("account")
    table = table_page(request, rows, ENCRYPTION_KEY_COLUMNS, default="created")
    return render(
        request,
        "accounts/keys.html",
        {"form": form, "table": table},
    )


def _key_change(request, key_id, change, done: str):
    try:
        key = change(account=request.account, user=request.user, key_id=key_id)
    except ServiceError:
        messages.error(request, "That key is not in your account.")
    else:
        messages.success(request, f"Key {key.key_id} {done}.")
    return redirect("accounts:key-list")


@login_required
@require_POST
def key_enable_view(request, key_id):
    return _key_change(request, key_id, key_enable, "enabled")


@login_required
@require_POST
def key_disable_view(request, key_id):
    return _key_change(
        request, key_id, key_disable, "disabled: models encrypted with it stop loading"
    )


@login_required
def audit_log(request):
    events = audit_events(request.account)
    has_any = events.exists()
    present = events.order_by().values_list("operation", flat=True).distinct()
    filters = AuditFilterForm(
        request.GET,
        operations=sorted({*OPERATIONS, *present}),
        outcomes=AuditEvent.Outcome.choices,
    )
    operation = outcome = resource = ""
    if filters.is_valid():
        operation = filters.cleaned_data["operation"]
        outcome = filters.cleaned_data["outcome"]
        resource = filters.cleaned_data["resource"]
    if operation:
        events = events.filter(operation=operation)
    if outcome:
        events = events.filter(outcome=outcome)
    if resource:
        events = events.filter(resource_arn__icontains=resource)
    table = table_page(request, events, AUDIT_COLUMNS, default="when")
    context = {
        "table": table,
        "filters": filters,
        "has_any": has_any,
        "filtered": bool(operation or outcome or resource),
    }
    return render(request, "accounts/audit_log.html", context)
