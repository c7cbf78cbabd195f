"""A classifier trained with a base model, asked for with the tag textwheel:base-model on the
console's create form: a name that is not installed is refused at the form, and the version page
says which base model was considered and why."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.base_model_factory import build_base_model
from tests.browser.conftest import shot, sign_up
from tests.conftest import BAD_INPUTS

pytestmark = pytest.mark.browser

TRAINING_TIMEOUT_MS = 120_000  # a real worker trains on a busy machine


def test_a_version_trained_with_a_base_model_says_so_on_its_page(
    page: Page, start_worker, tmp_path, settings
):
    folder = tmp_path / "base-models"
    build_base_model(folder / "tiny-bert")
    # The live server runs in this process; the worker is told the same through its environment.
    settings.BASE_MODELS_DIR = folder
    settings.BASE_MODEL_PACKAGES = []
    start_worker(BASE_MODELS_DIR=folder, BASE_MODEL_PACKAGES="", CLASSIFIER_TIME_BUDGET_SECONDS=10)

    sign_up(page)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom classification"
    ).click()
    page.get_by_role("link", name="Create classifier").first.click()
    page.get_by_label("Model name").fill("intents")
    page.get_by_label("Version name").fill("v1")
    page.get_by_label("…or upload the training file").set_input_files(
        BAD_INPUTS / "classifier-ok-3-labels.csv"
    )
    page.get_by_label("Tag 1 key").fill("textwheel:base-model")
    page.get_by_label("Tag 1 value").fill("bert-large")
    page.get_by_role("button", name="Create classifier").click()

    # Refused on the form, in words, naming the tag and what is installed.
    # At the tag's value, where it is put right.
    refusal = page.locator(".tags-table .field.has-error").get_by_text(
        re.compile(r"The tag textwheel:base-model=bert-large")
    )
    expect(refusal).to_contain_text("Installed base models: tiny-bert")
    expect(page.locator("body")).not_to_contain_text(str(folder))

    # The form keeps the uploaded file (as its S3 URI); only the tag changes.
    expect(page.get_by_label("Training data S3 URI")).to_have_value(re.compile(r"^s3://uploads/"))
    shot(page, "refused")
    page.get_by_label("Tag 1 value").fill("tiny-bert")
    page.get_by_role("button", name="Create classifier").click()
    expect(page).to_have_url(re.compile(r"/models/classifiers/intents/$"))
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    status = row.get_by_role("cell").nth(1).locator(".badge")
    expect(status).to_have_text(re.compile(r"^Trained"), timeout=TRAINING_TIMEOUT_MS)

    row.get_by_role("link", name="Details of version v1").click()
    expect(page.get_by_role("heading", name=re.compile(r"intents · version v1"))).to_be_visible()
    base = page.get_by_test_id("base-model")
    expect(base).to_contain_text("tiny-bert")
    expect(base).to_contain_text(re.compile(r"(Used|Not used|Not tried)"))
    expect(page.get_by_test_id("version-message")).to_contain_text("tiny-bert")
    expect(page.get_by_test_id("training-parameters")).not_to_contain_text("base_model")
    expect(page.locator("body")).not_to_contain_text(str(folder))
    shot(page, "version")
