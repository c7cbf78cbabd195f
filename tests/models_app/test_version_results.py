"""The version and model pages' results as rows: confusion pairs, the model search, settings,
the documents behind the confusion matrix, and version labels."""

import re

from django.urls import reverse

from models_app import presenters
from models_app.ml import metrics
from tests import factories
from tests.models_app.pages import json_block, text

N_LABELS = 35  # above the page's 30, where the heatmap scrolls beside the pairs table


def _big_matrix() -> tuple[list[str], list[list[int]]]:
    labels = [f"intent_{k:02d}" for k in range(N_LABELS)]
    z = [[0] * N_LABELS for _ in labels]
    for i in range(N_LABELS):
        z[i][i] = 10
        z[i][(i + 1) % N_LABELS] = i % 4  # 0, 1, 2 or 3 documents confused with the next
    z[7][20] = 9  # the most confused pair
    return labels, z


def test_it_sorts_the_most_confused_pairs_most_documents_first():
    labels, z = _big_matrix()
    pairs = presenters.confusion_pairs(labels, z, most=25)
    assert len(pairs) == 25
    assert (pairs[0]["true"], pairs[0]["predicted"], pairs[0]["count"]) == (
        "intent_07",
        "intent_20",
        9,
    )
    assert pairs[0]["share"] == 9 / (10 + 3 + 9)
    counts = [p["count"] for p in pairs]
    assert counts == sorted(counts, reverse=True)
    # Ties keep the matrix order, so the table does not shuffle between page loads.
    threes = [p["row"] for p in pairs if p["count"] == 3]
    assert threes == sorted(threes)
    assert all(p["row"] != p["col"] for p in pairs)
    assert presenters.confusion_pairs(["a", "b"], [[3, 0], [0, 4]]) == []


def test_the_search_reads_as_rows_and_unknown_keys_as_notes():
    params = {
        "features": "word+char",
        "model": "LinearSVC",
        "hyperparameters": {"C": 1.0},
        "candidates": [
            {"features": "large-word", "skipped": "time budget"},
            {
                "candidate": "word+char + LinearSVC(C=0.5)",
                "features": "word+char",
                "model": "LinearSVC",
                "C": 0.5,
                "validation_accuracy": 0.8,
                "seconds": 1.5,
            },
            {
                "candidate": "word+char + LinearSVC(C=1)",
                "features": "word+char",
                "model": "LinearSVC",
                "C": 1.0,
                "validation_accuracy": 0.9,
                "seconds": 2.25,
                "work": 1234567,
                "limits": ["safety", {"seconds": 30}],
            },
        ],
    }
    table = presenters.candidate_rows(params)
    rows = table["rows"]
    assert table["metric"] == "accuracy" and table["tried"] == 2 and table["skipped"] == 1
    assert [r["outcome"] for r in rows] == ["Skipped: time budget", "Tried", "Chosen"]
    assert rows[0]["candidate"] == "large-word features" and rows[0]["score"] == "—"
    assert rows[2]["hyperparameters"] == "C = 1" and rows[2]["score"] == "0.9000"
    assert rows[2]["work"] == "1,234,567"
    assert rows[2]["notes"] == "limits: safety; seconds 30"
    for row in rows:
        for value in row.values():
            assert not re.search(r"[\[{]'", str(value)), row
    assert presenters.candidate_rows({"model": "LinearSVC"}) is None
    assert presenters.candidate_rows(None) is None


def test_settings_read_as_words_and_keep_the_names_they_do_not_know():
    rows = presenters.parameter_rows(
        {
            "candidates": [{"candidate": "x"}],
            "model": "LinearSVC",
            "features": "word",
            "hyperparameters": {"C": 0.25},
            "feature_blocks": [{"kind": "word", "min_df": 2}, {"kind": "char", "weight": 0.5}],
            "at_least_one": True,
            "ngram_range": [1, 2],
        }
    )
    assert [(r["name"], r["value"], r["code"]) for r in rows] == [
        ("Features", "word", False),
        ("Model", "LinearSVC", False),
        ("Hyperparameters", "C = 0.25", False),
        ("At least one label per document", "yes", False),
        ("Feature blocks", "word (min df 2); char (weight 0.5)", False),
        ("ngram_range", "1, 2", True),
    ]


