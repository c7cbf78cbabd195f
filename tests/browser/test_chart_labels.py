"""Charts in Chromium: label names are shown as typed, never as plotly markup, under the CSP."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import Page, expect

from models_app.models import ModelKind
from tests import factories
from tests.browser.conftest import shot, sign_up

pytestmark = pytest.mark.browser

EVIL = '<a href="https://evil.example">Click me</a>'
BOLD = "<b>loud</b> & <br>clear"
PLAIN = "billing"
LABELS = [EVIL, BOLD, PLAIN]
# Collects every Content-Security-Policy violation of the page (the event fires for each one).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.__cspViolations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`));
"""


def _user(page: Page):
    return get_user_model().objects.get(username=sign_up(page)["username"])


def _curve(shift: float) -> dict:
    return {
        "precision": [1.0, 0.9 - shift, 0.7 - shift],
        "recall": [0.0, 0.5, 1.0],
        "thresholds": [0.9, 0.5, 0.1],
    }


def _classifier(user, *, name="labels", mode="MULTI_CLASS", version_name="v1"):
    matrix = [[5, 1, 0], [0, 6, 1], [1, 0, 7]]
    if mode == "MULTI_LABEL":
        matrix = {label: {"tp": 5 + i, "fp": 1, "fn": i} for i, label in enumerate(LABELS)}
    return factories.version(
        user,
        name=name,
        version_name=version_name,
        mode=mode,
        metrics={"Accuracy": 0.82, "F1Score": 0.8, "MicroF1Score": 0.81},
        per_label_metrics=[
            {"label": label, "precision": 0.8, "recall": 0.75, "f1": 0.77, "support": 7}
            for label in LABELS
        ],
        evaluation={
            "confusion_matrix": {"labels": LABELS, "confusion_matrix": matrix},
            "pr_curves": {label: _curve(i / 10) for i, label in enumerate(LABELS)},
        },
    )


def _open(page: Page, url: str) -> None:
    response = page.goto(url)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    expect(page.locator(".chart .main-svg").first).to_be_visible()
    for chart in page.locator("[data-chart]").all():
        expect(chart.locator(".main-svg").first).to_be_visible()


def _assert_literal(page: Page, texts: list[str]) -> None:
    """No link to evil.example anywhere, and each label drawn as the text it is."""
    links = page.evaluate(
        """[...document.querySelectorAll("a")].map(a => a.getAttribute("href")
             || a.getAttributeNS("http://www.w3.org/1999/xlink", "href") || "")"""
    )
    assert not [href for href in links if "evil.example" in href]
    expect(page.locator(".chart a")).to_have_count(0)  # plotly draws its links as SVG <a>
    drawn = page.locator(".chart svg text").all_text_contents()
    for text in texts:
        assert text in drawn, f"{text!r} is not drawn as it is; the chart shows {drawn}"


def _assert_no_csp_violation(page: Page) -> None:
    assert page.evaluate("window.__cspViolations") == []


def test_label_names_are_drawn_as_typed_in_classifier_charts(page: Page):
    """A label written as a link stays text: in the tick labels, the hover and the legend."""
    page.add_init_script(WATCH_CSP)
    user = _user(page)
    version = _classifier(user)

    _open(page, reverse("models_app:classifier-version-detail", args=["labels", version.pk]))
    heatmap = page.locator('[data-chart="confusion-matrix"]')
    expect(heatmap.locator(".xtick text", has_text="Click me")).to_have_count(1)
    _assert_literal(page, LABELS)
    # The table and the curve selector show the same names, escaped by the template.
    expect(page.get_by_test_id("per-label-row").filter(has_text=EVIL)).to_have_count(1)
    expect(page.locator("#pr-label option", has_text=EVIL)).to_have_count(1)

    # Hover over the cell of the first true and first predicted label.
    heatmap.scroll_into_view_if_needed()
    box = heatmap.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 6, box["y"] + box["height"] / 6)
    hover = heatmap.locator(".hoverlayer .hovertext")
    expect(hover).to_contain_text(f"true {EVIL}, predicted {EVIL}: 5")
    expect(heatmap.locator(".hoverlayer a")).to_have_count(0)
    page.mouse.move(0, 0)
    expect(hover).to_have_count(0)

    # One curve alone, picked by that name.
    page.get_by_label("Label", exact=True).select_option(EVIL)
    expect(page.locator("#pr-chart .legendtext")).to_have_count(0)  # a single trace, no legend
    page.get_by_label("Label", exact=True).select_option("")
    expect(page.locator("#pr-chart .legendtext", has_text="Click me")).to_have_text(EVIL)
    _assert_literal(page, LABELS)
    _assert_no_csp_violation(page)
    shot(page, "confusion-matrix")


def test_label_names_are_drawn_as_typed_in_the_multi_label_bars(page: Page):
    page.add_init_script(WATCH_CSP)
    version = _classifier(_user(page), name="tags", mode="MULTI_LABEL")

    _open(page, reverse("models_app:classifier-version-detail", args=["tags", version.pk]))
    bars = page.locator('[data-chart="label-counts"]')
    expect(bars.locator(".xtick text", has_text="Click me")).to_have_text(EVIL)
    _assert_literal(page, LABELS)
    _assert_no_csp_violation(page)
    shot(page, "label-counts")


def test_entity_types_are_drawn_as_typed_in_the_recognizer_chart(page: Page):
    page.add_init_script(WATCH_CSP)
    user = _user(page)
    version = factories.version(
        user,
        name="people",
        kind=ModelKind.RECOGNIZER,
        metrics={"Precision": 0.9, "Recall": 0.8, "F1Score": 0.85},
        per_label_metrics=[
            {"type": t, "precision": 0.9, "recall": 0.8, "f1": 0.85, "train_mentions": 20}
            for t in (EVIL, "PERSON")
        ],
    )

    _open(page, reverse("models_app:recognizer-version-detail", args=["people", version.pk]))
    chart = page.locator('[data-chart="entity-type-scores"]')
    expect(chart.locator(".xtick text", has_text="Click me")).to_have_text(EVIL)
    _assert_literal(page, [EVIL, "PERSON"])
    _assert_no_csp_violation(page)
    shot(page, "entity-types")


def test_model_pages_draw_their_charts_under_the_content_security_policy(page: Page):
    """The model page's chart across versions draws with scripts from the console alone."""
    page.add_init_script(WATCH_CSP)
    user = _user(page)
    _classifier(user, version_name="v1")
    _classifier(user, version_name="v2")

    _open(page, reverse("models_app:classifier-detail", args=["labels"]))
    trend = page.locator('[data-chart="metrics-trend"]')
    expect(trend.locator(".xtick text")).to_have_text(["v1", "v2"])
    expect(trend.locator(".legendtext", has_text="Accuracy")).to_have_count(1)
    _assert_no_csp_violation(page)
    scripts = page.evaluate("[...document.scripts].map(s => s.src || s.type)")
    assert all(
        s.startswith(page.url.split("/models/")[0]) or s == "application/json" for s in scripts
    )
    shot(page, "trend")
