"""Sign-in throttling: wrong passwords lock a user name at an address, and an address, for a while."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

HOME = "127.0.0.10"
ELSEWHERE = "127.0.0.20"


def sign_in(client, username, password, address=HOME, **headers):
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, address=HOME, **headers):
    responses = [
        sign_in(client, username, "wrong-password", address, **headers) for _ in range(times)
    ]
    return responses[-1]


def test_it_refuses_even_the_right_password_once_the_limit_is_reached(client, owner):
    limit = settings.LOGIN_FAILURE_LIMIT
    assert limit == 5  # the default
    for _ in range(limit - 1):
        resp = sign_in(client, "owner", "wrong-password")
        assert resp.status_code == 200
        assert "Please enter a correct username and password" in resp.content.decode()

    resp = sign_in(client, "owner", "wrong-password")
    assert resp.status_code == 429
    body = resp.content.decode()
    assert "Sign-in paused" in body and "Try again after" in body
    assert "<!doctype html>" in body  # the console's page, not a bare text

    resp = sign_in(client, "owner", PASSWORD)
    assert resp.status_code == 429 and "Sign-in paused" in resp.content.decode()
    assert not signed_in(client)
    assert client.get(reverse("accounts:members")).status_code == 302  # still signed out


def test_the_page_says_when_to_try_again(client, owner):
    resp = fail(client, "owner", settings.LOGIN_FAILURE_LIMIT)
    last = AccessAttempt.objects.get(username="owner").attempt_time
    retry_at = last + timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)
    assert f"{retry_at:%H:%M} UTC" in resp.content.decode()
    assert "in about 15 minutes" in resp.content.decode()
    assert 14 * 60 < int(resp["Retry-After"]) <= 15 * 60

    # Attempts while locked are refused without being counted: the time named does not move.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=5))
    resp = sign_in(client, "owner", PASSWORD)
    assert f"{retry_at - timedelta(minutes=5):%H:%M} UTC" in resp.content.decode()
    assert "in about 10 minutes" in resp.content.decode()


def test_another_user_and_another_address_are_not_locked(client, owner, outsider):
    fail(client, "owner", settings.LOGIN_FAILURE_LIMIT)
    assert sign_in(client, "owner", PASSWORD).status_code == 429

    # The same address for another user (a shared office address) ...
    other = Client()
    assert sign_in(other, "outsider", PASSWORD).status_code == 302
    assert signed_in(other)
    # ... and the same user from another address.
    elsewhere = Client()
    assert sign_in(elsewhere, "owner", PASSWORD, address=ELSEWHERE).status_code == 302
    assert signed_in(elsewhere)


def test_an_address_guessing_many_names_is_locked_for_every_name(client, owner):
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    assert limit == 20  # the default
    per_name = settings.LOGIN_FAILURE_LIMIT - 1  # never enough to lock a single name
    names = [f"guess-{i}" for i in range(limit // per_name)]
    for name in names:
        resp = fail(client, name, per_name)
    assert resp.status_code == 429

    resp = sign_in(client, "owner", PASSWORD)
    assert resp.status_code == 429 and not signed_in(client)
    elsewhere = Client()
    assert sign_in(elsewhere, "owner", PASSWORD, address=ELSEWHERE).status_code == 302

    call_command("axes_reset_ip", HOME)
    assert sign_in(client, "owner", PASSWORD).status_code == 302


def test_one_failure_short_of_the_address_limit_still_lets_others_in(client, owner):
    per_name = settings.LOGIN_FAILURE_LIMIT - 1
    left = settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1
    i = 0
    while left:
        fail(client, f"guess-{i}", min(per_name, left))
        left -= min(per_name, left)
        i += 1
    assert sign_in(client, "owner", PASSWORD).status_code == 302


def test_the_reset_commands_unlock(client, owner, capsys):
    fail(client, "owner", settings.LOGIN_FAILURE_LIMIT)
    assert sign_in(client, "owner", PASSWORD).status_code == 429

    call_command("axes_reset_username", "owner")
    assert sign_in(client, "owner", PASSWORD).status_code == 302

    client.logout()
    fail(client, "owner", settings.LOGIN_FAILURE_LIMIT)
    call_command("axes_reset")
    assert sign_in(client, "owner", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()


def test_the_lock_lifts_when_the_cool_off_has_passed(client, owner):
    fail(client, "owner", settings.LOGIN_FAILURE_LIMIT)
    cool_off = timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)

    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off + timedelta(minutes=1))
    assert sign_in(client, "owner", PASSWORD).status_code == 429  # a minute still to go

    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(seconds=1))
    resp = sign_in(client, "owner", PASSWORD)
    assert resp.status_code == 302 and signed_in(client)


def test_other_limits_and_cool_offs_are_followed(client, owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    assert sign_in(client, "owner", "wrong-password").status_code == 200
    resp = sign_in(client, "owner", "wrong-password")
    assert resp.status_code == 429 and "in about 1 minute)" in resp.content.decode()


def test_a_successful_sign_in_forgives_only_that_users_own_failures(client, owner):
    fail(client, "owner", settings.LOGIN_FAILURE_LIMIT - 1)
    fail(client, "someone-else", 2)
    assert sign_in(client, "owner", PASSWORD).status_code == 302
    client.logout()

    assert not AccessAttempt.objects.filter(username="owner").exists()
    assert AccessAttempt.objects.get(username="someone-else").failures_since_start == 2
    # The owner's typos are forgiven: the full allowance again.
    assert fail(client, "owner", settings.LOGIN_FAILURE_LIMIT - 1).status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_count(client, owner):
    # Without a trusted proxy, X-Forwarded-For is whatever the client says: ignored.
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        resp = sign_in(client, "owner", "wrong-password", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}")
    assert resp.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HOME}


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(client, owner, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "127.0.0.99"
    # The proxy appends the address it saw; whatever the client put before it is not trusted.
    fail(
        client,
        "owner",
        settings.LOGIN_FAILURE_LIMIT,
        address=proxy,
        HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7",
    )
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]
    resp = sign_in(client, "owner", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert resp.status_code == 429

    other = Client()
    resp = sign_in(other, "owner", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert resp.status_code == 302 and signed_in(other)


@pytest.mark.django_db(transaction=True)
def test_the_api_is_not_a_sign_in_and_is_never_locked(live_server, api, owner):
    # Lock the address the test client and boto3 share; the signed API goes on answering.
    client = Client()
    fail(client, "owner", settings.LOGIN_FAILURE_LIMIT, address="127.0.0.1")
    assert sign_in(client, "owner", PASSWORD, address="127.0.0.1").status_code == 429

    comprehend = api(owner)
    assert comprehend.list_document_classifiers()["DocumentClassifierPropertiesList"] == []
    assert sign_in(client, "owner", PASSWORD, address="127.0.0.1").status_code == 429
