"""Cross-validated study of the SVM + naive Bayes blends, inside the training data only.

The product chooses a blend (naive Bayes kind, smoothing, share) on one validation split.
This script asks whether such a choice generalises: it splits a data set's training
documents (after the product's autosplit when the set has no test file) into K stratified
folds, fits the word+char features, LinearSVC and each naive Bayes on K - 1 folds, and keeps
the held-out fold's scores. Then, for each blend grid, every fold in turn chooses the best
option on itself, as the product does on its validation split, and that choice is scored on
the other folds, with the documents it gets right that the SVM alone gets wrong ("gained",
summed over the choices) and the other way round ("lost"). The given test sets and the
autosplit's held-out part are never read.

    .venv/bin/python bench/study_blends.py --only 20ng-complete
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_classifier_ml  # noqa: E402
from bench_classifier_ml import DATASETS, DEFAULT_DATA, _autosplit, _read  # noqa: E402

from models_app.ml import classifier as C  # noqa: E402

ALPHAS = (0.1, 0.03, 0.01, 0.003, 0.001)
GRIDS = {
    "SVM alone": ((), ()),
    "multinomial NB, alpha 0.1-0.01": (("mnb",), (0.1, 0.03, 0.01)),
    "both kinds, alpha 0.1-0.01": (("mnb", "cnb"), (0.1, 0.03, 0.01)),
    "multinomial NB, alpha 0.1-0.001": (("mnb",), ALPHAS),
    "complement NB, alpha 0.1-0.001": (("cnb",), ALPHAS),
    "both kinds, alpha 0.1-0.001 (the product's)": (("mnb", "cnb"), ALPHAS),
}


def fold_scores(texts, y, data, n_labels, folds: int, C_value: float, seed: int):
    """Held-out decision values of the SVM and of every naive Bayes, fold by fold."""
    feats = C.Features.create("word+char", texts, n_labels)
    counts = C._hashed_counts(feats.blocks, texts)
    skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out = []
    for k, (fit, val) in enumerate(skf.split(np.zeros(len(y)), y)):
        t0 = time.monotonic()
        f = C.Features.create("word+char", [texts[i] for i in fit], n_labels)
        X_fit = f.fit_counts([c[fit] for c in counts])
        X_val = f.weigh_counts([c[val] for c in counts])
        Y_fit = data.matrix(fit)
        D = {"svm": C._scores(X_val, *C._fit_svm_mc(X_fit, y[fit], n_labels, C_value, seed, 2))}
        for kind, alpha in itertools.product(("mnb", "cnb"), ALPHAS):
            N = C._scores(X_val, *C._fit_nb(kind, X_fit, Y_fit, alpha))
            D[kind, alpha] = N - N.mean(axis=1, keepdims=True)
        out.append((val, D))
        print(f"  fold {k}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    return out


def blended(D: dict, option) -> np.ndarray:
    S = D["svm"]
    if option is None:
        return S
    kind, alpha, share = option
    N = D[kind, alpha]
    return C._blend_scores(S, C._spread(S), N, C._spread(N), share)


def study(name: str, folds: int, C_value: float, seed: int) -> None:
    mode, train_file, test_file, *_ = DATASETS[name]
    if mode != "MULTI_CLASS" or train_file is None:
        raise SystemExit(f"{name}: blends are for multi-class data sets read from files")
    train = _read(bench_classifier_ml.SHARED / train_file, mode)
    if test_file is None:
        train, _ = _autosplit(train, mode, seed)
    data = C._encode(train.labels, mode)
    y, n_labels = data.y, len(data.label_names)
    print(f"{name}: {len(y):,} training documents, {n_labels} labels, {folds} folds")
    parts = fold_scores(train.texts, y, data, n_labels, folds, C_value, seed)

    def right(part, option) -> np.ndarray:
        val, D = part
        return blended(D, option).argmax(axis=1) == y[val]

    print(f"{'blend grid':45} {'accuracy':>8} {'gained':>6} {'lost':>5}  chosen per fold")
    for grid, (kinds, alphas) in GRIDS.items():
        options = [None] + list(itertools.product(kinds, alphas, C.BLEND_SHARES))
        chosen, scores, gained, lost = [], [], 0, 0
        for k, part in enumerate(parts):
            best = max(options, key=lambda o, p=part: right(p, o).mean())  # ties: the first
            chosen.append(best)
            others = [p for j, p in enumerate(parts) if j != k]
            scores.append(float(np.mean([right(p, best).mean() for p in others])))
            for p in others:  # documents the choice gets right and the SVM alone not, and back
                a, b = right(p, best), right(p, None)
                gained, lost = gained + int((a & ~b).sum()), lost + int((~a & b).sum())
        names = ", ".join("SVM" if o is None else f"{o[0]} {o[1]:g} x{o[2]:g}" for o in chosen)
        print(f"{grid:45} {np.mean(scores):8.4f} {gained:6} {lost:5}  {names}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(DATASETS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--C", type=float, default=2.0, help="the SVM's C (the usual choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the public data sets (default: ../shared/data beside the repository)",
    )
    args = parser.parse_args()
    bench_classifier_ml.SHARED = args.data
    for name in args.only or ["20ng-complete"]:
        study(name, args.folds, args.C, args.seed)


if __name__ == "__main__":
    main()
