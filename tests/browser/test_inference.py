"""The inference console flows (endpoints, real-time analysis, analysis jobs), in Chromium."""

import gzip
import io
import re
import tarfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tests.browser.conftest import audit, shot, sign_up
from tests.conftest import BAD_INPUTS

pytestmark = pytest.mark.browser

WAIT_MS = 120_000  # a real worker trains and loads models on a busy machine


def train_classifier(page: Page, api, store, user: dict, name: str = "intents") -> str:
    """Train classifier `name` version v1 through the API and the worker; wait on its page."""
    owner = get_user_model().objects.get(username=user["username"])
    uri = store(owner, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    api(owner).create_document_classifier(
        DocumentClassifierName=name,
        VersionName="v1",
        DataAccessRoleArn=f"arn:aws:iam::{user['account_id']}:role/Comprehend",
        InputDataConfig={"S3Uri": uri},
        LanguageCode="en",
    )
    page.goto(f"/models/classifiers/{name}/")
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    expect(row.get_by_role("cell").nth(1).locator(".badge")).to_have_text(
        "Trained", timeout=WAIT_MS
    )
    audit(page)
    return f"{name} · v1"


def create_endpoint(page: Page, name: str, version_label: str) -> None:
    """Create an endpoint from the console and wait on its page until it is in service."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Endpoints").click()
    expect(page.get_by_role("heading", name="Endpoints", exact=True)).to_be_visible()
    audit(page)
    page.get_by_role("link", name="Create endpoint").first.click()
    expect(page.get_by_role("heading", name="Create endpoint")).to_be_visible()
    page.get_by_label("Endpoint name").fill(name)
    page.get_by_label("Model version").select_option(label=version_label)
    shot(page, "endpoint-form")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.locator(".status-line .badge")).to_have_text("In service", timeout=WAIT_MS)


def test_create_endpoint_and_classify_text(page: Page, worker, api, store):
    """An endpoint of a trained classifier goes in service and classifies typed text."""
    user = sign_up(page)
    label = train_classifier(page, api, store, user)

    create_endpoint(page, "intents-live", label)
    expect(page.get_by_test_id("endpoint-props")).to_contain_text("Custom classifier")
    shot(page, "endpoint-in-service")

    page.get_by_role("link", name="Analyse text").click()
    expect(page.get_by_role("heading", name="Real-time analysis · intents-live")).to_be_visible()
    page.get_by_label("Text to analyse").fill("please set my alarm for six in the morning")
    page.get_by_role("button", name="Analyse").click()
    rows = page.get_by_test_id("score-row")
    expect(rows).to_have_count(3)
    expect(rows.first.get_by_role("cell").first).to_have_text("alarm")
    for name in ("alarm", "accept_reservations", "account_blocked"):
        meter = page.get_by_role("meter", name=f"Score of {name}")
        expect(meter).to_be_visible()
        expect(meter).to_have_attribute("aria-valuenow", re.compile(r"^\d{1,3}$"))
    # The score is said once: its bar, labelled with the number (no second "Confidence" column).
    expect(rows.first.get_by_role("cell")).to_have_count(2)
    expect(rows.first.get_by_test_id("score")).to_have_text(re.compile(r"^0\.\d{4}$|^1\.0000$"))
    expect(page.get_by_label("Text to analyse")).to_have_value(
        "please set my alarm for six in the morning"
    )
    shot(page, "classified")


def test_run_analysis_job_and_download_output(page: Page, worker, api, store, tmp_path):
    """A job over an uploaded one-doc-per-line file completes and its output downloads."""
    user = sign_up(page)
    label = train_classifier(page, api, store, user)
    docs = tmp_path / "inbox.txt"
    docs.write_text(
        "wake me up at seven tomorrow\n"
        "i would like to book a table for four tonight\n"
        "my account was blocked, please unlock it\n"
    )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analysis jobs").click()
    expect(page.get_by_role("heading", name="Analysis jobs", exact=True)).to_be_visible()
    audit(page)
    page.get_by_role("link", name="Create job").first.click()
    expect(page.get_by_role("heading", name="Create analysis job")).to_be_visible()
    page.get_by_label("Job name").fill("inbox-intents")
    page.get_by_label("Custom classification").check()
    page.get_by_label("Model version").select_option(label=label)
    page.get_by_label("…or upload a file").set_input_files(docs)
    page.get_by_label("One document per line").check()
    role = page.get_by_label("Data access role")
    if not role.input_value():
        role.fill(f"arn:aws:iam::{user['account_id']}:role/Comprehend")
    shot(page, "job-form")
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_role("heading", name="inbox-intents")).to_be_visible()
    expect(page.locator(".status-line .badge")).to_have_text("Completed", timeout=WAIT_MS)
    expect(page.get_by_test_id("job-counts")).to_contain_text("3 of 3 analysed")
    expect(page.get_by_test_id("job-props")).to_contain_text("one document per line")
    shot(page, "job-completed")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download output.tar.gz").click()
    download = info.value
    assert download.suggested_filename.endswith(".tar.gz")
    data = Path(download.path()).read_bytes()
    assert data[:2] == b"\x1f\x8b"  # gzip magic
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        names = tar.getnames()
    assert names, "the output tarball is empty"


def test_deleting_a_version_in_use_by_an_endpoint_is_refused(page: Page, worker, api, store):
    """Deleting the version an endpoint serves is refused, naming the endpoint."""
    user = sign_up(page)
    label = train_classifier(page, api, store, user)
    create_endpoint(page, "intents-live", label)

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom classification"
    ).click()
    page.get_by_role("link", name="intents", exact=True).click()
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    dialog = page.get_by_test_id("confirm-dialog")
    row.get_by_role("button", name="Delete version v1").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "This version is used by the endpoint intents-live; deleting it is refused while that "
        "endpoint uses it. Delete version v1 of intents?"
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)

    row.get_by_role("button", name="Delete version v1").click()
    expect(dialog).to_be_visible()
    shot(page, "delete-dialog")
    dialog.get_by_role("button", name="Confirm").click()
    refusal = page.locator(".messages .alert")
    expect(refusal).to_have_count(1)
    expect(refusal).to_contain_text(
        "Version intents · v1 is used by the endpoint intents-live, so it cannot be deleted"
    )
    expect(refusal.get_by_role("link", name="intents-live")).to_be_visible()
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(1).locator(".badge")).to_have_text("Trained")
    expect(page.get_by_test_id("single-version-scores")).to_contain_text("F1 score")
    shot(page, "delete-refused")
