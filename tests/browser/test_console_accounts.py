"""Accounts as a first-time user meets them: a `createsuperuser` user, the README's API path,
access keys kept and thrown away, and the admin for looking."""

import os
import re
import shlex
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import ACCOUNT_ID, shot, sign_in, sign_up, unique_username
from tests.conftest import PASSWORD, REPO, database_url

pytestmark = pytest.mark.browser

README_ACCOUNT_ID = "123456789012"  # the example id the README's command shows


@pytest.fixture(autouse=True)
def _check_passwords_createsuperuser_hashed(settings):
    # createsuperuser runs in a process of its own with Django's default hasher; the suite's fast
    # hasher alone could not check the password it stored.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


def _manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _createsuperuser(username: str) -> None:
    done = _manage(
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    assert done.returncode == 0, done.stderr


def test_a_createsuperuser_user_gets_an_account_and_every_page(page: Page):
    """The only user that reaches /admin/ starts with no account; signing in gives it one, and no
    console page in the navigation (or a create form) answers an error."""
    username = unique_username("root")
    _createsuperuser(username)
    user = get_user_model().objects.get(username=username)
    assert user.is_superuser and not hasattr(user, "membership")

    account_id = sign_in(page, username)
    expect(page.get_by_test_id("account-made")).to_have_text(
        f"Your user belonged to no account, so Textwheel made account {account_id} for you; "
        "you own it."
    )
    expect(page.get_by_test_id("account-name")).to_have_text(f"{username}'s account")
    shot(page, "account-made")
    page.reload()  # said once
    expect(page.get_by_test_id("account-made")).to_have_count(0)
    expect(page.get_by_test_id("account-id")).to_have_text(account_id)

    nav = page.get_by_role("navigation", name="Main")
    pages = [link.get_attribute("href") for link in nav.get_by_role("link").all()]
    assert reverse("accounts:credentials") in pages and reverse("admin:django_rq_home") in pages
    pages += [
        reverse("models_app:classifier-create"),
        reverse("models_app:recognizer-create"),
        reverse("models_app:classifier-import"),
        reverse("inference:endpoint-create"),
        reverse("inference:job-create"),
        reverse("flywheel_app:flywheel-create"),
    ]
    for url in pages:
        response = page.goto(url)
        assert response.status < 400, f"{url} answered {response.status}"
        expect(page.get_by_text("Server Error")).to_have_count(0)
        if not url.startswith("/admin/"):
            expect(page.get_by_test_id("account-id")).to_have_text(account_id)

    page.goto(reverse("accounts:credentials"))
    expect(page.get_by_role("heading", name="Security credentials")).to_be_visible()
    expect(page.get_by_text(f"arn:aws:iam::{account_id}:user/{username}")).to_be_visible()
    page.goto(reverse("models_app:classifier-create"))
    shot(page, "create-classifier")


def _readme_command() -> str:
    """The create_access_key line the README shows first, as a user would copy it."""
    readme = (REPO / "README.md").read_text()
    lines = re.findall(r"^python manage\.py create_access_key .*$", readme, flags=re.M)
    assert lines, "README.md shows no create_access_key command"
    assert "--account-id" in lines[0], lines[0]
    return lines[0]


def test_the_readmes_access_key_command_reaches_the_console_account(page: Page, live_server):
    """Sign up, make a classifier, run the README's command with the header's account id: the
    key it prints lists that classifier."""
    user = sign_up(page)
    account_name = f"{user['username']}'s team"
    expect(page.get_by_test_id("account-name")).to_have_text(account_name)
    owner = get_user_model().objects.get(username=user["username"])
    version = factories.version(owner, name="support-tickets")

    page.goto(reverse("models_app:classifier-list"))
    expect(page.get_by_role("link", name="support-tickets")).to_be_visible()
    shot(page, "classifier-and-account-id")

    command = _readme_command().replace(README_ACCOUNT_ID, user["account_id"])
    argv = shlex.split(command)
    assert argv[:2] == ["python", "manage.py"], argv
    robot = unique_username("robot")
    argv = [robot if word == "robot" else word for word in argv[2:]]
    done = _manage(*argv)
    assert done.returncode == 0, done.stderr
    assert f"of user {robot} in account {user['account_id']} ('{account_name}')." in done.stderr, (
        done.stderr
    )
    values = dict(line.split("=", 1) for line in done.stdout.strip().splitlines())
    assert values["AWS_ACCOUNT_ID"] == user["account_id"]

    client = boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name="us-east-1",
        aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    listed = client.list_document_classifiers()["DocumentClassifierPropertiesList"]
    assert [c["DocumentClassifierArn"] for c in listed] == [version.arn]


def test_a_new_key_is_copied_downloaded_revoked_and_removed(page: Page, live_server):
    """The secret shown once can be copied and saved as AWS's .csv; a revoked key can go."""
    user = sign_up(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Security credentials").click()
    page.get_by_role("button", name="Create access key").click()
    key_id = page.get_by_test_id("new-key-id").inner_text()
    secret = page.get_by_test_id("new-key-secret").inner_text()
    status = page.get_by_test_id("new-key-copy-status")

    page.get_by_role("button", name="Copy secret access key").click()
    expect(status).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.get_by_role("button", name="Copy access key ID").click()
    assert page.evaluate("navigator.clipboard.readText()") == key_id

    with page.expect_download() as info:
        page.get_by_role("button", name="Download .csv file").click()
    download = info.value
    assert download.suggested_filename == f"{user['username']}_accessKeys.csv"
    with open(download.path(), newline="") as saved:
        assert saved.read() == f"Access key ID,Secret access key\r\n{key_id},{secret}\r\n"
    expect(status).to_have_text(f"Downloaded {user['username']}_accessKeys.csv.")
    shot(page, "new-key")

    page.reload()  # the secret is gone from the page, and so are the copy and download
    assert secret not in page.content()
    expect(page.get_by_role("button", name="Download .csv file")).to_have_count(0)

    row = page.get_by_role("row").filter(has_text=key_id)
    expect(row.get_by_role("button", name="Remove")).to_have_count(0)  # active keys stay
    dialog = page.get_by_test_id("confirm-dialog")
    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text(f"Access key {key_id} revoked.")

    row.get_by_role("button", name="Remove").click()
    expect(dialog).to_contain_text(f"Remove revoked access key {key_id} from the list?")
    shot(page, "remove-dialog")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text(f"Access key {key_id} removed.")
    expect(page.get_by_role("row").filter(has_text=key_id)).to_have_count(0)
    expect(page.get_by_text("No access keys yet.")).to_be_visible()

    page.goto(reverse("accounts:audit-list"))
    for operation in ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"):
        expect(page.get_by_role("row").filter(has_text=operation)).to_have_count(1)


def test_the_admin_shows_a_version_for_looking_only(page: Page, owner):
    """Staff see a version's status, metrics and artifact but cannot type them, nor add one."""
    version = factories.version(
        owner,
        metrics={"Accuracy": 0.875, "F1Score": 0.81},
        artifact_uri="s3://textwheel-artifacts/model/1/",
    )
    username = unique_username("staff")
    _createsuperuser(username)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(reverse("admin:models_app_modelversion_change", args=[version.pk]))
    form = page.locator("#content-main")
    expect(form).to_contain_text("0.875")
    expect(form).to_contain_text("s3://textwheel-artifacts/model/1/")
    for name in ("status", "metrics", "artifact_uri", "artifact_sha256", "message"):
        expect(page.locator(f"[name='{name}']")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    page.screenshot(
        path=str(REPO / "docs" / "screenshots" / f"{_this_test()}-version-change.png"),
        full_page=True,
    )

    page.goto(reverse("admin:models_app_modelversion_changelist"))
    expect(page.get_by_role("link", name=re.compile("Add model version", re.I))).to_have_count(0)
    response = page.request.get("/favicon.ico")
    assert response.status == 200 and response.body()[:4] == b"\x00\x00\x01\x00"
    page.goto("/")
    expect(page.get_by_test_id("account-id")).to_have_text(ACCOUNT_ID)
    icon = page.locator("link[rel='icon']").first.get_attribute("href")
    assert page.request.get(icon).status == 200


def _this_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
