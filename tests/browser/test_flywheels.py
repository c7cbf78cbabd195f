"""Flywheels in Chromium, as a new user would: a flywheel from a trained classifier version, a
training dataset uploaded and ingested, Run flywheel, Make active model, and an endpoint that
follows the flywheel classifying with the new version."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from flywheel_app.models import FlywheelIteration
from tests.api.test_flywheels import classifier_v1
from tests.browser.conftest import shot, sign_up
from tests.conftest import DATA

pytestmark = pytest.mark.browser

WAIT_MS = 180_000  # a real worker ingests, trains and loads models on a busy machine


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_a_flywheel_trains_a_better_version_that_its_endpoint_serves(
    page: Page, start_worker, api, store
):
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    # Trained before the worker starts: the suite's fast fixture runs the job in this process.
    v1 = classifier_v1(api(owner), owner, store)
    start_worker()

    nav(page, "Flywheels")
    expect(page.get_by_role("heading", name="Flywheels", exact=True)).to_be_visible()
    expect(page.get_by_text("No flywheels yet.")).to_be_visible()
    page.get_by_role("link", name="Create new flywheel").first.click()
    expect(page.get_by_role("heading", name="Create new flywheel")).to_be_visible()
    page.get_by_label("Flywheel name").fill("intents-fw")
    expect(page.get_by_label("Start from one of my trained model versions")).to_be_checked()
    page.get_by_label("Active model version").select_option(label="intents · v1")
    expect(page.get_by_label("Data access role")).to_have_value(
        f"arn:aws:iam::{user['account_id']}:role/TextwheelDataAccessRole"
    )
    shot(page, "create-form")
    page.get_by_role("button", name="Create flywheel").click()

    expect(page.get_by_role("heading", name="intents-fw")).to_be_visible()
    status = page.get_by_test_id("flywheel-status").locator(".badge")
    expect(status).to_have_text("Active", timeout=WAIT_MS)
    expect(page.get_by_test_id("active-version")).to_contain_text("intents · v1")
    shot(page, "flywheel-active")

    page.get_by_role("link", name="Create dataset").click()
    expect(page.get_by_role("heading", name="Create dataset for intents-fw")).to_be_visible()
    page.get_by_label("Dataset name").fill("new-intents")
    expect(page.get_by_label("Training: new labelled documents")).to_be_checked()
    # The suite's CLINC150 test slice: 30 rows of the flywheel's intents among 147 others.
    page.get_by_label("…or upload the CSV file").set_input_files(DATA / "clinc150" / "test.csv")
    shot(page, "dataset-form")
    page.get_by_role("button", name="Create dataset").click()

    expect(page.get_by_role("status").filter(has_text="is being checked")).to_be_visible()
    row = page.get_by_test_id("train-datasets").get_by_test_id("dataset-row")
    expect(row.locator(".badge")).to_have_text("Completed", timeout=WAIT_MS)
    expect(row).to_contain_text("30")
    expect(row.get_by_test_id("dataset-message")).to_contain_text("Ignored 1,470")
    shot(page, "dataset-completed")

    page.get_by_role("button", name="Run flywheel").click()
    expect(page.get_by_role("status").filter(has_text="started")).to_be_visible()
    iteration_row = page.get_by_test_id("iteration-row")
    expect(iteration_row.locator(".badge").first).to_have_text("Completed", timeout=WAIT_MS)
    iteration = FlywheelIteration.objects.get(flywheel__name="intents-fw")
    trained = iteration.trained_version
    expect(iteration_row).to_contain_text("intents · v1")
    expect(iteration_row).to_contain_text(trained.version_name)
    expect(page.locator('[data-chart="flywheel-f1"] .main-svg').first).to_be_visible()
    # The iterations table fits its panel at 1280 px, "Make active model" inside it.
    table = page.get_by_test_id("iterations-table")
    panel_width, table_width = table.evaluate(
        "t => [t.closest('.panel').clientWidth, t.scrollWidth]"
    )
    assert table_width <= panel_width, f"{table_width} px of table in {panel_width} px"
    button = iteration_row.get_by_role("button", name=re.compile("the active model$"))
    expect(button).to_be_visible()
    box, panel = (
        button.bounding_box(),
        table.evaluate(
            "t => { const r = t.closest('.panel').getBoundingClientRect(); return r.right; }"
        ),
    )
    assert box["x"] + box["width"] <= panel, "Make active model is cut off"
    shot(page, "iteration-completed")

    # An endpoint that follows the flywheel serves v1 until the new version is made active.
    page.get_by_role("link", name="Create endpoint").click()
    expect(page.get_by_label("Model version")).to_have_value(
        f"arn:aws:comprehend:us-east-1:{user['account_id']}:flywheel/intents-fw"
    )
    page.get_by_label("Endpoint name").fill("intents-live")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.locator(".status-line .badge")).to_have_text("In service", timeout=WAIT_MS)
    expect(page.get_by_test_id("endpoint-props")).to_contain_text(v1.arn)

    nav(page, "Flywheels")
    page.get_by_role("link", name="intents-fw", exact=True).click()
    page.get_by_role("link", name=iteration.iteration_id).click()
    expect(page.get_by_test_id("iteration-scores")).to_contain_text("F1 score (macro average)")
    expect(page.get_by_test_id("label-delta-row")).to_have_count(3)
    shot(page, "iteration-page")
    page.get_by_role("button", name="Make active model").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("Endpoints that follow the flywheel move to it")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").filter(has_text="is now the active model")).to_be_visible()
    expect(page.get_by_test_id("active-version")).to_contain_text(trained.version_name)
    expect(page.get_by_test_id("iteration-row").get_by_test_id("active-badge")).to_be_visible()
    shot(page, "made-active")

    nav(page, "Endpoints")
    page.get_by_role("link", name="intents-live", exact=True).click()
    expect(page.locator(".status-line .badge")).to_have_text("In service", timeout=WAIT_MS)
    expect(page.get_by_test_id("endpoint-props")).to_contain_text(trained.arn, timeout=WAIT_MS)
    expect(page.get_by_test_id("endpoint-props")).not_to_contain_text(v1.arn)
    page.get_by_role("link", name="Analyse text").click()
    page.get_by_label("Text to analyse").fill("please set my alarm for six in the morning")
    page.get_by_role("button", name="Analyse").click()
    rows = page.get_by_test_id("score-row")
    expect(rows).to_have_count(3)
    expect(rows.first.get_by_role("cell").first).to_have_text("alarm")
    shot(page, "classified-by-the-new-version")
