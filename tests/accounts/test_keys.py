"""Encryption keys: their life, how ModelKmsKeyId finds one, and data keys wrapped by them."""

import hashlib
import uuid

import pytest
from django.conf import settings

from webapp.accounts.models import AuditEvent, EncryptionKey
from webapp.accounts.services.keys import (
    data_key_unwrap,
    data_key_wrap,
    key_create,
    key_disable,
    key_enable,
    key_for,
    key_usable,
)
from webapp.core import crypto
from webapp.core.errors import ServiceError


@pytest.fixture
def account(owner):
    return owner.membership.account


@pytest.fixture
def key(owner, account):
    return key_create(account=account, user=owner, description="Models of the support team")


def _refusal(account, key_ref, field="ModelKmsKeyId") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        key_for(account=account, key_ref=key_ref, field=field)
    assert caught.value.code == "KmsKeyValidationException"
    assert caught.value.http_status == 400
    assert caught.value.field == field
    return caught.value


def test_it_creates_an_enabled_key_with_a_uuid_and_an_arn(key, account):
    assert str(uuid.UUID(key.key_id)) == key.key_id
    assert key.enabled and key_usable(key)
    assert key.description == "Models of the support team"
    assert key.arn == f"arn:aws:kms:{settings.AWS_REGION}:{account.account_id}:key/{key.key_id}"
    event = AuditEvent.objects.get(account=account)
    assert (event.operation, event.outcome, event.resource_arn, event.actor_user) == (
        "CreateKey",
        "Succeeded",
        key.arn,
        "owner",
    )
    assert event.actor_account_id == account.account_id


def test_the_stored_material_is_wrapped_by_a_key_derived_from_secret_key(key):
    stored = bytes(EncryptionKey.objects.get(pk=key.pk).material_wrapped)
    server_key = hashlib.sha256(
        ("textwheel-encryption-keys:" + settings.SECRET_KEY).encode()
    ).digest()
    material = crypto.unseal(
        server_key, stored, aad=b"textwheel-encryption-key:" + key.key_id.encode()
    )
    assert len(material) == 32
    assert material not in stored
    # The access keys' derivation (another label) does not open it.
    access_keys_key = hashlib.sha256(("textwheel-access-keys:" + settings.SECRET_KEY).encode())
    with pytest.raises(crypto.SealError):
        crypto.unseal(
            access_keys_key.digest(), stored, aad=b"textwheel-encryption-key:" + key.key_id.encode()
        )
    # Data keys are wrapped by exactly that material.
    data_key = crypto.new_data_key()
    wrapped = data_key_wrap(key, data_key)
    assert crypto.unseal(material, wrapped, aad=b"textwheel-data-key:" + key.key_id.encode()) == (
        data_key
    )


def test_two_keys_have_different_material(owner, account, key):
    other = key_create(account=account, user=owner, description="")
    data_key = crypto.new_data_key()
    with pytest.raises(ServiceError):
        data_key_unwrap(other, data_key_wrap(key, data_key))


def test_material_copied_onto_another_key_row_does_not_open(owner, account, key):
    other = key_create(account=account, user=owner, description="")
    wrapped = data_key_wrap(key, crypto.new_data_key())
    EncryptionKey.objects.filter(pk=other.pk).update(material_wrapped=key.material_wrapped)
    other.refresh_from_db()
    with pytest.raises(ServiceError) as caught:
        data_key_unwrap(other, wrapped)
    assert caught.value.code == "ResourceUnavailableException"


def test_it_disables_and_enables_and_logs_each_change(owner, account, key):
    disabled = key_disable(account=account, user=owner, key_id=key.key_id)
    assert not disabled.enabled and not key_usable(disabled)
    assert not EncryptionKey.objects.get(pk=key.pk).enabled
    enabled = key_enable(account=account, user=owner, key_id=key.key_id.upper())
    assert enabled.enabled
    ops = list(
        AuditEvent.objects.filter(account=account)
        .order_by("id")
        .values_list("operation", "outcome", "resource_arn")
    )
    assert ops == [
        ("CreateKey", "Succeeded", key.arn),
        ("DisableKey", "Succeeded", key.arn),
        ("EnableKey", "Succeeded", key.arn),
    ]


def test_enable_and_disable_refuse_a_missing_or_another_accounts_key(owner, outsider, key):
    theirs = outsider.membership.account
    for change in (key_enable, key_disable):
        for key_id in (key.key_id, str(uuid.uuid4()), "not-a-key"):
            with pytest.raises(ServiceError) as caught:
                change(account=theirs, user=outsider, key_id=key_id)
            assert caught.value.code == "ResourceNotFoundException"
            assert caught.value.message == f"Key '{key_id}' does not exist."
    assert EncryptionKey.objects.get(pk=key.pk).enabled
    # The attempts are in the caller's log, never in the key owner's.
    assert set(AuditEvent.objects.filter(account=theirs).values_list("outcome", flat=True)) == {
        "Failed"
    }
    assert AuditEvent.objects.filter(account=key.account).count() == 1


