"""The same data and settings give the same model, byte for byte, however busy the machine.

Training budgets count work from the data's size, not seconds; the wall clock only stops a
training at the safety limit, and a version it cut says so. Each training here runs through the
trainer service, as a worker runs it, on a small fixture: the second of two trainings runs while
another process keeps a core busy, which under a time budget would change what gets tried.
"""

import contextlib
import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

from models_app.models import ModelKind, ModelStatus
from models_app.services import classifier_training, recognizer_training
from tests import factories
from tests.conftest import BAD_INPUTS
from tests.trained import TYPES

# A slice of the suite's recognizer fixture that trains in seconds, and a budget that still
# decides the epochs (a few of them, not max_epochs).
RECOGNIZER_DOCS = 150
RECOGNIZER_BUDGET = 3.5
# Enough labels that multi-class SVMs train in label groups side by side and two candidates at
# once, which a 3-label set never does.
MANY_LABELS = 10


@contextlib.contextmanager
def busy_core():
    """Another process spinning a CPU-bound loop for as long as the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _files(directory) -> dict[str, bytes]:
    root = Path(directory)
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _assert_same_artifacts(a, b) -> None:
    """Every file byte-identical; metadata.json may differ only in the version's own ARN."""
    files_a, files_b = _files(a.artifact_uri), _files(b.artifact_uri)
    assert sorted(files_a) == sorted(files_b)
    for name, data in files_a.items():
        if name == "metadata.json":
            data = data.replace(a.arn.encode(), b.arn.encode())
        assert data == files_b[name], f"{name} differs between two trainings of the same data"


def _classifier(owner, store, name: str):
    uri = store(owner, "determinism/classifier.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    return factories.version(
        owner,
        name="determinism",
        version_name=name,
        status=ModelStatus.TRAINING,
        language_code="en",
        input_data_config={"S3Uri": uri},
    )


def _many_labels_csv() -> bytes:
    """MANY_LABELS topics of 80 utterances: common words with a few of the topic's own words and
    of its neighbour's, so the topics overlap and each SVM fit takes many passes."""
    rng = random.Random(7)
    common = [f"word{i}" for i in range(400)]
    rows = []
    for k in range(MANY_LABELS):
        own = [f"topic{k}term{i}" for i in range(25)]
        near = [f"topic{(k + 1) % MANY_LABELS}term{i}" for i in range(25)]
        for _ in range(80):
            words = rng.choices(common, k=30) + rng.choices(own, k=4) + rng.choices(near, k=3)
            rng.shuffle(words)
            rows.append(f"topic_{k:02d},{' '.join(words)}\n")
    return "".join(rows).encode()


def _many_labels_classifier(owner, store, name: str):
    uri = store(owner, "determinism/many-labels.csv", _many_labels_csv())
    return factories.version(
        owner,
        name="determinism-many",
        version_name=name,
        status=ModelStatus.TRAINING,
        language_code="en",
        input_data_config={"S3Uri": uri},
    )


def _recognizer_slice() -> tuple[bytes, bytes]:
    """The first documents of the recognizer fixture and their annotations."""
    lines = (BAD_INPUTS / "recognizer-docs.txt").read_text(encoding="utf-8").splitlines()
    docs = "".join(line + "\n" for line in lines[:RECOGNIZER_DOCS])
    rows = list(csv.reader(io.StringIO((BAD_INPUTS / "recognizer-annotations-ok.csv").read_text())))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [rows[0]] + [row for row in rows[1:] if int(row[1]) < RECOGNIZER_DOCS]
    )
    return docs.encode(), out.getvalue().encode()


def _recognizer(owner, store, name: str):
    docs_data, ann_data = _recognizer_slice()
    docs = store(owner, "determinism/docs/recognizer-docs.txt", docs_data)
    ann = store(owner, "determinism/ann.csv", ann_data)
    return factories.version(
        owner,
        name="determinism",
        version_name=name,
        kind=ModelKind.RECOGNIZER,
        status=ModelStatus.TRAINING,
        language_code="en",
        input_data_config={
            "EntityTypes": TYPES,
            "Documents": {"S3Uri": docs},
            "Annotations": {"S3Uri": ann},
        },
    )


def _trained(version):
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED, version.message
    return version


