"""Results a first-time user can read: the confusion matrix and the documents behind its cells,
the candidates the model search compared, the scores across versions, and unnamed versions."""

import csv
import io
import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from models_app.ml import metrics
from models_app.models import ModelKind, ModelStatus, ModelVersion
from models_app.services import serving
from tests import factories
from tests.browser.conftest import shot, unique_username
from tests.conftest import PASSWORD, REPO, run_queued_jobs
from tests.trained import role, trained
from webapp.accounts.services.accounts import user_signup

pytestmark = pytest.mark.browser

CLINC = REPO / "tests" / "data" / "clinc150"
# Twenty CLINC150 intents about money and cards: close enough to one another that a small
# model trained on 15 utterances each confuses some of them.
INTENTS = (
    "balance",
    "bill_balance",
    "bill_due",
    "pay_bill",
    "transfer",
    "transactions",
    "spending_history",
    "freeze_account",
    "report_fraud",
    "damaged_card",
    "replacement_card_duration",
    "new_card",
    "card_declined",
    "credit_limit",
    "credit_limit_change",
    "credit_score",
    "improve_credit_score",
    "apr",
    "interest_rate",
    "min_payment",
)
REPR = re.compile(r"\[\{'|\{'[a-z_]+': ")  # a Python list of dicts, or a dict, printed as is


