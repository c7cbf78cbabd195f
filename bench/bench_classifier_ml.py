"""Benchmark of the pure-ML classifier core on the shared data sets.

Each data set runs in its own subprocess, so peak memory is measured per data set; the
pipeline is the product's: stream the CSV, validate, fit (automatic model selection),
predict the test set, compute Comprehend's metrics.

    python bench/bench_classifier_ml.py                 # every data set
    python bench/bench_classifier_ml.py --only clinc150 # one data set
    python bench/bench_classifier_ml.py --only clinc150 --base-model all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models_app.ml import base_models, classifier, formats, metrics  # noqa: E402

# The full public sets (Comprehend's formats, docs/benchmarks.md says whence); --data names another.
DEFAULT_DATA = REPO.parent / "shared" / "data"
SHARED = DEFAULT_DATA

# name: (mode, train file, test file or None for a 10% stratified autosplit, metric, target)
DATASETS = {
    "clinc150": ("MULTI_CLASS", "clinc150/train.csv", "clinc150/test.csv", "Accuracy", 0.93),
    "20ng-partial": (
        "MULTI_CLASS",
        "20newsgroups/custom-classifier-partial-dataset.csv",
        None,
        "Accuracy",
        0.80,
    ),
    "20ng-complete": (
        "MULTI_CLASS",
        "20newsgroups/custom-classifier-complete-dataset.csv.gz",
        None,
        "Accuracy",
        0.94,
    ),
    "reuters": (
        "MULTI_LABEL",
        "reuters21578/train.csv",
        "reuters21578/test.csv",
        "MicroF1Score",
        0.87,
    ),
    "goemotions": (
        "MULTI_LABEL",
        "goemotions/train.csv",
        "goemotions/test.csv",
        "MicroF1Score",
        0.52,
    ),
    "scale-1m": ("MULTI_CLASS", None, None, "Accuracy", None),
}
SCALE_DOCS = 1_000_000
SCALE_LABELS = 1000
SCALE_TEST_DOCS = 20_000


class PeakMemory:
    """Samples the resident memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self):
        self.peak = max(self.peak, _tree_rss(os.getpid()))


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read(path: Path, mode: str) -> formats.ClassifierData:
    with _open(path) as fh:
        return formats.read_classifier_csv(fh, mode=mode, source_name=path.name)


def _autosplit(data: formats.ClassifierData, mode: str, seed: int):
    """The product's autosplit: 10% (at most 10,000) held out, stratified by label."""
    parts = formats.autosplit_indices(data.labels, mode=mode, seed=seed)

    def pick(idx):
        return formats.ClassifierData(
            texts=[data.texts[i] for i in idx],
            labels=[data.labels[i] for i in idx],
            lines=[data.lines[i] for i in idx],
            source_name=data.source_name,
        )

    return pick(parts[0]), pick(parts[1])


