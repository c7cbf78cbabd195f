"""Model copy in Chromium: share a trained version with another account, which imports and uses it."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from models_app.models import ModelKind
from tests import factories
from tests.browser.conftest import audit, open_version, shot, sign_in, sign_out, sign_up
from tests.trained import trained

pytestmark = pytest.mark.browser

WAIT_MS = 120_000  # a real worker copies and loads models on a busy machine


def test_share_a_classifier_and_import_it_in_another_account(
    page: Page, start_worker, api, store, live_server
):
    """A trains a classifier and shares it with B's account; B imports it by its ARN, watches
    the copy become Imported and classifies text with it on an endpoint."""
    builder = sign_up(page)  # the account that will import
    sign_out(page)
    trainer = sign_up(page)
    owner = get_user_model().objects.get(username=trainer["username"])
    # Trained before the worker starts: the suite's fast fixture runs the job in this process.
    trained(ModelKind.CLASSIFIER, api(owner), owner, store, name="intents", version_name="v1")
    start_worker()

    open_version(page, "intents", "v1")
    sharing = page.get_by_test_id("tags-and-policy")
    expect(sharing.get_by_role("heading", name="Tags and policy")).to_be_visible()
    expect(sharing.get_by_test_id("policy-none")).to_have_text(
        "Not shared: no resource-based policy."
    )
    sharing.get_by_role("link", name="Share with other accounts").click()
    expect(
        page.get_by_role("heading", name=re.compile("^Resource-based policy of intents"))
    ).to_be_visible()
    page.get_by_label("Policy name").fill("ShareWithBuilder")
    page.get_by_label("Accounts and users to share with").fill(builder["account_id"])
    page.get_by_role("button", name="Build policy").click()
    editor = page.get_by_label("Policy (JSON)")
    built = json.loads(editor.input_value())
    statement = built["Statement"][0]
    assert statement["Sid"] == "ShareWithBuilder"
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{builder['account_id']}:root"]}
    assert statement["Action"] == "comprehend:ImportModel"
    shot(page, "policy-built")
    page.get_by_role("button", name="Save policy").click()

    expect(page.get_by_role("status").filter(has_text="was saved")).to_be_visible()
    sharing = page.get_by_test_id("tags-and-policy")
    expect(sharing.get_by_test_id("policy-text")).to_contain_text('"Sid": "ShareWithBuilder"')
    expect(sharing.get_by_test_id("policy-revision")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
    shot(page, "version-shared")

    # Copy ARN puts the version's ARN on the clipboard, for the person to send to the builder.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    arn = sharing.get_by_test_id("version-arn").inner_text()
    sharing.get_by_role("button", name="Copy ARN").click()
    expect(sharing.get_by_role("status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == arn and arn.endswith(":document-classifier/intents/version/v1")

    page.get_by_role("link", name="intents", exact=True).click()
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    expect(row.get_by_test_id("shared-badge")).to_have_text("Shared")
    sign_out(page)

    sign_in(page, builder["username"])
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom classification"
    ).click()
    page.get_by_role("link", name="Import version").first.click()
    expect(page.get_by_role("heading", name="Import classifier version")).to_be_visible()
    expect(page.get_by_label("Service role")).to_have_value(
        f"arn:aws:iam::{builder['account_id']}:role/TextwheelDataAccessRole"
    )
    page.get_by_label("Model version ARN").fill(copied)
    page.get_by_label("Model name").fill("intents-copy")
    page.get_by_label("Version name").fill("v1")
    shot(page, "import-form")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="intents-copy · version v1")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="is being copied")).to_be_visible()
    expect(page.locator(".status-line .badge")).to_have_text("Imported", timeout=WAIT_MS)
    expect(page.locator("dl.props").first).to_contain_text(arn)
    shot(page, "imported")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Endpoints").click()
    page.get_by_role("link", name="Create endpoint").first.click()
    page.get_by_label("Endpoint name").fill("intents-copy-live")
    page.get_by_label("Model version").select_option(label="intents-copy · v1")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.locator(".status-line .badge")).to_have_text("In service", timeout=WAIT_MS)
    page.get_by_role("link", name="Analyse text").click()
    page.get_by_label("Text to analyse").fill("please set my alarm for six in the morning")
    page.get_by_role("button", name="Analyse").click()
    rows = page.get_by_test_id("score-row")
    expect(rows).to_have_count(3)
    expect(rows.first.get_by_role("cell").first).to_have_text("alarm")
    shot(page, "classified-with-copy")


def test_the_policy_editor_shows_errors_and_refuses_a_stale_revision(page: Page):
    """Bad JSON is named at the editor; a save from a page opened before someone else's save is
    refused and shows their policy; deleting asks first."""
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    factories.version(owner, name="intents", version_name="v1")

    open_version(page, "intents", "v1")
    page.get_by_role("link", name="Share with other accounts").click()
    editor = page.get_by_label("Policy (JSON)")
    editor.fill('{"Version": "2012-10-17", "Statement": [')
    page.get_by_role("button", name="Save policy").click()
    field = page.locator(".field.has-error").filter(has=page.get_by_label("Policy (JSON)"))
    expect(field.locator(".field-error")).to_contain_text("The policy is not valid JSON")
    shot(page, "bad-json")

    page.get_by_label("Accounts and users to share with").fill("111122223333")
    page.get_by_role("button", name="Build policy").click()
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_test_id("policy-text")).to_contain_text("arn:aws:iam::111122223333:root")
    page.get_by_role("link", name="Edit policy").click()
    edit_url = page.url

    # Someone else opens the same editor and saves first.
    other = page.context.new_page()
    other.goto(edit_url)
    other.get_by_label("Accounts and users to share with").fill("444455556666")
    other.get_by_role("button", name="Build policy").click()
    other.get_by_role("button", name="Save policy").click()
    expect(other.get_by_test_id("policy-text")).to_contain_text("444455556666")
    other.close()

    editor = page.get_by_label("Policy (JSON)")
    editor.fill(editor.input_value().replace("111122223333", "777788889999"))
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "Someone saved a newer revision of this policy after you opened it"
    )
    expect(page.get_by_test_id("replaced-policy")).to_contain_text("444455556666")
    shot(page, "stale-revision")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_test_id("policy-text")).to_contain_text("444455556666")

    page.get_by_role("button", name="Delete policy").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("Other accounts can then no longer import it")
    audit(page)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("policy-none")).to_have_text("Not shared: no resource-based policy.")
    expect(page.get_by_role("status").filter(has_text="no longer shared")).to_be_visible()
