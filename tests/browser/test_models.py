"""The custom-model console flows, clicked through in Chromium as a new user would."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import audit, shot, sign_up
from tests.conftest import BAD_INPUTS

pytestmark = pytest.mark.browser

TRAINING_TIMEOUT_MS = 120_000  # a real worker trains on a busy machine


def test_create_classifier_watch_it_train_and_start_a_new_version(page: Page, worker):
    """Upload a CSV, watch the version train, read its scores, start a prefilled new version."""
    sign_up(page)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom classification"
    ).click()
    expect(page.get_by_role("heading", name="Custom classification")).to_be_visible()
    expect(page.get_by_text("No classifiers yet.")).to_be_visible()
    audit(page)
    page.get_by_role("link", name="Create classifier").first.click()
    expect(page.get_by_role("heading", name="Create classifier")).to_be_visible()

    page.get_by_label("Model name").fill("intents")
    page.get_by_label("Version name").fill("v1")
    page.get_by_label("…or upload the training file").set_input_files(
        BAD_INPUTS / "classifier-ok-3-labels.csv"
    )
    shot(page, "create-form")
    page.get_by_role("button", name="Create classifier").click()

    expect(page).to_have_url(re.compile(r"/models/classifiers/intents/$"))
    expect(page.get_by_role("heading", name="intents", exact=True)).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text(
        "Version v1 of intents was submitted for training."
    )
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    expect(row).to_have_count(1)
    # While it trains, the row shows a progress bar; the table polls itself until TRAINED.
    status = row.get_by_role("cell").nth(1).locator(".badge")
    expect(status).to_have_text(re.compile(r"Submitted|Training|Trained"))
    if row.get_by_role("progressbar").count():
        shot(page, "training")
    expect(status).to_have_text("Trained", timeout=TRAINING_TIMEOUT_MS)
    expect(row.get_by_role("progressbar")).to_have_count(0)
    expect(row.get_by_role("cell").nth(2)).to_have_text(re.compile(r"^[01]\.\d{4}$"))
    # One trained version: its scores as a table (the chart needs a second version).
    expect(page.get_by_test_id("single-version-scores")).to_contain_text("F1 score")
    shot(page, "trained")

    row.get_by_role("link", name="Details of version v1").click()
    expect(page.get_by_role("heading", name=re.compile(r"intents · version v1"))).to_be_visible()
    expect(page.locator(".status-line .badge")).to_have_text("Trained")
    metrics = page.get_by_test_id("metrics")
    expect(metrics).to_contain_text("Accuracy")
    expect(metrics).to_contain_text("F1 score (macro)")
    expect(metrics.locator("dd").first).to_have_text(re.compile(r"^[01]\.\d{4}$"))
    labels = metrics.locator("dt", has_text=re.compile(r"^Labels$"))
    expect(labels.locator("xpath=following-sibling::dd[1]")).to_have_text("3")
    per_label = page.get_by_test_id("per-label-row")
    expect(per_label).to_have_count(3)
    for label in ("alarm", "accept_reservations", "account_blocked"):
        expect(per_label.filter(has_text=re.compile(rf"^{label}\b"))).to_have_count(1)
    chart = page.locator('[data-chart="confusion-matrix"]')
    expect(chart).to_be_visible()
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart.locator(".heatmaplayer, .hm").first).to_be_attached()
    shot(page, "version")

    page.get_by_role("link", name="Create new version").first.click()
    expect(page.get_by_role("heading", name="Create a new version of intents")).to_be_visible()
    name = page.get_by_label("Model name")
    expect(name).to_have_value("intents")
    expect(name).not_to_be_editable()
    expect(page.get_by_label("Version name")).to_have_value("")
    expect(page.get_by_label("Training data S3 URI")).to_have_value(
        re.compile(r"^s3://.+/classifier-ok-3-labels\.csv$")
    )
    shot(page, "new-version-form")


def test_create_recognizer_watch_it_train_and_try_it(page: Page, start_worker):
    """Upload documents and annotations, watch the recognizer train, then find entities."""
    start_worker(RECOGNIZER_TIME_BUDGET_SECONDS=10)
    sign_up(page)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom entity recognition"
    ).click()
    expect(page.get_by_role("heading", name="Custom entity recognition")).to_be_visible()
    audit(page)
    page.get_by_role("link", name="Create recognizer").first.click()
    expect(page.get_by_role("heading", name="Create recognizer")).to_be_visible()

    page.get_by_label("Recognizer name").fill("people-places")
    page.get_by_label("Version name").fill("v1")
    for number, entity_type in enumerate(("PERSON", "LOCATION", "ORGANIZATION", "MISC"), 1):
        page.get_by_label(f"Entity type {number}", exact=True).fill(entity_type)
    page.get_by_label("…or upload the documents file").set_input_files(
        BAD_INPUTS / "recognizer-docs.txt"
    )
    page.get_by_label("…or upload the annotations file").set_input_files(
        BAD_INPUTS / "recognizer-annotations-ok.csv"
    )
    shot(page, "create-form")
    page.get_by_role("button", name="Create recognizer").click()

    expect(page).to_have_url(re.compile(r"/models/recognizers/people-places/$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "Version v1 of people-places was submitted for training."
    )
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    status = row.get_by_role("cell").nth(1).locator(".badge")
    expect(status).to_have_text(re.compile(r"Submitted|Training|Trained"))
    if row.get_by_role("progressbar").count():
        shot(page, "training")
    expect(status).to_have_text("Trained", timeout=TRAINING_TIMEOUT_MS)
    expect(row.get_by_role("cell").nth(2)).to_have_text(re.compile(r"^\d+\.\d{2}%$"))
    # One trained version: its scores as a table (the chart needs a second version).
    expect(page.get_by_test_id("single-version-scores")).to_contain_text("F1 score")
    shot(page, "trained")

    row.get_by_role("link", name="Details of version v1").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"people-places · version v1"))
    ).to_be_visible()
    metrics = page.get_by_test_id("metrics")
    expect(metrics).to_contain_text("F1 score")
    expect(metrics.locator("dd").first).to_have_text(re.compile(r"^\d+\.\d{2}%$"))
    per_type = page.get_by_test_id("per-type-row")
    expect(per_type).to_have_count(4)
    for entity_type in ("PERSON", "LOCATION", "ORGANIZATION", "MISC"):
        expect(per_type.filter(has=page.get_by_text(entity_type, exact=True))).to_have_count(1)
    chart = page.locator('[data-chart="entity-type-scores"]')
    expect(chart.locator(".main-svg").first).to_be_visible()
    shot(page, "version")

    page.locator("#try-it").get_by_label("Text").fill("John Smith flew to Paris .")
    page.get_by_role("button", name="Find entities").click()
    output = page.get_by_test_id("try-output")
    expect(output).to_contain_text("flew to")
    marks = output.locator("mark.ent")
    expect(marks.first).to_be_visible()
    expect(page.get_by_test_id("try-entity-row").first).to_be_visible()
    assert marks.count() == page.get_by_test_id("try-entity-row").count()
    shot(page, "try-it")
    page.goto("/models/recognizers/")
    expect(page.locator("main table tbody tr")).to_have_count(1)
    shot(page, "recognizer-list")
