"""Evaluation metrics with Amazon Comprehend's definitions for custom classifiers.

* Accuracy: labels in the test documents that were predicted correctly, divided by all
  labels in the test documents. Multi-class: the fraction of documents whose label is
  right. Multi-label: sum over documents of |gold & predicted| / sum of |gold| (not
  scikit-learn's subset accuracy).
* Precision, Recall, F1Score: macro averages (unweighted mean over labels) of the
  per-label scores, over the labels that occur in the test data (gold or predicted).
* MicroPrecision, MicroRecall, MicroF1Score: from the counts summed over all labels.
* HammingLoss: wrongly predicted label slots / (documents x labels). Multi-class: the
  fraction of documents with a wrong label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MULTI_CLASS = "MULTI_CLASS"
MULTI_LABEL = "MULTI_LABEL"


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _as_sets(rows: Sequence, mode: str) -> list[set]:
    if mode == MULTI_CLASS:
        return [{row} for row in rows]
    return [set(row) for row in rows]


def _check(gold: Sequence, predicted: Sequence, mode: str) -> None:
    if mode not in (MULTI_CLASS, MULTI_LABEL):
        raise ValueError(f"unknown mode {mode!r}")
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have one entry per document")


def _label_counts(gold_sets, pred_sets, labels: Sequence[str]):
    """True positives, false positives and false negatives per label, in label order."""
    index = {label: i for i, label in enumerate(labels)}
    tp = np.zeros(len(labels), dtype=np.int64)
    fp = np.zeros(len(labels), dtype=np.int64)
    fn = np.zeros(len(labels), dtype=np.int64)
    for g, p in zip(gold_sets, pred_sets, strict=True):
        for lab in g & p:
            tp[index[lab]] += 1
        for lab in p - g:
            fp[index[lab]] += 1
        for lab in g - p:
            fn[index[lab]] += 1
    return tp, fp, fn


def _all_labels(labels: Sequence[str], gold_sets, pred_sets) -> list[str]:
    """The given labels, plus any unexpected ones found in the data (appended, sorted)."""
    known = list(labels)
    seen = set(known)
    extra = sorted({lab for s in (*gold_sets, *pred_sets) for lab in s} - seen)
    return known + extra


def classification_metrics(
    gold: Sequence, predicted: Sequence, *, mode: str, labels: Sequence[str]
) -> dict:
    """Comprehend's EvaluationMetrics fields plus per-label precision/recall/F1/support."""
    _check(gold, predicted, mode)
    gold_sets, pred_sets = _as_sets(gold, mode), _as_sets(predicted, mode)
    labels = _all_labels(labels, gold_sets, pred_sets)
    tp, fp, fn = _label_counts(gold_sets, pred_sets, labels)
    support = tp + fn
    precision = [_ratio(t, t + f) for t, f in zip(tp, fp, strict=True)]
    recall = [_ratio(t, s) for t, s in zip(tp, support, strict=True)]
    f1 = [_f1(p, r) for p, r in zip(precision, recall, strict=True)]
    # Labels that never occur in the test data (neither gold nor predicted) say nothing
    # about the model, so the macro averages leave them out.
    present = [i for i in range(len(labels)) if support[i] or fp[i]]
    n_docs = len(gold_sets)
    total_tp, total_fp, total_fn = int(tp.sum()), int(fp.sum()), int(fn.sum())
    micro_p = _ratio(total_tp, total_tp + total_fp)
    micro_r = _ratio(total_tp, total_tp + total_fn)
    if mode == MULTI_CLASS:
        accuracy = _ratio(sum(g == p for g, p in zip(gold_sets, pred_sets, strict=True)), n_docs)
        hamming = 1.0 - accuracy if n_docs else 0.0
    else:
        accuracy = _ratio(total_tp, total_tp + total_fn)
        hamming = _ratio(total_fp + total_fn, n_docs * len(labels))
    return {
        "Accuracy": accuracy,
        "Precision": float(np.mean([precision[i] for i in present])) if present else 0.0,
        "Recall": float(np.mean([recall[i] for i in present])) if present else 0.0,
        "F1Score": float(np.mean([f1[i] for i in present])) if present else 0.0,
        "MicroPrecision": micro_p,
        "MicroRecall": micro_r,
        "MicroF1Score": _f1(micro_p, micro_r),
        "HammingLoss": hamming,
        "NumberOfLabels": len(labels),
        "NumberOfTrainedDocuments": None,
        "NumberOfTestDocuments": n_docs,
        "per_label": [
            {
                "label": lab,
                "precision": precision[i],
                "recall": recall[i],
                "f1": f1[i],
                "support": int(support[i]),
            }
            for i, lab in enumerate(labels)
        ],
    }


