"""The console as a person uses it: by keyboard alone, with long tables, on a laptop screen."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Locator, Page, expect

from models_app.models import ModelVersion
from tests.browser.conftest import ACCOUNT_ID, audit, shot, sign_up
from tests.conftest import DATA, PASSWORD

pytestmark = pytest.mark.browser

WAIT_MS = 180_000  # a real worker trains a 150-intent classifier on a busy machine
LAPTOPS = ({"width": 1280, "height": 800}, {"width": 1366, "height": 768})


def tab_to(page: Page, target: Locator, most: int = 40) -> None:
    """Press Tab until `target` has the focus, and check that the focus can be seen there."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError(f"{target} was not reached with {most} presses of Tab")
    ring = target.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert ring[0] != "none" and float(ring[1].removesuffix("px")) >= 2, ring


def test_sign_in_and_manage_access_keys_by_keyboard_alone(page: Page, owner):
    """Skip link, sign-in form, left navigation, buttons, sort links and the confirm dialog all
    work with Tab, Enter, Space and Escape."""
    page.goto("/accounts/login/")
    expect(page.get_by_label("Username")).to_be_focused()  # the form starts focused
    page.keyboard.type(owner.username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("account-id")).to_have_text(ACCOUNT_ID)

    nav = page.get_by_role("navigation", name="Main")
    tab_to(page, nav.get_by_role("link", name="Security credentials"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Security credentials")).to_be_visible()
    expect(nav.get_by_role("link", name="Security credentials")).to_have_attribute(
        "aria-current", "true"
    )

    # The first Tab shows the skip link; it jumps over the header and the navigation.
    skip = page.get_by_role("link", name="Skip to content")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("main").get_by_role("link", name="Textwheel")).to_be_focused()

    create = page.get_by_role("button", name="Create access key")
    tab_to(page, create)
    page.keyboard.press("Enter")
    first = page.get_by_test_id("new-key-id").inner_text()
    tab_to(page, create)
    page.keyboard.press(" ")
    expect(page.get_by_test_id("new-key-id")).not_to_have_text(first)
    second = page.get_by_test_id("new-key-id").inner_text()
    rows = page.get_by_test_id("key-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(second)  # newest first

    created = page.get_by_role("link", name="Created", exact=True)
    expect(page.get_by_role("columnheader", name="Created")).to_have_attribute(
        "aria-sort", "descending"
    )
    tab_to(page, created)
    page.keyboard.press(" ")
    expect(page).to_have_url(re.compile(r"\?sort=created&dir=asc$"))
    expect(page.get_by_role("columnheader", name="Created")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(rows.first).to_contain_text(first)

    dialog = page.get_by_test_id("confirm-dialog")
    revoke = rows.filter(has_text=first).get_by_role("button", name="Revoke")
    tab_to(page, revoke)
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(revoke).to_be_focused()  # the focus is back where it was
    expect(rows.filter(has_text=first)).to_contain_text("Active")

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Confirm")).to_be_focused()
    shot(page, "confirm-dialog")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(f"Access key {first} revoked.")
    expect(rows.filter(has_text=first)).to_contain_text("Revoked")
    expect(rows.filter(has_text=second)).to_contain_text("Active")


def test_the_audit_finds_faint_text_unlabelled_controls_and_sideways_scrolling(page: Page):
    """The check every browser test runs on its pages fails on what it is there to catch."""
    page.goto("/accounts/login/")
    audit(page)
    main = page.locator("main")
    for html, rule in (
        ('<p style="color: #999">Faint text</p>', "color-contrast"),
        # Dark text over a full bar, as the progress bars once had their label.
        (
            '<div style="position: relative; width: 200px; background: #e9ebed">'
            '<div style="width: 100%; height: 18px; background: #0b6e4f"></div>'
            '<span style="position: absolute; inset: 0; text-align: center; color: #111">100%'
            "</span></div>",
            "color-contrast",
        ),
        ('<input type="text" name="nameless">', "label"),
        ("<button></button>", "button-name"),
        ('<a href="/"></a>', "link-name"),
        ('<div role="progressbar" aria-valuenow="x"></div>', "aria-"),
        ('<div style="width: 3000px">Too wide</div>', "scrolls sideways"),
    ):
        main.evaluate("(el, html) => el.insertAdjacentHTML('beforeend', html)", html)
        with pytest.raises(AssertionError, match=re.escape(rule)):
            audit(page)
        page.reload()


def visible_scores(table: Locator, column: int) -> list[float]:
    """The sort values of one column of the rows the table shows now."""
    return table.locator("tbody tr:not([hidden])").evaluate_all(
        f"rows => rows.map(r => Number(r.children[{column}].getAttribute('data-sort')))"
    )


def test_a_150_intent_classifier_pages_its_scores_and_fits_a_laptop(
    page: Page, start_worker, api, store
):
    """CLINC150: the per-label table shows 25 of its 150 rows at a time and sorts all of them;
    no page of the console scrolls sideways at 1280x800 or 1366x768."""
    start_worker(CLASSIFIER_TIME_BUDGET_SECONDS=5)
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    client = api(owner)
    role = f"arn:aws:iam::{user['account_id']}:role/Comprehend"
    client.create_document_classifier(
        DocumentClassifierName="clinc150",
        VersionName="v1",
        DataAccessRoleArn=role,
        InputDataConfig={
            "S3Uri": store(owner, "clinc150/train.csv", DATA / "clinc150" / "train.csv"),
            "TestS3Uri": store(owner, "clinc150/test.csv", DATA / "clinc150" / "test.csv"),
        },
        LanguageCode="en",
    )
    page.goto("/models/classifiers/clinc150/")
    row = page.get_by_test_id("version-row").filter(has_text="v1")
    expect(row.get_by_role("cell").nth(1).locator(".badge")).to_have_text(
        "Trained", timeout=WAIT_MS
    )
    version = ModelVersion.objects.get(model__name="clinc150", version_name="v1")
    f1s = [-1 if r["f1"] is None else r["f1"] for r in version.per_label_metrics]
    assert len(f1s) == 150

    row.get_by_role("link", name="Details of version v1").click()
    table = page.get_by_test_id("per-label-table")
    pager = page.get_by_role("navigation", name="Pages of Scores per label")
    status = pager.get_by_test_id("pager-status")
    expect(status).to_have_text("Rows 1–25 of 150")
    expect(table.locator("tbody tr:visible")).to_have_count(25)
    assert visible_scores(table, 3) == f1s[:25]
    expect(pager.get_by_role("button", name="Previous")).to_have_attribute("aria-disabled", "true")
    pager.get_by_role("button", name="Next").click()
    expect(status).to_have_text("Rows 26–50 of 150")
    assert visible_scores(table, 3) == f1s[25:50]

    # Sorting covers all 150 rows and starts again from the first page.
    sort = table.get_by_role("button", name="F1 score")
    header = page.get_by_role("columnheader", name="F1 score")
    sort.focus()
    page.keyboard.press(" ")
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(status).to_have_text("Rows 1–25 of 150")
    assert visible_scores(table, 3) == sorted(f1s)[:25]
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "descending")
    assert visible_scores(table, 3) == sorted(f1s, reverse=True)[:25]
    for _ in range(5):
        pager.get_by_role("button", name="Next").click()
    expect(status).to_have_text("Rows 126–150 of 150")
    expect(pager.get_by_role("button", name="Next")).to_have_attribute("aria-disabled", "true")
    assert visible_scores(table, 3) == sorted(f1s, reverse=True)[125:]
    expect(page.locator('[data-chart="confusion-matrix"] .main-svg').first).to_be_visible()
    version_url = page.url

    client.create_endpoint(
        EndpointName="clinc150-live", ModelArn=version.arn, DesiredInferenceUnits=1
    )
    texts = [line.split(",", 1)[1] for line in (DATA / "clinc150" / "test.csv").open()][:20]
    client.start_document_classification_job(
        JobName="clinc150-sample",
        DocumentClassifierArn=version.arn,
        InputDataConfig={
            "S3Uri": store(owner, "inbox/clinc.txt", "".join(texts).encode()),
            "InputFormat": "ONE_DOC_PER_LINE",
        },
        OutputDataConfig={"S3Uri": "s3://output/"},
        DataAccessRoleArn=role,
    )
    pages = [
        "/",
        "/models/classifiers/",
        "/models/classifiers/clinc150/",
        version_url,
        "/models/create-classifier/",
        "/inference/endpoints/",
        "/inference/endpoints/clinc150-live/",
        "/inference/jobs/",
        "/accounts/security-credentials/",
        "/accounts/members/",
    ]
    shots = {
        "/models/classifiers/": "classifier-list",
        "/models/classifiers/clinc150/": "model-details",
        "/inference/endpoints/": "endpoint-list",
        "/inference/endpoints/clinc150-live/": "endpoint-details",
        "/inference/jobs/": "job-list",
    }
    for size in LAPTOPS:
        page.set_viewport_size(size)
        for url in pages:
            page.goto(url)
            expect(page.locator("main h1")).to_be_visible()
            audit(page)  # axe, and no sideways scrolling at this width
            if size == LAPTOPS[0] and url in shots:
                shot(page, shots[url])
    page.goto(version_url)
    shot(page, "version-1366x768")
