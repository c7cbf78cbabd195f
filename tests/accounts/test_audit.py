"""The audit log: what it records, where, from which address, and the Keys and Audit log pages."""

import contextlib
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from webapp.accounts.models import AuditEvent, EncryptionKey
from webapp.accounts.services.audit import audit_record, audit_request, client_address
from webapp.accounts.services.keys import key_create

ARN = "arn:aws:comprehend:us-east-1:{}:document-classifier/news/version/v1"


@pytest.fixture
def account(owner):
    return owner.membership.account


def _record(account, **kw):
    values = {
        "account": account,
        "actor_account_id": account.account_id,
        "actor_user": "owner",
        "operation": "PutResourcePolicy",
        "resource_arn": ARN.format(account.account_id),
        "revision": "abc123",
        "outcome": "Succeeded",
        "detail": "Policy replaced.",
    }
    values.update(kw)
    audit_record(**values)


def test_it_records_one_event_in_the_accounts_log(account):
    _record(account)
    event = AuditEvent.objects.get()
    assert event.account == account
    assert (event.operation, event.outcome, event.revision, event.detail) == (
        "PutResourcePolicy",
        "Succeeded",
        "abc123",
        "Policy replaced.",
    )
    assert event.client_address == ""  # outside a request there is no client
    assert event.created_at is not None


def test_an_import_is_also_recorded_in_the_source_accounts_log(account, outsider):
    source = outsider.membership.account
    _record(
        account,
        operation="ImportModel",
        resource_arn=ARN.format(source.account_id),
        outcome="Allowed",
        also_account=source,
    )
    theirs = AuditEvent.objects.get(account=source)
    ours = AuditEvent.objects.get(account=account)
    for event in (theirs, ours):
        # The source sees who imported its version: the importer's account and user.
        assert (event.actor_account_id, event.actor_user) == (account.account_id, "owner")
        assert event.operation == "ImportModel" and event.outcome == "Allowed"


def test_also_account_naming_the_same_account_writes_once(account):
    _record(account, also_account=account)
    assert AuditEvent.objects.count() == 1


def test_it_refuses_an_unknown_outcome(account):
    with pytest.raises(ValueError):
        _record(account, outcome="Maybe")
    assert not AuditEvent.objects.exists()


def test_long_values_are_cut_to_fit(account):
    _record(account, detail="x" * 5000, revision="r" * 100)
    event = AuditEvent.objects.get()
    assert len(event.detail) == 500 and len(event.revision) == 64


def test_the_client_address_is_known_only_inside_a_request():
    assert client_address() == ""
    with audit_request("198.51.100.4"):
        assert client_address() == "198.51.100.4"
    assert client_address() == ""


def test_a_refusal_outlives_the_rollback_of_its_request_and_a_success_does_not(account):
    with audit_request("198.51.100.4"):
        with contextlib.suppress(RuntimeError), transaction.atomic():
            _record(account, outcome="Succeeded", detail="rolled back")
            _record(account, operation="ImportModel", outcome="Refused", detail="No policy.")
            raise RuntimeError("the call failed after recording")
        assert not AuditEvent.objects.exists()
    kept = AuditEvent.objects.get()
    assert (kept.operation, kept.outcome, kept.detail, kept.client_address) == (
        "ImportModel",
        "Refused",
        "No policy.",
        "198.51.100.4",
    )


def test_events_that_were_committed_are_not_written_twice(account):
    with audit_request("198.51.100.4"):
        _record(account, outcome="Refused")
        _record(account, outcome="Allowed")
    assert AuditEvent.objects.count() == 2


# Through the test client: the middleware sets the address for every request.