def test_it_trains_the_same_classifier_files_with_a_core_busy(owner, store, settings):
    settings.CLASSIFIER_TIME_BUDGET_SECONDS = None  # the default: it grows with the text
    first = _classifier(owner, store, "quiet")
    classifier_training.train(first)
    second = _classifier(owner, store, "busy")
    with busy_core():
        classifier_training.train(second)
    first, second = _trained(first), _trained(second)
    assert first.artifact_sha256 == second.artifact_sha256
    _assert_same_artifacts(first, second)
    params = json.loads(_files(first.artifact_uri)["metadata.json"])["params"]
    # Wall-clock figures stay with the version's row, out of the files.
    assert "fit_seconds" not in params
    assert all("seconds" not in c for c in params["candidates"])
    assert "fit_seconds" in first.training_parameters
    assert params["stopped_at_safety_limit"] is False
    assert params["work_spent"] <= params["work_budget"]
    tried = [c for c in params["candidates"] if "skipped" not in c]
    assert tried and all(c["work"] > 0 for c in tried)


def test_it_trains_the_same_many_label_classifier_files_with_a_core_busy(owner, store, settings):
    # Label groups and candidate pairs train side by side; each fit must draw its random numbers
    # alone, whatever the other fit is doing at the time.
    settings.CLASSIFIER_TIME_BUDGET_SECONDS = None
    first = _many_labels_classifier(owner, store, "quiet")
    classifier_training.train(first)
    second = _many_labels_classifier(owner, store, "busy")
    with busy_core():
        classifier_training.train(second)
    first, second = _trained(first), _trained(second)
    params = json.loads(_files(first.artifact_uri)["metadata.json"])["params"]
    assert params["model"].startswith("LinearSVC")
    assert len([c for c in params["candidates"] if c.get("model") == "LinearSVC"]) >= 2
    _assert_same_artifacts(first, second)
    assert first.artifact_sha256 == second.artifact_sha256


def test_it_trains_the_same_recognizer_files_with_a_core_busy(owner, store, settings):
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = RECOGNIZER_BUDGET
    first = _recognizer(owner, store, "quiet")
    recognizer_training.train(first)
    second = _recognizer(owner, store, "busy")
    with busy_core():
        recognizer_training.train(second)
    first, second = _trained(first), _trained(second)
    _assert_same_artifacts(first, second)
    params = json.loads(_files(first.artifact_uri)["metadata.json"])["params"]
    assert "crf_seconds" not in params and "fit_seconds" not in params
    assert params["stopped_at_safety_limit"] is False
    # The budget, not the clock, decided how many epochs to train.
    assert 1 <= params["epochs"] <= params["epochs_planned"] <= params["max_epochs"]
    assert first.training_parameters["epochs"] == second.training_parameters["epochs"]


def test_it_says_when_the_safety_time_limit_cut_model_selection(owner, store, settings):
    settings.CLASSIFIER_TIME_BUDGET_SECONDS = None
    # The limit has passed before the second candidate.
    settings.TRAINING_SAFETY_FACTOR, settings.TRAINING_SAFETY_MIN_SECONDS = 1e-9, 0
    version = _classifier(owner, store, "cut")
    classifier_training.train(version)
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED_WITH_WARNING
    params = version.training_parameters
    assert params["stopped_at_safety_limit"] is True
    candidates = params["candidates"]
    tried = [c for c in candidates if "skipped" not in c]
    cut = [c for c in candidates if c.get("skipped") == "safety time limit"]
    assert tried and cut
    assert (
        f"Model selection stopped at the safety time limit ({params['safety_limit_seconds']:g} "
        f"seconds) after {len(tried)} of {len(candidates)} candidates; the result may differ "
        "on a faster machine."
    ) in version.message
    stored = json.loads(_files(version.artifact_uri)["metadata.json"])["params"]
    assert stored["stopped_at_safety_limit"] is True


def test_it_says_when_the_safety_time_limit_cut_a_recognizer_short(owner, store, settings):
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = RECOGNIZER_BUDGET
    settings.TRAINING_SAFETY_FACTOR, settings.TRAINING_SAFETY_MIN_SECONDS = 1e-9, 0
    version = _recognizer(owner, store, "cut")
    recognizer_training.train(version)
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED_WITH_WARNING
    params = version.training_parameters
    assert params["stopped_at_safety_limit"] is True
    assert params["epochs"] == 1 < params["epochs_planned"]
    assert (
        f"Training stopped at the safety time limit ({params['safety_limit_seconds']:g} seconds) "
        f"after 1 of {params['epochs_planned']} epochs; the result may differ on a faster machine."
    ) in version.message
