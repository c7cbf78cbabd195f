"""The Base models page: what the operator installed, and what is broken in it."""

import hashlib

import pytest
from playwright.sync_api import Page, expect

from tests.base_model_factory import build_base_model
from tests.browser.conftest import shot, sign_up

pytestmark = pytest.mark.browser


def test_the_base_models_page_lists_a_usable_and_a_broken_model(page: Page, tmp_path, settings):
    # The live server runs in this process, so the setting reaches its requests too.
    settings.BASE_MODELS_DIR = tmp_path
    build_base_model(tmp_path / "tiny-bert")
    half = build_base_model(tmp_path / "half-copied")
    weights = half / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:20_000])

    sign_up(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Base models").click()

    expect(page.get_by_role("heading", name="Base models")).to_be_visible()
    rows = page.get_by_test_id("base-model-row")
    expect(rows).to_have_count(2)
    broken, usable = rows.nth(0), rows.nth(1)
    expect(usable.get_by_test_id("base-model-name")).to_have_text("tiny-bert")
    expect(usable).to_contain_text("bert, 2 layers, hidden size 32")
    expect(usable).to_contain_text("LICENSE")
    expect(usable).to_contain_text("Usable")
    expect(usable.get_by_test_id("base-model-sha256")).to_have_text(
        hashlib.sha256((tmp_path / "tiny-bert" / "model.safetensors").read_bytes()).hexdigest()
    )
    expect(broken.get_by_test_id("base-model-problem")).to_contain_text(
        "Base model 'half-copied': model.safetensors is truncated (its header says"
    )
    expect(page.get_by_test_id("base-models-unusable")).to_contain_text(
        "One base model is unusable"
    )
    expect(page.locator("body")).not_to_contain_text(str(tmp_path))
    shot(page, "listed")
