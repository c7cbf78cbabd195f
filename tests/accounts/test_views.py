"""Sign-up, sign-in, members, security credentials, the operator command and the admin."""

import re
import subprocess
import sys

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.conftest import PASSWORD, REPO
from webapp.accounts.models import AccessKey, Membership
from webapp.accounts.services.accounts import member_add


def test_signup_creates_a_user_in_a_new_account(client, db):
    resp = client.post(
        reverse("accounts:signup"),
        {
            "username": "dana",
            "email": "dana@example.com",
            "account_name": "Dana's team",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        follow=True,
    )
    membership = Membership.objects.get(user__username="dana")
    assert re.fullmatch(r"\d{12}", membership.account.account_id)
    assert membership.role == Membership.Role.OWNER
    assert membership.account.account_id in resp.content.decode()  # shown in the header


def test_signup_keeps_what_was_typed_and_names_the_problem(client, db):
    resp = client.post(
        reverse("accounts:signup"),
        {
            "username": "dana",
            "password1": PASSWORD,
            "password2": "different-pass-1",
        },
    )
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "The two passwords differ." in body and 'value="dana"' in body
    assert not Membership.objects.exists()


def test_signup_refuses_a_taken_username(client, owner):
    resp = client.post(
        reverse("accounts:signup"),
        {
            "username": "owner",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert "is taken" in resp.content.decode()


def test_login_and_logout(client, owner):
    resp = client.post(
        reverse("accounts:login"), {"username": "owner", "password": PASSWORD}, follow=True
    )
    assert owner.membership.account.account_id in resp.content.decode()
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("home")).status_code == 302


def test_an_owner_adds_a_user_and_a_member_cannot(client, owner, member):
    client.force_login(owner)
    client.post(reverse("accounts:members"), {"username": "erin", "password": PASSWORD})
    assert Membership.objects.get(user__username="erin").account == owner.membership.account
    client.force_login(member)
    resp = client.post(reverse("accounts:members"), {"username": "finn", "password": PASSWORD})
    assert "Only an account owner can add users." in resp.content.decode()
    assert not Membership.objects.filter(user__username="finn").exists()


def test_access_keys_are_created_shown_once_and_revoked(client, owner):
    client.force_login(owner)
    resp = client.post(reverse("accounts:access-key-create"), follow=True)
    key = AccessKey.objects.get(user=owner)
    body = resp.content.decode()
    secret = re.search(r'data-testid="new-key-secret">([^<]+)<', body).group(1)
    assert key.key_id in body and len(secret) == 40
    assert secret not in client.get(reverse("accounts:credentials")).content.decode()
    client.post(reverse("accounts:access-key-revoke", args=[key.key_id]))
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_user_cannot_revoke_another_accounts_key(client, owner, outsider):
    client.force_login(owner)
    client.post(reverse("accounts:access-key-create"))
    key = AccessKey.objects.get(user=owner)
    client.force_login(outsider)
    resp = client.post(reverse("accounts:access-key-revoke", args=[key.key_id]), follow=True)
    assert "was not found" in resp.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert key.key_id not in client.get(reverse("accounts:credentials")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_create_access_key_command_prints_working_credentials(api, live_server):
    from tests.conftest import database_url

    env_db = {"DATABASE_URL": database_url()}
    import os

    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create_access_key",
            "--username",
            "robot",
            "--create-user",
            "--account-id",
            "123456789012",
        ],
        cwd=REPO,
        env={**os.environ, **env_db},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert values["AWS_ACCOUNT_ID"] == "123456789012"
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name="us-east-1",
        aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert client.list_document_classifiers()["DocumentClassifierPropertiesList"] == []


def test_admin_registers_every_model():
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label in ("accounts", "models_app", "flywheel_app")
    ]
    assert ours
    missing = [m.__name__ for m in ours if m not in admin.site._registry]
    assert missing == []


def test_the_queue_dashboard_is_for_staff_only(client, owner):
    client.force_login(owner)
    assert client.get(reverse("admin:django_rq_home")).status_code in (302, 403)
    owner.is_staff = True
    owner.save()
    assert client.get(reverse("admin:django_rq_home")).status_code == 200


def test_member_add_refuses_a_weak_password(owner):
    from webapp.core.errors import ServiceError

    with pytest.raises(ServiceError, match="too short|too common"):
        member_add(account=owner.membership.account, actor=owner, username="weak", password="abc")
