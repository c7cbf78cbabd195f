"""Encryption keys (KMS-like): created, enabled and disabled by users; they wrap models' data keys."""

import hashlib
import re
import secrets
import uuid

from django.conf import settings
from django.db import transaction

from webapp.accounts.models import Account, AuditEvent, EncryptionKey
from webapp.accounts.services.audit import audit_record
from webapp.core import crypto
from webapp.core.errors import kms_key_invalid, not_found, unavailable, validation_error

DESCRIPTION_MAX = 8192  # KMS's limit
MATERIAL_BYTES = 32

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_KEY_ID_RE = re.compile(rf"^{_UUID}$")
_KEY_ARN_RE = re.compile(
    rf"^arn:aws:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{{12}}):key/(?P<id>{_UUID})$"
)
_ALIAS_RE = re.compile(r"^(alias/|arn:aws:kms:[^:]*:[^:]*:alias/)")


def _server_key() -> bytes:
    # Its own label, so that this key and the access keys' one never coincide.
    return hashlib.sha256(("textwheel-encryption-keys:" + settings.SECRET_KEY).encode()).digest()


def _material_aad(key_id: str) -> bytes:
    # Binding the wrapped material to its key id: material copied onto another row does not open.
    return b"textwheel-encryption-key:" + key_id.encode()


def _data_key_aad(key: EncryptionKey) -> bytes:
    return b"textwheel-data-key:" + key.key_id.encode()


def _actor(account: Account, user) -> dict:
    return {
        "actor_account_id": account.account_id,
        "actor_user": getattr(user, "username", "") or "",
    }


def _check_description(description) -> str:
    description = description if isinstance(description, str) else ""
    if len(description) > DESCRIPTION_MAX:
        raise validation_error(
            f"Value at 'description' failed to satisfy constraint: Member must have length "
            f"less than or equal to {DESCRIPTION_MAX}",
            field="Description",
        )
    return description


@transaction.atomic
def key_create(*, account: Account, user, description: str = "") -> EncryptionKey:
    """Create an enabled key with fresh random material, stored only wrapped."""
    description = _check_description(description)
    key_id = str(uuid.uuid4())
    material = secrets.token_bytes(MATERIAL_BYTES)
    key = EncryptionKey.objects.create(
        account=account,
        key_id=key_id,
        description=description,
        material_wrapped=crypto.seal(_server_key(), material, aad=_material_aad(key_id)),
    )
    audit_record(
        account=account,
        **_actor(account, user),
        operation="CreateKey",
        resource_arn=key.arn,
        outcome=AuditEvent.Outcome.SUCCEEDED,
        detail="Key created.",
    )
    return key


def _key_change(*, account: Account, user, key_id: str, enabled: bool) -> EncryptionKey:
    operation = "EnableKey" if enabled else "DisableKey"
    key = None
    if isinstance(key_id, str) and _KEY_ID_RE.match(key_id):
        key = EncryptionKey.objects.filter(account=account, key_id=key_id.lower()).first()
    if key is None:
        audit_record(
            account=account,
            **_actor(account, user),
            operation=operation,
            outcome=AuditEvent.Outcome.FAILED,
            detail="No such key in this account.",
        )
        raise not_found(f"Key '{key_id}' does not exist.", field="KeyId")
    with transaction.atomic():
        key = EncryptionKey.objects.select_for_update().select_related("account").get(pk=key.pk)
        changed = key.enabled != enabled
        if changed:
            key.enabled = enabled
            key.save(update_fields=["enabled", "updated_at"])
        audit_record(
            account=account,
            **_actor(account, user),
            operation=operation,
            resource_arn=key.arn,
            outcome=AuditEvent.Outcome.SUCCEEDED,
            detail=("Key enabled." if enabled else "Key disabled.")
            if changed
            else ("The key was already enabled." if enabled else "The key was already disabled."),
        )
    return key


def key_enable(*, account: Account, user, key_id: str) -> EncryptionKey:
    """Enable a key of this account: models encrypted with it load again."""
    return _key_change(account=account, user=user, key_id=key_id, enabled=True)


def key_disable(*, account: Account, user, key_id: str) -> EncryptionKey:
    """Disable a key of this account: models encrypted with it stop loading until it is enabled."""
    return _key_change(account=account, user=user, key_id=key_id, enabled=False)


def key_for(*, account: Account, key_ref: str, field: str) -> EncryptionKey:
    """The enabled key of this account that `key_ref` (a key id or key ARN) names.

    Anything else raises KmsKeyValidationException naming `field`; another account's key, or an
    ARN of another region, answers exactly as a key that does not exist.
    """
    shown = key_ref if isinstance(key_ref, str) else ""
    if not shown:
        raise kms_key_invalid(f"The value at '{field}' must be a KMS key ID or key ARN.", field)
    if _ALIAS_RE.match(shown):
        raise kms_key_invalid(
            f"The KMS key '{shown}' is an alias; aliases are not supported, use the key ID or "
            f"key ARN.",
            field,
        )
    match = _KEY_ARN_RE.match(shown)
    if match:
        key_id = match["id"].lower()
        ours = match["region"] == settings.AWS_REGION and match["account"] == getattr(
            account, "account_id", None
        )
    elif _KEY_ID_RE.match(shown):
        key_id, ours = shown.lower(), True
    else:
        raise kms_key_invalid(
            f"The KMS key '{shown}' is not a key ID or key ARN "
            f"(arn:aws:kms:<region>:<account>:key/<key-id>).",
            field,
        )
    key = (
        EncryptionKey.objects.select_related("account")
        .filter(account=account, key_id=key_id)
        .first()
        if ours and account is not None
        else None
    )
    if key is None:
        raise kms_key_invalid(f"The KMS key '{shown}' does not exist.", field)
    if not key.enabled:
        raise kms_key_invalid(f"The KMS key '{shown}' is disabled.", field)
    return key


def key_usable(key: EncryptionKey) -> bool:
    return key.enabled


def _material(key: EncryptionKey) -> bytes:
    try:
        return crypto.unseal(
            _server_key(), bytes(key.material_wrapped), aad=_material_aad(key.key_id)
        )
    except crypto.SealError:
        # SECRET_KEY changed since the key was made, or the row was altered.
        raise unavailable(
            f"The KMS key {key.arn} cannot be used: its key material is unreadable."
        ) from None


def _refuse_disabled(key: EncryptionKey) -> None:
    if not key_usable(key):
        raise unavailable(
            f"The KMS key {key.arn} is disabled; models encrypted with it cannot be used until "
            f"it is enabled."
        )


def data_key_wrap(key: EncryptionKey, data_key: bytes) -> bytes:
    """A data key sealed by this (enabled) key, to be stored beside what it encrypts."""
    _refuse_disabled(key)
    return crypto.seal(_material(key), data_key, aad=_data_key_aad(key))


def data_key_unwrap(key: EncryptionKey, wrapped: bytes) -> bytes:
    """The data key `data_key_wrap` sealed; ResourceUnavailableException while the key is disabled."""
    _refuse_disabled(key)
    try:
        return crypto.unseal(_material(key), bytes(wrapped), aad=_data_key_aad(key))
    except crypto.SealError:
        raise unavailable(
            f"The data key of this model does not open with the KMS key {key.arn}."
        ) from None
