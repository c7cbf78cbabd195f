"""Access keys removed once revoked, the command that prints which account a key works in, users
made outside sign-up, and the admin kept for looking."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests import factories
from tests.conftest import PASSWORD, REPO, database_url
from webapp.accounts.models import AccessKey, AuditEvent, Membership
from webapp.accounts.services.access_keys import (
    access_key_create,
    access_key_delete,
    access_key_for_signature,
    access_key_revoke,
)
from webapp.accounts.services.accounts import user_account_ensure, user_ensure
from webapp.core.errors import ServiceError


def test_it_removes_a_revoked_key_and_records_each_change(owner):
    account = owner.membership.account
    key, _ = access_key_create(account=account, user=owner)
    with pytest.raises(ServiceError, match="revoke it before removing it"):
        access_key_delete(account=account, user=owner, key_id=key.key_id)
    access_key_revoke(account=account, user=owner, key_id=key.key_id)
    access_key_delete(account=account, user=owner, key_id=key.key_id)
    assert not AccessKey.objects.exists()
    assert access_key_for_signature(key.key_id) is None
    with pytest.raises(ServiceError, match="was not found"):
        access_key_delete(account=account, user=owner, key_id=key.key_id)
    events = AuditEvent.objects.filter(account=account).order_by("id")
    assert [(e.operation, e.outcome) for e in events] == [
        ("CreateAccessKey", "Succeeded"),
        ("UpdateAccessKey", "Succeeded"),
        ("DeleteAccessKey", "Succeeded"),
    ]
    assert all(key.key_id in e.detail for e in events)
    assert events[0].resource_arn == f"arn:aws:iam::{account.account_id}:user/owner"


def test_it_removes_only_the_users_own_keys(client, owner, member, outsider):
    key, _ = access_key_create(account=owner.membership.account, user=owner)
    access_key_revoke(account=owner.membership.account, user=owner, key_id=key.key_id)
    for other in (member, outsider):
        client.force_login(other)
        resp = client.post(reverse("accounts:access-key-delete", args=[key.key_id]), follow=True)
        assert resp.status_code == 200 and "was not found" in resp.content.decode()
    assert AccessKey.objects.filter(pk=key.pk).exists()
    client.force_login(owner)
    assert client.get(reverse("accounts:access-key-delete", args=[key.key_id])).status_code == 405
    resp = client.post(reverse("accounts:access-key-delete", args=[key.key_id]), follow=True)
    assert f"Access key {key.key_id} removed." in resp.content.decode()
    assert not AccessKey.objects.exists()


def test_a_user_made_outside_sign_up_gets_an_account_once(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    account, made = user_account_ensure(user=user)
    assert made and account.name == "root's account"
    again, made = user_account_ensure(user=get_user_model().objects.get(pk=user.pk))
    assert again == account and not made
    assert Membership.objects.get(user=user).role == Membership.Role.OWNER


def test_user_ensure_joins_an_existing_account(owner):
    account = owner.membership.account
    robot, made = user_ensure(username="robot", account_id=account.account_id, create=True)
    assert not made and robot.membership.account == account
    assert robot.membership.role == Membership.Role.MEMBER
    same, made = user_ensure(username="owner")
    assert same == owner and not made
    with pytest.raises(ServiceError, match=f"belongs to account {account.account_id}"):
        user_ensure(username="owner", account_id="999999999999")


def _create_access_key(*args):
    return subprocess.run(
        [sys.executable, "manage.py", "create_access_key", *args],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_the_command_says_which_account_the_key_works_in(owner):
    account = owner.membership.account
    account.name = "Research team"
    account.save()
    done = _create_access_key("--username", "owner")
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in done.stdout.strip().splitlines())
    assert values["AWS_ACCOUNT_ID"] == account.account_id
    assert f"of user owner in account {account.account_id} ('Research team')." in done.stderr, (
        done.stderr
    )
    assert "made now" not in done.stderr

    done = _create_access_key("--username", "newbie", "--create-user")
    assert done.returncode == 0, done.stderr
    made = get_user_model().objects.get(username="newbie").membership.account
    assert f"in account {made.account_id} (no name)." in done.stderr
    assert "holds nothing yet; to reach what you made in the console, pass --account-id" in (
        done.stderr
    )

    done = _create_access_key("--username", "nobody")
    assert done.returncode != 0
    assert "No user named 'nobody' (pass --create-user to make one)." in done.stderr


@pytest.fixture
def staff_client(client, db):
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    client.force_login(admin)
    return client


def test_the_admin_shows_versions_without_letting_anyone_forge_results(staff_client, owner):
    version = factories.version(owner, metrics={"Accuracy": 0.9}, artifact_uri="file:///x")
    url = reverse("admin:models_app_modelversion_change", args=[version.pk])
    resp = staff_client.get(url)
    body = resp.content.decode()
    assert resp.status_code == 200
    assert 'name="status"' not in body and 'name="metrics"' not in body
    assert 'name="artifact_uri"' not in body and "0.9" in body
    resp = staff_client.post(url, {"status": "TRAINED", "metrics": "{}"})
    assert resp.status_code == 403
    assert staff_client.get(reverse("admin:models_app_modelversion_add")).status_code == 403
    delete = reverse("admin:models_app_modelversion_delete", args=[version.pk])
    assert staff_client.get(delete).status_code == 403
    listing = staff_client.get(reverse("admin:models_app_modelversion_changelist")).content
    assert reverse("admin:models_app_modelversion_add").encode() not in listing
    # Accounts and users stay editable there.
    assert staff_client.get(reverse("admin:auth_user_add")).status_code == 200
    account = owner.membership.account
    resp = staff_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    assert 'name="name"' in resp.content.decode()


def test_favicon_ico_is_served(client, db):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200
    assert resp["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(resp.streaming_content)[:4] == b"\x00\x00\x01\x00"