def build_scale_set(directory: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write a synthetic 1,000,000-document, 1,000-label CSV (and a test CSV).

    A label is an (intent, newsgroup) pair: 1,000 of CLINC's 150 intents x 20NG's 20
    groups. A document is a CLINC utterance of the intent followed by a random window
    of 20-40 words from a message of the group, so both halves matter. Test documents
    use CLINC's test utterances and 20NG messages held out from training.
    """
    rng = random.Random(seed)
    clinc_train = _read(SHARED / "clinc150/train.csv", "MULTI_CLASS")
    clinc_test = _read(SHARED / "clinc150/test.csv", "MULTI_CLASS")
    news = _read(SHARED / "20newsgroups/train.csv", "MULTI_CLASS")
    by_intent_train, by_intent_test, by_group = {}, {}, {}
    for text, label in zip(clinc_train.texts, clinc_train.labels, strict=True):
        by_intent_train.setdefault(label, []).append(text)
    for text, label in zip(clinc_test.texts, clinc_test.labels, strict=True):
        by_intent_test.setdefault(label, []).append(text)
    for text, label in zip(news.texts, news.labels, strict=True):
        by_group.setdefault(label, []).append(text.split())
    held_out = {}
    for group, docs in by_group.items():
        rng.shuffle(docs)
        cut = len(docs) // 5
        held_out[group], by_group[group] = docs[:cut], docs[cut:]
    pairs = [(i, g) for i in sorted(by_intent_train) for g in sorted(by_group)]
    rng.shuffle(pairs)
    pairs = pairs[:SCALE_LABELS]

    def document(utterances, messages, intent, group):
        words = rng.choice(messages[group])
        n = rng.randint(20, 40)
        start = rng.randint(0, max(0, len(words) - n))
        return rng.choice(utterances[intent]) + " " + " ".join(words[start : start + n])

    def write(path: Path, n_docs: int, utterances, messages):
        import csv

        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            for k in range(n_docs):
                intent, group = pairs[k % len(pairs)] if k < len(pairs) else rng.choice(pairs)
                writer.writerow(
                    [f"{intent}/{group}", document(utterances, messages, intent, group)]
                )

    train_path, test_path = directory / "scale-train.csv", directory / "scale-test.csv"
    write(train_path, SCALE_DOCS, by_intent_train, by_group)
    write(test_path, SCALE_TEST_DOCS, by_intent_test, held_out)
    return train_path, test_path


def run_one(name: str, seed: int, budget: float | None, base_model_name: str = "") -> dict:
    """Run one data set end to end in this process and return its row."""
    mode, train_file, test_file, metric, target = DATASETS[name]
    base_model = None
    if base_model_name:
        # Installed base models only: a folder under BASE_MODELS_DIR or a package.
        base_model = base_models.find_base_model(base_model_name, os.environ.get("BASE_MODELS_DIR"))
    with PeakMemory() as mem, tempfile.TemporaryDirectory() as tmp:
        t_build = 0.0
        if name == "scale-1m":
            t0 = time.monotonic()
            train_path, test_path = build_scale_set(Path(tmp), seed)
            t_build = time.monotonic() - t0
        else:
            train_path = SHARED / train_file
            test_path = SHARED / test_file if test_file else None
        start = time.monotonic()
        train = _read(train_path, mode)
        test = _read(test_path, mode) if test_path else None
        if test is None:
            train, test = _autosplit(train, mode, seed)
        warnings = formats.validate_classifier_training(train, mode=mode, test=test)
        t_read = time.monotonic() - start

        def progress(fraction, step):
            print(
                f"  [{name}] {time.monotonic() - start:7.1f}s {fraction:4.0%} {step}",
                file=sys.stderr,
                flush=True,
            )

        t0 = time.monotonic()
        model = classifier.fit(
            train.texts,
            train.labels,
            mode=mode,
            seed=seed,
            time_budget_s=budget,
            progress=progress,
            base_model=base_model,
        )
        t_fit = time.monotonic() - t0
        t0 = time.monotonic()
        proba = model.predict_proba(test.texts)
        t_predict = time.monotonic() - t0
        predicted = model.predict_from_proba(proba)
        scores = metrics.classification_metrics(
            test.labels, predicted, mode=mode, labels=model.labels
        )
        metrics.confusion_matrix_json(test.labels, predicted, mode=mode, labels=model.labels)
        if len(model.labels) <= 200:
            metrics.precision_recall_curves(test.labels, proba, labels=model.labels, mode=mode)
        t_eval = time.monotonic() - t0
        total = time.monotonic() - start
    return {
        "data set": name,
        "docs": f"{len(train.texts):,}/{len(test.texts):,}",
        "labels": len(model.labels),
        "metric": metric,
        "value": round(scores[metric], 4),
        "target": target,
        "fit s": round(t_fit, 1),
        "total s": round(total, 1),
        "read s": round(t_read, 1),
        "eval s": round(t_eval, 1),
        "predict docs/s": round(len(test.texts) / max(t_predict, 1e-9)),
        "work budget": model.params["work_budget"],
        "work spent": model.params["work_spent"],
        "build s": round(t_build, 1),
        "peak RSS GiB": round(mem.peak / 2**30, 2),
        "model": f"{model.params['features']} + {model.params['model']}"
        f"({json.dumps(model.params['hyperparameters'])[1:-1]})",
        "base model": _base_model_column(model.params.get("base_model", {})),
        "validation": model.params["validation"],
        "warnings": len(warnings),
        "all metrics": {
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in scores.items()
            if k != "per_label"
        },
        "candidates": model.params["candidates"],
        **({"base_model": model.params["base_model"]} if base_model else {}),
    }


def _base_model_column(info: dict) -> str:
    if not info.get("used"):
        return ""
    if info.get("fine_tuned"):
        epochs = info["fine_tuning"]["epochs"]
        return f"{info['share']:g} x {info['name']} fine-tuned ({epochs} epochs) + linear layer"
    return (
        f"{info['share']:g} x {info['name']} embeddings + LogisticRegression(C={info['head_C']:g})"
    )


def print_table(rows: list[dict]) -> None:
    cols = [
        "data set",
        "docs",
        "labels",
        "metric",
        "value",
        "target",
        "fit s",
        "total s",
        "peak RSS GiB",
        "model",
        "base model",
    ]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print(" | ".join(c.ljust(widths[c]) for c in cols))
    print("-+-".join("-" * widths[c] for c in cols))
    for r in rows:
        print(" | ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=list(DATASETS),
        help="run only this data set (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--budget",
        type=float,
        default=0.0,
        help="fit's time budget in seconds (default 0: fit's own, which grows with the "
        "training text, as the product uses when CLASSIFIER_TIME_BUDGET_SECONDS is unset)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the public data sets (default: ../shared/data beside the repository)",
    )
    parser.add_argument(
        "--base-model",
        default="",
        help="an installed base model's name (e.g. all-MiniLM-L6-v2) that model selection may "
        "use (default: none, as without one installed)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global SHARED
    SHARED = args.data
    if args.child:
        print(json.dumps(run_one(args.child, args.seed, args.budget or None, args.base_model)))
        return
    rows = []
    for name in args.only or list(DATASETS):
        cmd = [sys.executable, __file__, "--child", name, "--seed", str(args.seed)]
        cmd += ["--budget", str(args.budget), "--data", str(args.data)]
        cmd += ["--base-model", args.base_model]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode:
            rows.append({"data set": name, "value": f"FAILED (exit {proc.returncode})"})
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row, indent=1), file=sys.stderr)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
