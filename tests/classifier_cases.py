"""Classifier training inputs and the outcome each must get, for the API and console tests.

BAD_FILES and BAD_MULTI_LABEL are the classifier files that tests/bad_inputs.py writes, with
the words their outcome must contain. RULES are the training data rules of
Comprehend: each builds a small file that breaks one rule (the service limits are lowered
for the test, as a million documents would not fit a test), the status the version must end
in, and the words its message must contain: the label, the limit, and the line for files.
"""

from dataclasses import dataclass, field

MC, ML = "MULTI_CLASS", "MULTI_LABEL"

BAD_FILES = {
    "classifier-missing-text.csv": ("IN_ERROR", ["line 42"]),
    "classifier-empty-text.csv": ("IN_ERROR", ["line 10"]),
    "classifier-three-columns.csv": ("IN_ERROR", ["line 100"]),
    "classifier-unclosed-quote.csv": ("IN_ERROR", ["line 200"]),
    "classifier-too-few-per-label.csv": ("IN_ERROR", ["lonely_label", "10"]),
    "classifier-one-label.csv": ("IN_ERROR", ["two labels"]),
    "classifier-empty.csv": ("IN_ERROR", ["no documents"]),
    "classifier-latin1.csv": ("IN_ERROR", ["line 6"]),
    "classifier-binary.csv": ("IN_ERROR", ["CSV"]),
    "classifier-header-row.csv": (None, ["line 1"]),  # an error or a warning, naming line 1
    "classifier-bom-crlf.csv": ("TRAINED", []),
    "classifier-ok-3-labels.csv": ("TRAINED", []),
    "classifier-huge-document.csv": (None, []),  # trains, or refuses naming line 301
}
BAD_MULTI_LABEL = {
    "multilabel-empty-label.csv": ("IN_ERROR", ["line 1", "empty label"]),
    "multilabel-bad-delimiter.csv": ("TRAINED_WITH_WARNING", [";"]),
}
FINAL = ("IN_ERROR", "TRAINED", "TRAINED_WITH_WARNING")


def bad_file_mode(name: str) -> str:
    return ML if name.startswith("multilabel") else MC


def check_bad_file_outcome(name: str, status: str, message: str) -> None:
    """Assert that a bad-inputs file ended as expected above."""
    expected, words = {**BAD_FILES, **BAD_MULTI_LABEL}[name]
    if expected is None:
        assert status in FINAL, (name, status)
        if status == "IN_ERROR" or name == "classifier-header-row.csv":
            assert all(w.lower() in message.lower() for w in words), (name, message)
        if name == "classifier-huge-document.csv" and status == "IN_ERROR":
            assert "line 301" in message, message
    else:
        assert status == expected, (name, status, message)
        assert all(w.lower() in message.lower() for w in words), (name, message)
    if status == "IN_ERROR":
        assert "Traceback" not in message, message
        if any("line" in w for w in words):  # a message about a line names its file too
            assert name.split(".")[0] in message, (name, message)


VOCABULARY = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()


def csv_rows(counts: dict[str, int], mode: str = MC) -> list[str]:
    """Rows of label,text: counts[label] documents of each label, in turn, with distinct
    texts. Multi-label rows also carry the label "common"."""
    rows, left = [], dict(counts)
    i = 0
    while any(left.values()):
        for label, n in left.items():
            if n:
                words = " ".join(VOCABULARY[(i + k) % len(VOCABULARY)] for k in range(4))
                labels = label if mode == MC else f"{label}|common"
                rows.append(f"{labels},{label} {words} {i}")
                left[label] -= 1
                i += 1
    return rows


def csv_bytes(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


@dataclass
class Rule:
    mode: str
    train: bytes
    status: str
    words: list[str]
    test: bytes | None = None
    limits: dict = field(default_factory=dict)  # models_app.ml.formats constants to lower


_TEST_ROWS = csv_rows({"sports": 3, "politics": 3}) + ["weather,rain sun cloud"]
RULES = {
    "fewer-than-50-documents-of-a-label": Rule(
        MC,
        csv_bytes(csv_rows({"sports": 50, "politics": 50, "rare": 12})),
        "TRAINED_WITH_WARNING",
        ['"rare" (12)', "fewer than 50"],
    ),
    "fewer-than-10-documents-of-a-label": Rule(
        MC,
        csv_bytes(csv_rows({"sports": 20, "politics": 20, "rare": 4})),
        "IN_ERROR",
        ['"rare" (4)', "at least 10"],
    ),
    "multi-label-rare-labels-are-kept": Rule(
        ML,
        csv_bytes(csv_rows({"sports": 20, "politics": 20, "rare": 4}, ML)),
        "TRAINED_WITH_WARNING",
        ['"rare" (4)', "fewer than 10", "kept"],
    ),
    "too-many-labels-multi-class": Rule(
        MC,
        csv_bytes(csv_rows({f"topic{i}": 10 for i in range(6)})),
        "IN_ERROR",
        ["6 labels", "multi-class classifier allows at most 5"],
        limits={"MAX_LABELS": {MC: 5, ML: 100}},
    ),
    "too-many-labels-multi-label": Rule(
        ML,
        csv_bytes(csv_rows({f"topic{i}": 10 for i in range(4)}, ML)),
        "IN_ERROR",
        ["5 labels", "multi-label classifier allows at most 3"],
        limits={"MAX_LABELS": {MC: 1000, ML: 3}},
    ),
    "too-many-documents": Rule(
        MC,
        csv_bytes(csv_rows({"sports": 30, "politics": 30})),
        "IN_ERROR",
        ["line 51", "more than 50 documents"],
        limits={"MAX_DOCUMENTS": 50},
    ),
    "test-labels-absent-from-training": Rule(
        MC,
        csv_bytes(csv_rows({"sports": 20, "politics": 20})),
        "IN_ERROR",
        ["test.csv", "line 7", '"weather"', "does not have"],
        test=csv_bytes(_TEST_ROWS),
    ),
}


def lower_limits(monkeypatch, rule: Rule) -> None:
    """Lower the service limits a rule needs, in this process (where the jobs run)."""
    from models_app.ml import formats

    for name, value in rule.limits.items():
        monkeypatch.setattr(formats, name, value)
