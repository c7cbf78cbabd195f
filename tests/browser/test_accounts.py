"""The account console flows, clicked through in Chromium as a new user would."""

import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from playwright.sync_api import Page, expect

from tests.browser.conftest import ACCOUNT_ID, shot, sign_in, sign_out, sign_up, unique_username
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def comprehend(live_server, key_id: str, secret: str):
    """Return a boto3 Comprehend client on the live server signed with this key."""
    return boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_sign_up_sign_out_and_sign_in_again(page: Page):
    """A new user signs up, sees their 12-digit account id, signs out and back in."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create a Textwheel account")).to_be_visible()
    shot(page, "signup-form")

    user = sign_up(page)
    assert ACCOUNT_ID.fullmatch(user["account_id"])
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_have_text(
        f"Welcome! Your account id is {user['account_id']}."
    )
    expect(page.locator(".topbar")).to_contain_text(user["username"])
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    shot(page, "dashboard")

    sign_out(page)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    page.goto("/")  # signed out really means signed out
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill("not-the-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Please enter a correct username")
    expect(page.get_by_label("Username")).to_have_value(user["username"])
    expect(page.get_by_test_id("account-id")).to_have_count(0)
    shot(page, "wrong-password")

    assert sign_in(page, user["username"]) == user["account_id"]
    expect(page).to_have_url(re.compile(r"/$"))  # back to ?next=/
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def test_access_key_create_use_and_revoke(page: Page, live_server):
    """A key is shown once, works with boto3, and stops working once revoked in the dialog."""
    sign_up(page)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Security credentials").click()
    expect(page.get_by_role("heading", name="Security credentials")).to_be_visible()
    expect(page.get_by_text("No access keys yet.")).to_be_visible()

    page.get_by_role("button", name="Create access key").click()
    expect(page.get_by_test_id("new-key")).to_contain_text("only time the secret access key")
    key_id = page.get_by_test_id("new-key-id").inner_text()
    secret = page.get_by_test_id("new-key-secret").inner_text()
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key_id)
    assert len(secret) == 40
    row = page.get_by_role("row").filter(has_text=key_id)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("never")
    shot(page, "key-created")

    client = comprehend(live_server, key_id, secret)
    assert client.list_document_classifiers()["DocumentClassifierPropertiesList"] == []

    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert secret not in page.content()
    expect(row).to_contain_text("Active")
    expect(row.get_by_role("cell").nth(3)).not_to_have_text("never")  # the API call was seen

    dialog = page.get_by_test_id("confirm-dialog")
    row.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Revoke access key {key_id}?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(row).to_contain_text("Active")
    client.list_document_classifiers()  # cancelling changed nothing

    row.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    shot(page, "revoke-dialog")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text(f"Access key {key_id} revoked.")
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)

    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers()
    assert excinfo.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_owner_adds_a_user_who_signs_in_to_the_same_account(page: Page):
    """An owner adds a member on the Users page; the member signs in to the same account."""
    owner = sign_up(page, unique_username("owner"))
    page.get_by_role("link", name="Users").click()
    heading = f"Users of account {owner['account_id']}"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=owner["username"])).to_contain_text("Owner")

    member = unique_username("member")
    page.get_by_label("Username").fill(member)
    page.get_by_label("Email").fill(f"{member}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    expect(page.get_by_label("Account owner")).not_to_be_checked()
    shot(page, "add-user-form")
    page.get_by_role("button", name="Add user").click()

    expect(page.get_by_role("status")).to_have_text(f"User {member} added.")
    expect(page.get_by_role("row").filter(has_text=member)).to_contain_text("Member")
    expect(page.get_by_label("Username")).to_have_value("")  # the form is ready for the next one
    shot(page, "user-added")

    sign_out(page)
    assert sign_in(page, member) == owner["account_id"]
    expect(page.locator(".topbar")).to_contain_text(member)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(3)  # header, owner, member
    expect(page.get_by_text("Only an account owner can add users.")).to_be_visible()
    expect(page.get_by_role("button", name="Add user")).to_have_count(0)


def test_sign_up_error_keeps_what_was_typed(page: Page):
    """Mismatched passwords name the problem and keep everything but the passwords."""
    username = unique_username()
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Account name").fill("Research team")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD + "x")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    field = page.locator(".field.has-error")
    expect(field).to_have_count(1)
    expect(field).to_contain_text("Confirm password")
    expect(field.get_by_role("alert")).to_have_text("The two passwords differ.")
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Email")).to_have_value(f"{username}@example.com")
    expect(page.get_by_label("Account name")).to_have_value("Research team")
    expect(page.get_by_label(re.compile(r"^Password"))).to_have_value("")
    expect(page.get_by_test_id("account-id")).to_have_count(0)
    shot(page, "mismatched-passwords")

    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("account-id")).to_have_text(ACCOUNT_ID)
    expect(page.locator(".topbar")).to_contain_text(username)


def test_signed_out_visitor_is_sent_to_sign_in(page: Page, owner):
    """A signed-out visit to /models/classifiers/ lands on sign-in, then on the classifiers."""
    page.goto("/models/classifiers/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/models/classifiers/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_text("No classifiers yet.")).to_have_count(0)
    shot(page, "sign-in")

    assert sign_in(page, owner.username) == owner.membership.account.account_id
    expect(page).to_have_url(re.compile(r"/models/classifiers/$"))
    expect(page.get_by_role("heading", name="Custom classification")).to_be_visible()
    expect(page.get_by_text("No classifiers yet.")).to_be_visible()