def confusion_matrix_json(
    gold: Sequence, predicted: Sequence, *, mode: str, labels: Sequence[str]
) -> dict:
    """Comprehend's confusion_matrix.json.

    Multi-class: rows are actual labels, columns predicted labels, over the labels that
    occur in the test data ("labels"); "all_labels" lists every label of the model.
    Multi-label: one 2x2 matrix per label, [[TN, FP], [FN, TP]] (rows: label actually
    absent/present; columns: predicted absent/present).
    """
    _check(gold, predicted, mode)
    gold_sets, pred_sets = _as_sets(gold, mode), _as_sets(predicted, mode)
    all_labels = _all_labels(labels, gold_sets, pred_sets)
    seen = {lab for s in (*gold_sets, *pred_sets) for lab in s}
    present = [lab for lab in all_labels if lab in seen]
    if mode == MULTI_CLASS:
        index = {lab: i for i, lab in enumerate(present)}
        matrix = np.zeros((len(present), len(present)), dtype=np.int64)
        for g, p in zip(gold, predicted, strict=True):
            matrix[index[g], index[p]] += 1
        return {
            "type": "multi_class",
            "confusion_matrix": matrix.tolist(),
            "labels": present,
            "all_labels": all_labels,
        }
    tp, fp, fn = _label_counts(gold_sets, pred_sets, present)
    n_docs = len(gold_sets)
    matrices = [
        [[int(n_docs - t - f - n), int(f)], [int(n), int(t)]]
        for t, f, n in zip(tp, fp, fn, strict=True)
    ]
    return {
        "type": "multi_label",
        "confusion_matrix": matrices,
        "labels": present,
        "all_labels": all_labels,
    }


def _score_matrix(scores, labels: Sequence[str]) -> np.ndarray:
    """Accept a documents x labels array or predict_scores' [(label, score), ...] lists."""
    if isinstance(scores, np.ndarray):
        if scores.ndim != 2 or scores.shape[1] != len(labels):
            raise ValueError("a score array must be documents x labels")
        return scores.astype(np.float64)
    index = {lab: i for i, lab in enumerate(labels)}
    out = np.zeros((len(scores), len(labels)))
    for row, pairs in zip(out, scores, strict=True):
        for lab, score in pairs:
            if lab in index:
                row[index[lab]] = score
    return out


def precision_recall_curves(
    gold: Sequence, scores, *, labels: Sequence[str], mode: str, max_points: int = 50
) -> dict[str, dict[str, list[float]]]:
    """Per-label precision/recall at score thresholds, downsampled to max_points for charts.

    Labels with no positive test document get empty lists. Points run from the lowest
    threshold (highest recall) to the highest.
    """
    if mode not in (MULTI_CLASS, MULTI_LABEL):
        raise ValueError(f"unknown mode {mode!r}")
    S = _score_matrix(scores, labels)
    gold_sets = _as_sets(gold, mode)
    curves = {}
    for k, label in enumerate(labels):
        truth = np.fromiter((label in g for g in gold_sets), dtype=bool, count=len(gold_sets))
        curves[label] = _curve(truth, S[:, k], max_points)
    return curves


def _curve(truth: np.ndarray, score: np.ndarray, max_points: int) -> dict[str, list[float]]:
    n_pos = int(truth.sum())
    if n_pos == 0 or len(score) == 0:
        return {"precision": [], "recall": [], "thresholds": []}
    order = np.argsort(-score, kind="stable")
    s, t = score[order], truth[order]
    tp = np.cumsum(t)
    fp = np.cumsum(~t)
    # One point per distinct score: the last index of each run of equal scores.
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / n_pos
    thresholds = s[last]
    # Ascending thresholds, like scikit-learn's precision_recall_curve.
    precision, recall, thresholds = precision[::-1], recall[::-1], thresholds[::-1]
    if len(thresholds) > max_points:
        keep = np.unique(np.linspace(0, len(thresholds) - 1, max_points).round().astype(int))
        precision, recall, thresholds = precision[keep], recall[keep], thresholds[keep]
    return {
        "precision": [round(float(v), 5) for v in precision],
        "recall": [round(float(v), 5) for v in recall],
        "thresholds": [round(float(v), 6) for v in thresholds],
    }


