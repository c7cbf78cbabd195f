from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db.models import Case, When
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.forms import LoginForm, MemberForm, SignupForm
from webapp.accounts.models import AccessKey, Membership
from webapp.accounts.services.access_keys import access_key_create, access_key_revoke
from webapp.accounts.services.accounts import member_add, user_signup
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
def access_key_delete(request, key_id):
    try:
        access_key_revoke(account=request.account, user=request.user, key_id=key_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Access key {key_id} revoked.")
    return redirect("accounts:credentials")