def test_key_for_finds_a_key_by_id_and_by_arn(account, key):
    assert key_for(account=account, key_ref=key.key_id, field="ModelKmsKeyId") == key
    assert key_for(account=account, key_ref=key.arn, field="ModelKmsKeyId") == key
    assert key_for(account=account, key_ref=key.key_id.upper(), field="VolumeKmsKeyId") == key


def test_key_for_answers_another_accounts_key_as_a_missing_one(account, key, outsider):
    theirs = outsider.membership.account
    by_id = _refusal(theirs, key.key_id)
    assert by_id.message == f"The KMS key '{key.key_id}' does not exist."
    by_arn = _refusal(theirs, key.arn)
    missing_arn = key.arn.replace(key.key_id, str(uuid.uuid4()))
    missing = _refusal(account, missing_arn)
    assert by_arn.message == f"The KMS key '{key.arn}' does not exist."
    assert missing.message == f"The KMS key '{missing_arn}' does not exist."
    # An ARN naming the outsider's own account but this key's id is still not theirs.
    spoofed = key.arn.replace(account.account_id, theirs.account_id)
    assert _refusal(theirs, spoofed).message == f"The KMS key '{spoofed}' does not exist."


def test_key_for_refuses_another_region(account, key):
    elsewhere = key.arn.replace(f":{settings.AWS_REGION}:", ":eu-north-1:")
    assert "does not exist" in _refusal(account, elsewhere).message


def test_key_for_refuses_a_disabled_key_naming_it(owner, account, key):
    key_disable(account=account, user=owner, key_id=key.key_id)
    refusal = _refusal(account, key.arn, field="VolumeKmsKeyId")
    assert refusal.message == f"The KMS key '{key.arn}' is disabled."
    assert refusal.field == "VolumeKmsKeyId"


@pytest.mark.parametrize(
    "key_ref, says",
    [
        ("alias/my-key", "is an alias"),
        ("arn:aws:kms:us-east-1:111122223333:alias/my-key", "is an alias"),
        ("1234abcd", "is not a key ID or key ARN"),
        ("arn:aws:kms:us-east-1:111122223333:key/nope", "is not a key ID or key ARN"),
        ("", "must be a KMS key ID or key ARN"),
    ],
)
def test_key_for_refuses_what_is_not_a_key_id_or_arn(account, key_ref, says):
    assert says in _refusal(account, key_ref).message


def test_key_for_refuses_a_user_without_an_account(key):
    assert "does not exist" in _refusal(None, key.key_id).message


def test_a_data_key_round_trips_through_an_enabled_key(key):
    data_key = crypto.new_data_key()
    wrapped = data_key_wrap(key, data_key)
    assert data_key not in wrapped
    assert data_key_unwrap(key, wrapped) == data_key
    # The unwrapped data key opens what it sealed: the whole envelope works end to end.
    blob = crypto.seal(data_key, b"artifact bytes")
    assert crypto.unseal(data_key_unwrap(key, wrapped), blob) == b"artifact bytes"


def test_unwrap_is_refused_while_the_key_is_disabled(owner, account, key):
    wrapped = data_key_wrap(key, crypto.new_data_key())
    disabled = key_disable(account=account, user=owner, key_id=key.key_id)
    with pytest.raises(ServiceError) as caught:
        data_key_unwrap(disabled, wrapped)
    assert caught.value.code == "ResourceUnavailableException"
    assert caught.value.http_status == 400
    assert key.arn in caught.value.message and "disabled" in caught.value.message
    with pytest.raises(ServiceError):
        data_key_wrap(disabled, crypto.new_data_key())
    enabled = key_enable(account=account, user=owner, key_id=key.key_id)
    assert len(data_key_unwrap(enabled, wrapped)) == 32


def test_a_tampered_wrapped_data_key_is_refused_in_aws_words(key):
    wrapped = bytearray(data_key_wrap(key, crypto.new_data_key()))
    wrapped[-1] ^= 1
    with pytest.raises(ServiceError) as caught:
        data_key_unwrap(key, bytes(wrapped))
    assert caught.value.code == "ResourceUnavailableException"
    assert key.arn in caught.value.message


def test_a_changed_secret_key_makes_the_key_unusable_not_a_crash(settings, key):
    wrapped = data_key_wrap(key, crypto.new_data_key())
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(ServiceError) as caught:
        data_key_unwrap(key, wrapped)
    assert caught.value.code == "ResourceUnavailableException"


def test_a_too_long_description_is_refused_at_its_field(owner, account):
    with pytest.raises(ServiceError) as caught:
        key_create(account=account, user=owner, description="x" * 8193)
    assert caught.value.code == "ValidationException"
    assert caught.value.field == "Description"
    assert not EncryptionKey.objects.exists()