def test_it_keeps_every_wrong_document_up_to_a_cap_and_a_few_right_ones():
    labels = ["a", "b", "c"]
    gold = ["a"] * 10 + ["b"] * 10 + ["c"] * 4
    predicted = ["a"] * 6 + ["b"] * 4 + ["b"] * 10 + ["a"] * 4
    texts = [f"document {k} " + "word " * 100 for k in range(len(gold))]
    scores = [[(p, 0.7), *[(lab, 0.1) for lab in labels if lab != p]] for p in predicted]
    kept = metrics.evaluation_documents(texts, gold, predicted, scores, mode="MULTI_CLASS")
    docs = kept["documents"]
    wrong = [d for d in docs if d["true"] != d["predicted"]]
    assert len(wrong) == kept["misclassified"] == kept["misclassified_listed"] == 8
    assert sum(1 for d in docs if d["true"] == d["predicted"] == "a") == 3
    assert sum(1 for d in docs if d["true"] == d["predicted"] == "b") == 3
    assert all(len(d["text"]) <= metrics.DOCUMENT_CHARS for d in docs)
    assert docs[0]["text"].endswith("\u2026") and docs[0]["score"] == 0.7

    # Over the cap, each confusion cell still shows some of its documents.
    capped = metrics.evaluation_documents(
        texts, gold, predicted, scores, mode="MULTI_CLASS", max_wrong=4
    )
    cells = {
        (d["true"], d["predicted"]) for d in capped["documents"] if d["true"] != d["predicted"]
    }
    assert cells == {("a", "b"), ("c", "a")}
    assert capped["misclassified"] == 8 and capped["misclassified_listed"] == 4


def test_the_correct_documents_kept_are_bounded_however_many_labels():
    labels = [f"label_{k:03d}" for k in range(50)]
    gold = [lab for lab in labels for _ in range(5)]
    scores = [[(lab, 0.9)] for lab in gold]
    kept = metrics.evaluation_documents(
        ["text"] * len(gold), gold, gold, scores, mode="MULTI_CLASS", max_correct=20
    )
    shown = [d["true"] for d in kept["documents"]]
    assert len(shown) == 20 and len(set(shown)) == 20  # one each of 20 labels, not 4 of 5
    assert kept["misclassified"] == 0


def test_a_large_confusion_matrix_scrolls_beside_its_pairs_table(client, owner, outsider):
    labels, z = _big_matrix()
    version = factories.version(
        owner,
        name="many",
        metrics={"Accuracy": 0.8, "F1Score": 0.8},
        evaluation={"confusion_matrix": {"labels": labels, "confusion_matrix": z}},
    )
    client.force_login(owner)
    url = reverse("models_app:classifier-version-detail", args=["many", version.pk])
    body = text(client.get(url))
    assert 'class="chart-scroll" role="region" tabindex="0"' in body
    assert len(re.findall(r'data-testid="pair-row"', body)) == 25
    first = re.search(r'data-testid="pair-row">(.*?)</tr>', body, re.S).group(1)
    assert "intent_07" in first and "intent_20" in first and ">9<" in first
    assert json_block(body, "confusion-docs") == {
        "available": False,
        "note": "Documents are listed for versions trained from now on.",
    }
    assert "Documents are listed for versions trained from now on." in body

    # Another account sees nothing of it.
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_an_imported_copy_takes_the_scores_but_not_the_test_documents(owner, outsider):
    from models_app.services import model_copy, resource_policies
    from webapp.core import policies

    evaluation = {
        "confusion_matrix": {"labels": ["a", "b"], "confusion_matrix": [[2, 1], [0, 3]]},
        "test_documents": {"documents": [{"text": "a private sentence", "true": "a"}]},
    }
    source = factories.version(
        owner, name="news", version_name="v1", metrics={"F1Score": 0.8}, evaluation=evaluation
    )
    theirs = outsider.membership.account
    resource_policies.policy_put(
        account=owner.membership.account,
        user=owner,
        resource_arn=source.arn,
        policy_text=policies.standard_policy(
            principals=[theirs.account_id], resource_arn=source.arn
        ),
    )
    copy = model_copy.version_import(
        account=theirs, user=outsider, source_model_arn=source.arn, model_name="mine"
    )
    assert copy.evaluation == {"confusion_matrix": evaluation["confusion_matrix"]}
