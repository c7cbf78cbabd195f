"""The console says things in words a person reads: a refused name says what a name may hold
(never the API's pattern), sign-up shows every problem at once with the password rules up front,
and the real-time page shows each score once, answered by a model its web process loaded as the
endpoint went in service."""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import Page, expect

from models_app.models import Endpoint, EndpointStatus, ModelKind
from models_app.services import serving
from tests.browser.conftest import shot, sign_up, unique_username
from tests.browser.test_inference import create_endpoint
from tests.conftest import PASSWORD
from tests.trained import trained
from webapp.accounts.services.accounts import user_signup

pytestmark = pytest.mark.browser

NAME_RULE = "Use letters, digits and hyphens; no spaces; at most 63 characters."


def field(page: Page, name: str):
    """The form field (its box with label, input, help and errors) holding input `name`."""
    return page.locator(f".field:has([name='{name}'])")


def test_a_refused_name_is_said_in_words_at_its_field(page: Page):
    sign_up(page)
    page.goto(reverse("models_app:classifier-create"))
    page.get_by_label("Model name").fill("my first model!")
    page.get_by_role("button", name="Create classifier").click()
    error = field(page, "name").locator(".field-error")
    expect(error).to_contain_text(NAME_RULE)
    # The API's wording (its pattern) stays in the API.
    expect(page.locator("main")).not_to_contain_text("failed to satisfy constraint")
    expect(page.locator("main")).not_to_contain_text("^[a-zA-Z0-9]")
    expect(page.get_by_label("Model name")).to_have_value("my first model!")
    shot(page, "name-in-words")


def test_sign_up_shows_the_password_rules_first_and_every_problem_at_once(page: Page):
    taken = unique_username("taken")
    user_signup(username=taken, password=PASSWORD)
    page.goto("/accounts/signup/")
    rules = page.get_by_test_id("password-rules")
    # Before the first try: Django's validators' rules, in words, under the password.
    expect(rules).to_contain_text("at least 8 characters")
    expect(rules).to_contain_text("can’t be entirely numeric")
    expect(rules).to_contain_text("can’t be a commonly used password")
    expect(page.get_by_label(re.compile(r"^Password"))).to_have_attribute(
        "aria-describedby", "password-rules"
    )
    shot(page, "rules-before-the-first-try")

    page.get_by_label("Username").fill(taken)
    page.get_by_label("Email").fill("not-an-email")
    # The input's maxlength stops typing at 100; the server says so too, at the field.
    page.get_by_label("Account name").evaluate("(el, v) => { el.value = v; }", "x" * 101)
    page.get_by_label(re.compile(r"^Password")).fill("1234567")
    page.get_by_label("Confirm password").fill("7654321")
    page.get_by_role("button", name="Create account").click()

    expect(field(page, "username").locator(".field-error")).to_have_text(
        f"The username {taken} is taken; choose another."
    )
    expect(field(page, "email").locator(".field-error")).to_contain_text("valid email")
    expect(field(page, "account_name").locator(".field-error")).to_contain_text(
        "at most 100 characters"
    )
    password = field(page, "password1").locator(".field-error")
    expect(password.filter(has_text="too short")).to_have_count(1)
    expect(password.filter(has_text="too common")).to_have_count(1)
    expect(password.filter(has_text="entirely numeric")).to_have_count(1)
    expect(field(page, "password2").locator(".field-error")).to_have_text(
        "The two passwords differ."
    )
    expect(page.get_by_test_id("password-rules")).to_be_visible()  # still there to fix them
    expect(page.get_by_test_id("form-error")).to_have_count(0)  # nothing left unplaced
    shot(page, "every-problem-at-its-field")

    # A password too like the username is refused at the password, with the rest right.
    name = unique_username("grace")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Account name").fill("Grace's team")
    page.get_by_label(re.compile(r"^Password")).fill(name)
    page.get_by_label("Confirm password").fill(name)
    page.get_by_role("button", name="Create account").click()
    expect(field(page, "password1").locator(".field-error")).to_contain_text("too similar")
    expect(page.locator(".field-error")).to_have_count(1)
    assert not get_user_model().objects.filter(username=name).exists()


@pytest.fixture
def warmer():
    """This test process serves the live server, so it is the web process: start its warmer as
    gunicorn's post_worker_init does in each web worker."""
    serving.clear()
    serving.warmer_start(every=0.2)
    yield
    serving.warmer_stop()
    serving.clear()


def test_the_score_is_shown_once_and_the_first_call_finds_its_model_loaded(
    page: Page, start_worker, api, store, warmer
):
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    # Trained before the worker starts: the suite's fast fixture runs the job in this process.
    version = trained(
        ModelKind.CLASSIFIER, api(owner), owner, store, name="intents", version_name="v1"
    )
    start_worker()
    key = (version.pk, version.artifact_sha256)
    assert serving.cached(*key) is None

    create_endpoint(page, "intents-live", "intents · v1")
    assert Endpoint.objects.get(name="intents-live").status == EndpointStatus.IN_SERVICE
    # No call has reached the endpoint; the web process loads its model by itself.
    deadline = time.monotonic() + 60
    while serving.cached(*key) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert serving.cached(*key) is not None, "the web process did not load the model"
    loaded = serving.loads()

    page.get_by_role("link", name="Analyse text").click()
    page.get_by_label("Text to analyse").fill("please set my alarm for six in the morning")
    page.get_by_role("button", name="Analyse").click()
    rows = page.get_by_test_id("score-row")
    expect(rows).to_have_count(3)
    # The first call was answered by the model already loaded: nothing was read for it.
    assert serving.loads() == loaded

    table = page.get_by_test_id("score-table")
    expect(table.get_by_role("columnheader")).to_have_text(["Class", "Score"])
    expect(table).not_to_contain_text("Confidence")
    first = rows.first
    expect(first.get_by_role("cell")).to_have_count(2)
    score = first.get_by_test_id("score")
    expect(score).to_have_text(re.compile(r"^0\.\d{4}$|^1\.0000$"))
    meter = first.get_by_role("meter")
    expect(meter).to_have_attribute("aria-valuetext", score.inner_text())
    # The number appears once in the row: in the bar's label.
    assert first.inner_text().count(score.inner_text()) == 1
    shot(page, "score-once")