def test_a_key_created_on_the_keys_page_is_logged_with_the_clients_address(client, owner):
    client.force_login(owner)
    resp = client.post(
        reverse("accounts:key-list"),
        {"description": "For the news model"},
        REMOTE_ADDR="203.0.113.5",
    )
    assert resp.status_code == 302
    key = EncryptionKey.objects.get(account=owner.membership.account)
    assert key.description == "For the news model"
    event = AuditEvent.objects.get(operation="CreateKey")
    assert event.client_address == "203.0.113.5"
    assert (event.actor_user, event.resource_arn) == ("owner", key.arn)


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(client, owner, settings):
    client.force_login(owner)
    url = reverse("accounts:key-list")
    client.post(url, {}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(url, {}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.8")
    addresses = list(AuditEvent.objects.order_by("id").values_list("client_address", flat=True))
    # Without a trusted proxy the header is the client's own word; with one, the entry the proxy
    # appended is used, never what the client put in front of it.
    assert addresses == ["10.0.0.2", "203.0.113.8"]


# The Keys page.


def test_the_keys_page_lists_creates_disables_and_enables(client, owner):
    client.force_login(owner)
    url = reverse("accounts:key-list")
    assert "No keys yet" in client.get(url).content.decode()
    resp = client.post(url, {"description": "Support models"}, follow=True)
    body = resp.content.decode()
    key = EncryptionKey.objects.get()
    assert key.arn in body and "Support models" in body and "Enabled" in body
    assert f"Key {key.key_id} created." in body
    # Disabling asks first (the form carries the question) and says what it does.
    assert re.search(r'data-confirm="Disable key [^"]*stop loading', body)
    resp = client.post(reverse("accounts:key-disable", args=[key.key_id]), follow=True)
    assert "Disabled" in resp.content.decode()
    assert not EncryptionKey.objects.get().enabled
    resp = client.post(reverse("accounts:key-enable", args=[key.key_id]), follow=True)
    assert f"Key {key.key_id} enabled." in resp.content.decode()
    assert EncryptionKey.objects.get().enabled
    ops = list(AuditEvent.objects.order_by("id").values_list("operation", flat=True))
    assert ops == ["CreateKey", "DisableKey", "EnableKey"]


def test_enable_and_disable_answer_only_to_posts(client, owner):
    client.force_login(owner)
    key = key_create(account=owner.membership.account, user=owner, description="")
    assert client.get(reverse("accounts:key-disable", args=[key.key_id])).status_code == 405
    assert EncryptionKey.objects.get().enabled


def test_a_too_long_description_is_shown_at_its_field(client, owner):
    client.force_login(owner)
    resp = client.post(reverse("accounts:key-list"), {"description": "d" * 8193})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert re.search(r'class="field has-error">\s*<label for="id_description"', body)
    assert "at most 8192 characters" in body
    assert not EncryptionKey.objects.exists()


def test_an_outsider_sees_and_changes_none_of_the_accounts_keys(client, owner, outsider):
    key = key_create(account=owner.membership.account, user=owner, description="Secret team")
    client.force_login(outsider)
    body = client.get(reverse("accounts:key-list")).content.decode()
    assert key.key_id not in body and "Secret team" not in body
    resp = client.post(reverse("accounts:key-disable", args=[key.key_id]), follow=True)
    assert "That key is not in your account." in resp.content.decode()
    assert EncryptionKey.objects.get().enabled
    # Their attempt is in their own log, not in the owner's.
    assert not AuditEvent.objects.filter(account=owner.membership.account, operation="DisableKey")


def test_a_member_of_the_account_sees_and_uses_its_keys(client, owner, member):
    key = key_create(account=owner.membership.account, user=owner, description="Shared")
    client.force_login(member)
    assert key.arn in client.get(reverse("accounts:key-list")).content.decode()
    client.post(reverse("accounts:key-disable", args=[key.key_id]))
    event = AuditEvent.objects.get(operation="DisableKey")
    assert event.actor_user == "member"


@pytest.fixture
def loner(db):
    return get_user_model().objects.create_user("loner", password="correct-horse-battery-9")


def test_a_user_without_an_account_gets_one_of_their_own(client, loner):
    client.force_login(loner)
    resp = client.get(reverse("accounts:key-list"))
    assert resp.status_code == 200
    loner.refresh_from_db()
    account = loner.membership.account
    assert loner.membership.role == "OWNER" and account.name == "loner's account"
    assert f"made account {account.account_id} for you" in resp.content.decode()
    resp = client.post(reverse("accounts:key-list"), {"description": "x"}, follow=True)
    assert resp.status_code == 200
    assert EncryptionKey.objects.get().account == account
    resp = client.get(reverse("accounts:audit-list"), {"operation": "CreateKey"})
    assert resp.status_code == 200 and "made account" not in resp.content.decode()


def test_the_pages_ask_to_sign_in(client, db):
    for name in ("accounts:key-list", "accounts:audit-list"):
        assert client.get(reverse(name)).status_code == 302


def test_the_account_menu_links_both_pages(client, owner):
    client.force_login(owner)
    body = client.get(reverse("accounts:credentials")).content.decode()
    assert f'href="{reverse("accounts:key-list")}"' in body and ">Encryption keys</a>" in body
    assert f'href="{reverse("accounts:audit-list")}"' in body and ">Audit log</a>" in body


# The Audit log page.


def _rows(resp) -> list[str]:
    return re.findall(r'<tr data-testid="audit-row">(.*?)</tr>', resp.content.decode(), re.S)


def test_the_audit_log_lists_newest_first_and_pages(client, owner, account):
    for i in range(30):
        _record(account, operation="PutResourcePolicy", revision=f"rev{i:02d}")
    client.force_login(owner)
    url = reverse("accounts:audit-list")
    first = _rows(client.get(url))
    assert len(first) == 25
    assert "rev29" in first[0] and "rev05" in first[-1]
    second = _rows(client.get(url, {"page": 2}))
    assert len(second) == 5 and "rev00" in second[-1]


def test_the_audit_log_filters(client, owner, account):
    other = "arn:aws:comprehend:us-east-1:{}:entity-recognizer/people/version/v2"
    _record(account, operation="PutResourcePolicy", outcome="Succeeded", detail="first")
    _record(account, operation="ImportModel", outcome="Refused", detail="second")
    _record(
        account,
        operation="ImportModel",
        outcome="Allowed",
        resource_arn=other.format(account.account_id),
        detail="third",
    )
    client.force_login(owner)
    url = reverse("accounts:audit-list")

    def details(**params):
        return [
            re.search(r"<td>(first|second|third)</td>", r)[1]
            for r in _rows(client.get(url, params))
        ]

    assert details() == ["third", "second", "first"]
    assert details(operation="ImportModel") == ["third", "second"]
    assert details(outcome="Refused") == ["second"]
    assert details(resource="ENTITY-recognizer/people") == ["third"]
    assert details(operation="ImportModel", outcome="Allowed", resource="people") == ["third"]
    body = client.get(url, {"outcome": "Refused"}).content.decode()
    assert "Clear filters" in body
    body = client.get(url, {"resource": "nothing-like-this"}).content.decode()
    assert "No events match these filters." in body
    # An unknown choice is ignored, not an error.
    assert client.get(url, {"outcome": "Nope"}).status_code == 200


def test_the_audit_log_shows_only_the_accounts_own_events(client, owner, outsider, account):
    source = outsider.membership.account
    _record(account, detail="private to the owner")
    _record(
        account,
        operation="ImportModel",
        outcome="Allowed",
        resource_arn=ARN.format(source.account_id),
        detail="imported from the outsider",
        also_account=source,
    )
    client.force_login(outsider)
    body = client.get(reverse("accounts:audit-list")).content.decode()
    assert "imported from the outsider" in body and account.account_id in body
    assert "private to the owner" not in body
