"""Accounts and their members."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from webapp.accounts.models import Account, Membership
from webapp.core.errors import ServiceError, in_use, validation_error

USERNAME_MAX = 64


def _new_account_id() -> str:
    while True:
        # A leading non-zero digit keeps ids looking like AWS's and safe from int() round trips.
        candidate = str(secrets.randbelow(9 * 10**11) + 10**11)
        if not Account.objects.filter(account_id=candidate).exists():
            return candidate


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if (
        not username
        or len(username) > USERNAME_MAX
        or not all(c.isalnum() or c in "+=,.@_-" for c in username)
    ):
        raise validation_error(
            "Username must be 1 to 64 letters, digits or + = , . @ _ - characters."
        )
    return username


def _check_password(password: str, user=None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise validation_error(" ".join(exc.messages)) from None


def account_create(*, name: str = "", account_id: str | None = None) -> Account:
    """Create an account (tenant) with a fresh or given 12-digit id."""
    if account_id is not None:
        if not (len(account_id) == 12 and account_id.isdigit()):
            raise validation_error("Account id must be exactly 12 digits.")
        if Account.objects.filter(account_id=account_id).exists():
            raise in_use(f"Account {account_id} already exists.")
    return Account.objects.create(account_id=account_id or _new_account_id(), name=name)


def _user_create(*, account: Account, username: str, password: str | None, email: str, role: str):
    User = get_user_model()
    username = _check_username(username)
    if User.objects.filter(username__iexact=username).exists():
        raise in_use(f"The username '{username}' is taken.")
    user = User(username=username, email=email or "")
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user)
        user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise in_use(f"The username '{username}' is taken.") from None
    Membership.objects.create(user=user, account=account, role=role)
    return user


@transaction.atomic
def user_signup(*, username: str, password: str, email: str = "", account_name: str = ""):
    """Create a user who owns a brand-new account."""
    account = account_create(name=account_name)
    return _user_create(
        account=account,
        username=username,
        password=password,
        email=email,
        role=Membership.Role.OWNER,
    )


@transaction.atomic
def member_add(
    *,
    account: Account,
    actor,
    username: str,
    password: str | None,
    email: str = "",
    owner: bool = False,
):
    """An account owner adds a user to the account."""
    if not Membership.objects.filter(
        account=account, user=actor, role=Membership.Role.OWNER
    ).exists():
        raise ServiceError("AccessDeniedException", "Only an account owner can add users.", 400)
    role = Membership.Role.OWNER if owner else Membership.Role.MEMBER
    return _user_create(
        account=account, username=username, password=password, email=email, role=role
    )


@transaction.atomic
def user_ensure(
    *, username: str, account_id: str | None = None, create: bool = False
) -> tuple[object, bool]:
    """Find a user by name, or (with create) make it; in the given account (joined as a member
    when it exists) or a new one. Returns the user and whether its account was made now."""
    User = get_user_model()
    account = Account.objects.filter(account_id=account_id).first() if account_id else None
    user = User.objects.filter(username=username).select_related("membership__account").first()
    if user is not None and hasattr(user, "membership"):
        if account_id and user.membership.account.account_id != account_id:
            raise validation_error(
                f"User '{username}' belongs to account {user.membership.account.account_id}."
            )
        return user, False
    if user is None and not create:
        raise validation_error(f"No user named '{username}' (pass --create-user to make one).")
    made = account is None
    if made:
        account = account_create(account_id=account_id)
    role = Membership.Role.OWNER if made else Membership.Role.MEMBER
    if user is None:
        user = _user_create(account=account, username=username, password=None, email="", role=role)
    else:
        Membership.objects.create(user=user, account=account, role=role)
    return user, made


def user_account_ensure(*, user) -> tuple[Account, bool]:
    """The user's account, made now (the user its owner) when the user belongs to none.

    Users made outside sign-up (`createsuperuser`, the admin, a shell) have no membership; every
    console page works in an account, so such a user gets one of their own at first use.
    Returns the account and whether it was made now.
    """
    account = account_of(user)
    if account is not None:
        return account, False
    User = get_user_model()
    with transaction.atomic():
        # Two first requests at once: the row lock lets one make the account, the other sees it.
        User.objects.select_for_update().filter(pk=user.pk).first()
        membership = Membership.objects.select_related("account").filter(user=user).first()
        if membership is not None:
            made = False
        else:
            account = account_create(name=f"{user.get_username()}'s account"[:100])
            membership = Membership.objects.create(
                user=user, account=account, role=Membership.Role.OWNER
            )
            made = True
    user.membership = membership
    return membership.account, made


def account_of(user) -> Account | None:
    membership = getattr(user, "membership", None)
    return membership.account if membership else None