# The test documents a version page lists under its confusion matrix: every misclassified
# document up to a cap, plus a few correct ones per label, each text cut short, so that the
# evaluation stays small however large the test set is.
MAX_WRONG_DOCUMENTS = 400
CORRECT_PER_LABEL = 3
MAX_CORRECT_DOCUMENTS = 300  # with thousands of labels, a few per label would still be many
DOCUMENT_CHARS = 300


def _cut(text: str, chars: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "\u2026"


def _round_robin(groups: dict, most: int) -> list[int]:
    """Up to `most` document indices, taken in turn from each group so every group shows."""
    queues = [list(docs) for docs in groups.values() if docs]
    picked, seen = [], set()
    while queues and len(picked) < most:
        for queue in queues:
            while queue and queue[0] in seen:
                queue.pop(0)
            if queue and len(picked) < most:
                seen.add(queue[0])
                picked.append(queue.pop(0))
        queues = [q for q in queues if q]
    return picked


def evaluation_documents(
    texts: Sequence[str],
    gold: Sequence,
    predicted: Sequence,
    scores,
    *,
    mode: str,
    max_wrong: int = MAX_WRONG_DOCUMENTS,
    correct_per_label: int = CORRECT_PER_LABEL,
    max_correct: int = MAX_CORRECT_DOCUMENTS,
    chars: int = DOCUMENT_CHARS,
) -> dict:
    """Test documents with their true and predicted labels and scores, bounded for a page.

    Multi-class: "true" and "predicted" are labels and "score" is the predicted label's score.
    Multi-label: both are sorted lists and "scores" holds the score of each label named in
    either. Misclassified documents are kept first (taken in turn from each confusion cell, or
    each label's false positives and negatives, when there are more than `max_wrong`); then up
    to `correct_per_label` correct documents per label, `max_correct` in all. Documents keep
    their test-set order.
    """
    _check(gold, predicted, mode)
    if len(scores) != len(gold) or len(texts) != len(gold):
        raise ValueError("texts, scores and labels must have one entry per document")
    score_of = [dict(pairs) for pairs in scores]
    wrong: dict = {}
    right: dict = {}
    if mode == MULTI_CLASS:
        for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
            (right if g == p else wrong).setdefault((g, p), []).append(i)
    else:
        for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
            g, p = set(g), set(p)
            for lab in sorted(p - g):
                wrong.setdefault(("fp", lab), []).append(i)
            for lab in sorted(g - p):
                wrong.setdefault(("fn", lab), []).append(i)
            if g == p:
                for lab in sorted(g):
                    right.setdefault(lab, []).append(i)
    n_wrong = len({i for docs in wrong.values() for i in docs})
    keep = set(_round_robin(wrong, max_wrong))
    few = {
        lab: [i for i in docs if i not in keep][:correct_per_label] for lab, docs in right.items()
    }
    keep.update(_round_robin(few, max_correct))
    documents = []
    for i in sorted(keep):
        doc = {"text": _cut(texts[i], chars)}
        if mode == MULTI_CLASS:
            doc.update(
                true=gold[i],
                predicted=predicted[i],
                score=round(float(score_of[i].get(predicted[i], 0.0)), 4),
            )
        else:
            named = sorted(set(gold[i]) | set(predicted[i]))
            doc.update(
                true=sorted(gold[i]),
                predicted=sorted(predicted[i]),
                scores={lab: round(float(score_of[i].get(lab, 0.0)), 4) for lab in named},
            )
        documents.append(doc)
    return {
        "documents": documents,
        "misclassified": n_wrong,
        "misclassified_listed": sum(1 for i in keep if _is_wrong(gold[i], predicted[i], mode)),
        "correct_per_label": correct_per_label,
        "text_chars": chars,
    }


def _is_wrong(gold, predicted, mode: str) -> bool:
    return gold != predicted if mode == MULTI_CLASS else set(gold) != set(predicted)