def _user(page: Page):
    """A new account's owner, signed in on the page (landing on the classifiers list)."""
    user = user_signup(username=unique_username(), password=PASSWORD, account_name="Results")
    page.goto("/accounts/login/?next=" + reverse("models_app:classifier-list"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Custom classification")).to_be_visible()
    return user


def _slice(name: str, per_label: int) -> list[tuple[str, str]]:
    """The first `per_label` rows of each of INTENTS in a CLINC150 file, in the file's order."""
    taken: dict[str, int] = {}
    rows = []
    with open(CLINC / name, newline="", encoding="utf-8") as f:
        for label, text in csv.reader(f):
            if label in INTENTS and taken.get(label, 0) < per_label:
                taken[label] = taken.get(label, 0) + 1
                rows.append((label, text))
    assert set(taken) == set(INTENTS)
    return rows


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _train_twenty_labels(api, store, user) -> tuple[ModelVersion, dict[str, str]]:
    """A 20-label classifier trained for real on 300 short utterances, scored on 200 more."""
    test_rows = _slice("test.csv", 10)
    train = store(user, "twenty/train.csv", _csv(_slice("train.csv", 15)))
    test = store(user, "twenty/test.csv", _csv(test_rows))
    api(user).create_document_classifier(
        DocumentClassifierName="money-intents",
        VersionName="v1",
        DataAccessRoleArn=role(user),
        InputDataConfig={"S3Uri": train, "TestS3Uri": test},
        LanguageCode="en",
    )
    run_queued_jobs()
    version = ModelVersion.objects.get(model__name="money-intents", version_name="v1")
    assert version.status in (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING), (
        version.message
    )
    return version, {text: label for label, text in test_rows}


def _click_cell(page: Page, chart, n: int, row: int, col: int) -> None:
    chart.scroll_into_view_if_needed()
    box = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(
        box["x"] + (col + 0.5) * box["width"] / n, box["y"] + (row + 0.5) * box["height"] / n
    )
    _leave(page, chart)


def _leave(page: Page, chart) -> None:
    """Move the mouse off the chart and wait for its hover label to go. plotly throttles its
    hover events, so one handled just after the mouse left can draw the label again: then the
    mouse leaves once more."""
    label = chart.locator(".hoverlayer .hovertext")
    for _ in range(2):
        page.mouse.move(1, 1, steps=4)
        page.mouse.move(0, 0)
        try:
            expect(label).to_have_count(0, timeout=2000)
            return
        except AssertionError:
            pass
    page.mouse.move(0, 0)
    expect(label).to_have_count(0)


def _click_bar(page: Page, chart, *, trace: int, point: int) -> None:
    """Click the middle of a bar (plotly takes clicks on the plot area over the bars)."""
    chart.scroll_into_view_if_needed()
    box = chart.locator(".trace.bars").nth(trace).locator(".point").nth(point).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    _leave(page, chart)


def test_it_lists_the_test_documents_behind_a_confusion_matrix_cell(page: Page, api, store):
    """Twenty labels: every one named on its own row, counts in the cells, the chart as wide
    as the page; a cell lists the test documents with that true and predicted label."""
    user = _user(page)
    version, true_label_of = _train_twenty_labels(api, store, user)
    cm = version.evaluation["confusion_matrix"]
    labels, z = cm["labels"], cm["confusion_matrix"]
    assert len(labels) == 20

    page.goto(reverse("models_app:classifier-version-detail", args=["money-intents", version.pk]))
    chart = page.locator('[data-chart="confusion-matrix"]')
    expect(chart.locator(".main-svg").first).to_be_visible()
    # Every label named, once on each axis, in the matrix's order.
    expect(chart.locator(".ytick text")).to_have_text(labels)
    expect(chart.locator(".xtick text")).to_have_text(labels)
    # Full width, and a row per label tall enough to read.
    content = page.locator("main").bounding_box()
    box = chart.bounding_box()
    assert box["width"] > 0.9 * content["width"] - 60, (box, content)
    plot = chart.locator(".nsewdrag").first.bounding_box()
    assert plot["height"] / 20 >= 18, plot
    # The counts are written in the cells (zeros are left blank).
    drawn = [int(t) for t in chart.locator(".heatmaplayer text").all_text_contents() if t]
    assert sorted(drawn) == sorted(v for row in z for v in row if v)

    # The most confused pair: the largest cell off the diagonal.
    count, i, j = max((z[i][j], i, j) for i in range(20) for j in range(20) if i != j)
    assert count > 0
    _click_cell(page, chart, 20, i, j)
    listed = page.get_by_test_id("confusion-documents")
    expect(listed.get_by_role("heading")).to_have_text(
        f"True label \u201c{labels[i]}\u201d, predicted as \u201c{labels[j]}\u201d"
    )
    rows = listed.get_by_test_id("document-row")
    expect(rows).to_have_count(count)  # every misclassified document is kept at this size
    model = serving.get(version)
    texts = []
    for r in range(count):
        cells = rows.nth(r).get_by_role("cell").all_text_contents()
        assert cells[:2] == [labels[i], labels[j]]
        assert 0 < float(cells[2]) <= 1
        texts.append(cells[3])
    # Really those documents: the test file gives each text that true label, and the model
    # predicts the other label for it.
    assert [true_label_of[t] for t in texts] == [labels[i]] * count
    assert [c["Classes"][0]["Name"] for c in model.classify(texts)] == [labels[j]] * count

    # The pairs table is sorted, most documents first, and lists the same documents.
    pairs = page.get_by_test_id("pair-row")
    counts = [int(pairs.nth(k).get_by_role("cell").nth(2).inner_text()) for k in range(3)]
    assert counts == sorted(counts, reverse=True) and counts[0] == count
    shot(page, "confusion-matrix")
    pairs.first.get_by_role("button", name=re.compile("^List the documents")).click()
    expect(listed).to_be_focused()
    expect(rows).to_have_count(count)

    # A correct cell lists the few correct documents a version keeps.
    _click_cell(page, chart, 20, i, i)
    expect(listed.get_by_role("heading")).to_have_text(
        f"True label \u201c{labels[i]}\u201d, predicted as \u201c{labels[i]}\u201d"
    )
    expect(rows).to_have_count(min(z[i][i], metrics.CORRECT_PER_LABEL))

    # A version trained before documents were kept says so instead of failing.
    older = factories.version(
        user,
        name="money-intents",
        version_name="v0",
        metrics=version.metrics,
        evaluation={"confusion_matrix": cm},
    )
    page.goto(reverse("models_app:classifier-version-detail", args=["money-intents", older.pk]))
    expect(page.get_by_test_id("documents-note")).to_have_text(
        "Documents are listed for versions trained from now on."
    )
    _click_cell(page, page.locator('[data-chart="confusion-matrix"]'), 20, i, j)
    expect(listed).to_contain_text(f"{count} test documents. Documents are listed for versions")
    shot(page, "older-version")


def test_a_bar_of_a_multi_label_version_lists_its_false_positives(page: Page):
    """Multi-label: the bars per label; a label's "extra" bar lists the documents that got the
    label without having it."""
    user = _user(page)
    gold = [["comedy"], ["drama"], ["comedy", "drama"], ["drama"], ["comedy"]]
    predicted = [["comedy"], ["comedy", "drama"], ["comedy"], ["comedy"], ["comedy"]]
    texts = [f"Film number {k}: a story told in pictures." for k in range(5)]
    scores = [[("comedy", 0.9), ("drama", 0.4)] for _ in texts]
    labels = ["comedy", "drama"]
    version = factories.version(
        user,
        name="films",
        version_name="v1",
        mode="MULTI_LABEL",
        metrics={"Accuracy": 0.7, "F1Score": 0.7},
        evaluation={
            "confusion_matrix": metrics.confusion_matrix_json(
                gold, predicted, mode="MULTI_LABEL", labels=labels
            ),
            "test_documents": metrics.evaluation_documents(
                texts, gold, predicted, scores, mode="MULTI_LABEL"
            ),
        },
    )
    page.goto(reverse("models_app:classifier-version-detail", args=["films", version.pk]))
    bars = page.locator('[data-chart="label-counts"]')
    expect(bars.locator(".main-svg").first).to_be_visible()
    # comedy: documents 1 and 3 got it without having it.
    _click_bar(page, bars, trace=1, point=0)
    listed = page.get_by_test_id("confusion-documents")
    expect(listed.get_by_role("heading")).to_have_text(
        "Label \u201ccomedy\u201d given but wrong (false positives)"
    )
    rows = listed.get_by_test_id("document-row")
    expect(rows.locator("td.doc-text")).to_have_text([texts[1], texts[3]])
    expect(rows.first.get_by_role("cell").nth(1)).to_have_text("comedy, drama")
    # drama: missed on documents 2 and 3.
    _click_bar(page, bars, trace=2, point=1)
    expect(rows.locator("td.doc-text")).to_have_text([texts[2], texts[3]])
    # Without a pointer: pick the label and the kind of documents, then the button.
    page.get_by_label("Label", exact=True).select_option(label="comedy")
    page.get_by_label("Documents", exact=True).select_option(label="Correct (true positive)")
    page.get_by_role("button", name="List documents").click()
    expect(listed).to_be_focused()
    expect(listed.get_by_role("heading")).to_have_text("Label \u201ccomedy\u201d correctly given")
    expect(rows.locator("td.doc-text")).to_have_text([texts[0], texts[2], texts[4]])
    shot(page, "label-bars")


def test_the_model_search_reads_as_a_table_of_candidates(page: Page, api, store):
    """The candidates the search compared, one row each, the chosen one marked, and no
    Python repr anywhere on the page, even for keys the page does not know."""
    user = _user(page)
    version = trained(
        ModelKind.CLASSIFIER, api(user), user, store, name="intents", version_name="v1"
    )
    params = version.training_parameters
    page.goto(reverse("models_app:classifier-version-detail", args=["intents", version.pk]))
    table = page.get_by_test_id("candidates-table")
    expect(table).to_be_visible()
    headers = table.locator("thead th").all_text_contents()
    assert headers[:3] == ["Candidate", "Features", "Hyperparameters"]
    assert re.match(r"^Validation (accuracy|micro-F1)$", headers[3])
    assert headers[4:7] == ["Work", "Seconds", "Outcome"]
    rows = table.get_by_test_id("candidate-row")
    expect(rows).to_have_count(len(params["candidates"]))
    chosen = rows.filter(has=page.locator(".badge", has_text="Chosen"))
    expect(chosen).to_have_count(1)
    expect(chosen.get_by_role("cell").nth(1)).to_have_text(params["features"])
    expect(chosen.get_by_role("cell").nth(0)).to_contain_text(params["model"])
    for key, value in params["hyperparameters"].items():
        expect(chosen.get_by_role("cell").nth(2)).to_contain_text(f"{key} = {value:g}")
    settings = page.get_by_test_id("training-parameters")
    expect(settings.locator("dt").first).to_have_text("Features")
    expect(settings).to_contain_text("Softmax temperature")
    assert not REPR.search(page.locator("main").inner_text())
    shot(page, "candidates-table")

    # A search result with keys this page was not written for still reads as text.
    odd = factories.version(
        user,
        name="intents",
        version_name="v2",
        metrics=version.metrics,
        training_parameters={
            "features": "word",
            "model": "ComplementNB",
            "hyperparameters": {"alpha": 0.3},
            "candidates": [
                {
                    "candidate": "word + ComplementNB(alpha=0.3)",
                    "features": "word",
                    "model": "ComplementNB",
                    "alpha": 0.3,
                    "validation_accuracy": 0.91234,
                    "seconds": 0.4,
                    "work": 120000,
                },
                {"candidate": "word + LinearSVC(C=1)", "skipped": "work budget"},
                {"features": "word+char", "skipped": "time budget", "cut": {"by": "safety limit"}},
            ],
        },
    )
    page.goto(reverse("models_app:classifier-version-detail", args=["intents", odd.pk]))
    rows = page.get_by_test_id("candidate-row")
    expect(rows.nth(0).get_by_role("cell")).to_have_text(
        [
            "word + ComplementNB(alpha=0.3)",
            "word",
            "alpha = 0.3",
            "0.9123",
            "120,000",
            "0.4",
            "Chosen",
            "—",
        ]
    )
    expect(rows.nth(1).get_by_role("cell").nth(6)).to_have_text("Skipped: work budget")
    expect(rows.nth(2).get_by_role("cell").nth(0)).to_have_text("word+char features")
    expect(rows.nth(2).get_by_role("cell").nth(7)).to_have_text("cut: by safety limit")
    assert not REPR.search(page.locator("main").inner_text())
    shot(page, "unknown-keys")


def _scored(user, name, version_name, f1):
    return factories.version(
        user,
        name=name,
        version_name=version_name,
        metrics={"Accuracy": f1 + 0.02, "F1Score": f1, "MicroF1Score": f1 + 0.01},
    )


def test_scores_across_versions_follow_the_data_and_mark_the_best(page: Page):
    user = _user(page)
    for version_name, f1 in (("v1", 0.81), ("v2", 0.86), ("v3", 0.84)):
        _scored(user, "news", version_name, f1)
    page.goto(reverse("models_app:classifier-detail", args=["news"]))
    chart = page.locator('[data-chart="metrics-trend"]')
    expect(chart.locator(".main-svg").first).to_be_visible()
    low, high = page.evaluate(
        "document.querySelector('[data-chart=\"metrics-trend\"]')._fullLayout.yaxis.range"
    )
    assert 0.7 < low < 0.81 and 0.88 < high < 0.95, (low, high)  # the data, a little padding
    expect(chart.locator(".legendtext", has_text="Best")).to_have_text(
        "Best: v2, F1 score (macro) 0.8600"
    )
    expect(chart.locator(".annotation-text")).to_have_text("Best")
    # The same scores as a table, for those who do not read charts.
    view = page.get_by_test_id("trend-table-view")
    expect(view.get_by_test_id("trend-table")).to_be_hidden()
    view.get_by_text("Show the scores as a table").click()
    rows = view.get_by_test_id("trend-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("v2 (best)")
    expect(rows.nth(1).get_by_role("cell").nth(1)).to_have_text("0.8600")
    shot(page, "chart-and-table")

    # One version: a table of its scores, no chart of a single stack of dots.
    _scored(user, "weather", "first", 0.9)
    page.goto(reverse("models_app:classifier-detail", args=["weather"]))
    single = page.get_by_test_id("single-version-scores")
    expect(single.get_by_role("row").filter(has_text="F1 score (macro)")).to_contain_text("0.9000")
    expect(page.locator('[data-chart="metrics-trend"]')).to_have_count(0)
    shot(page, "one-version")


def test_an_unnamed_version_is_named_by_when_it_was_created(page: Page):
    user = _user(page)
    unnamed = _scored(user, "news", "", 0.8)
    child = factories.version(user, name="news", version_name="v2", parent=unnamed)
    created = unnamed.submit_time.strftime("%Y-%m-%d %H:%M")
    label = f"Unnamed version (created {created})"
    assert unnamed.label == label and child.label == "v2"

    page.goto(reverse("models_app:classifier-detail", args=["news"]))
    row = page.get_by_test_id("version-row").filter(has_text="Unnamed")
    expect(row.get_by_role("link", name=label, exact=True)).to_be_visible()
    shot(page, "versions-table")
    row.get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^news · unnamed version \(created {created}\)")
    )
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text(label)
    shot(page, "version-page")

    page.goto(reverse("models_app:classifier-version-detail", args=["news", child.pk]))
    page.get_by_role("link", name=label, exact=True).click()  # "Created from"
    expect(page).to_have_url(re.compile(rf"/{unnamed.pk}/$"))


def test_a_large_confusion_matrix_scrolls_in_its_own_region(page: Page):
    """35 labels: the heatmap keeps a readable row per label and scrolls inside its region
    (the page itself never scrolls sideways), with the pairs table below it."""
    user = _user(page)
    labels = [f"intent_{k:02d}" for k in range(35)]
    z = [[10 if i == j else (3 if j == (i + 1) % 35 else 0) for j in range(35)] for i in range(35)]
    version = factories.version(
        user,
        name="many",
        version_name="v1",
        metrics={"Accuracy": 0.77, "F1Score": 0.77},
        evaluation={"confusion_matrix": {"labels": labels, "confusion_matrix": z}},
    )
    page.goto(reverse("models_app:classifier-version-detail", args=["many", version.pk]))
    region = page.get_by_role("region", name=re.compile("^Confusion matrix of 35 labels"))
    chart = region.locator('[data-chart="confusion-matrix"]')
    expect(chart.locator(".ytick text")).to_have_count(35)
    plot = chart.locator(".nsewdrag").first.bounding_box()
    assert plot["height"] / 35 >= 18
    sizes = region.evaluate("r => [r.scrollHeight, r.clientHeight]")
    assert sizes[0] > sizes[1]  # it scrolls, inside its region
    expect(page.get_by_test_id("pair-row")).to_have_count(25)
    page.get_by_test_id("pair-row").first.get_by_role("button").click()
    expect(page.get_by_test_id("confusion-documents")).to_contain_text(
        "3 test documents. Documents are listed for versions trained from now on."
    )
    shot(page, "large-matrix")
