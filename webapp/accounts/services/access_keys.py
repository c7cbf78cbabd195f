"""API access keys: created and revoked by users, checked by the SigV4 verifier."""

import base64
import hashlib
import secrets
import string

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils import timezone

from webapp.accounts.models import AccessKey, Account, AuditEvent
from webapp.accounts.services.audit import audit_record
from webapp.core import arns
from webapp.core.errors import not_found, validation_error
from webapp.core.expiring import ExpiringMap

MAX_ACTIVE_KEYS = 2  # AWS allows two access keys per IAM user
_KEY_ALPHABET = string.ascii_uppercase + "234567"
# Keys that verified a signature, with their decrypted secrets, for ACCESS_KEY_CACHE_SECONDS:
# a query and a decryption on every API call would be a large part of a fast call's cost.
# Revoking a key drops it here at once; other processes stop accepting it within the TTL.
_verified = ExpiringMap()


def _fernet() -> Fernet:
    digest = hashlib.sha256(("textwheel-access-keys:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _audit(*, account: Account, user, operation: str, key_id: str, detail: str) -> None:
    audit_record(
        account=account,
        actor_account_id=account.account_id,
        actor_user=user.username,
        operation=operation,
        resource_arn=arns.principal_user(account.account_id, user.username),
        outcome=AuditEvent.Outcome.SUCCEEDED,
        detail=f"Access key {key_id} {detail}.",
    )


def access_key_create(*, account: Account, user) -> tuple[AccessKey, str]:
    """Create an access key; the secret is returned once and stored only encrypted."""
    active = AccessKey.objects.filter(user=user, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_KEYS:
        raise validation_error(
            f"A user can have at most {MAX_ACTIVE_KEYS} active access keys; revoke one first."
        )
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    key = AccessKey.objects.create(
        account=account,
        user=user,
        key_id=key_id,
        secret_encrypted=_fernet().encrypt(secret.encode()),
    )
    _audit(account=account, user=user, operation="CreateAccessKey", key_id=key_id, detail="created")
    return key, secret


def access_key_revoke(*, account: Account, user, key_id: str) -> AccessKey:
    """Revoke a key of this user; revoked keys stay listed and never authenticate again."""
    key = AccessKey.objects.filter(account=account, user=user, key_id=key_id).first()
    if key is None:
        raise not_found(f"Access key {key_id} was not found.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        # IAM's word for making a key inactive.
        _audit(
            account=account, user=user, operation="UpdateAccessKey", key_id=key_id, detail="revoked"
        )
    _verified.pop(key_id)
    return key


def access_key_delete(*, account: Account, user, key_id: str) -> None:
    """Remove a revoked key of this user from the list; an active key must be revoked first."""
    key = AccessKey.objects.filter(account=account, user=user, key_id=key_id).first()
    if key is None:
        raise not_found(f"Access key {key_id} was not found.")
    if key.revoked_at is None:
        raise validation_error(f"Access key {key_id} is active; revoke it before removing it.")
    key.delete()
    _verified.pop(key_id)
    _audit(account=account, user=user, operation="DeleteAccessKey", key_id=key_id, detail="removed")


def access_key_secret(key: AccessKey) -> str | None:
    try:
        return _fernet().decrypt(bytes(key.secret_encrypted)).decode()
    except InvalidToken:
        # SECRET_KEY changed since the key was made: the key can no longer be verified.
        return None


def access_key_active(key_id: str) -> AccessKey | None:
    return (
        AccessKey.objects.select_related("account", "user")
        .filter(key_id=key_id, revoked_at__isnull=True)
        .first()
    )


def access_key_for_signature(key_id: str) -> tuple[AccessKey, str] | None:
    """The active key with this id and its secret, or None (unknown, revoked, undecryptable)."""
    found = _verified.get(key_id)
    if found is not None:
        return found
    key = access_key_active(key_id)
    secret = access_key_secret(key) if key else None
    if key is None or secret is None:
        return None
    _verified.put(key_id, (key, secret), settings.ACCESS_KEY_CACHE_SECONDS)
    return key, secret


def access_key_touch(key: AccessKey) -> None:
    now = timezone.now()
    # Record use at most once a minute: a write per API call would be a hot-path cost.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        AccessKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
