"""Document classifier training with automatic model selection inside a budget of work.

Candidates are linear models over TF-IDF features (word n-grams with a document-head
block, character n-grams, and their union; hashed word n-grams for very large sets).
Every choice is made on a stratified validation split carved from the training data,
then the winner is refitted on all of it. A trained model is only numpy arrays plus
JSON-safe values, so it can be stored without pickle. With an installed base model, its
sentence embeddings are one more candidate, blended with the best TF-IDF model when validation
says so (`embedding_model`); for short documents the frozen embeddings cannot use well, the
encoder fine-tuned on the labels is one more (`embedding_tuning`).
"""

from __future__ import annotations

import itertools
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.svm import LinearSVC

from . import embedding_model, embedding_tuning
from .encoder import PRECISION_TOLERANCE, load_base_encoder, seed_everything
from .errors import TrainingStopped

MULTI_CLASS = "MULTI_CLASS"
MULTI_LABEL = "MULTI_LABEL"

N_JOBS = 2
# Fits that run side by side do so in worker processes, never threads: liblinear draws its random
# numbers from one generator per process, so two fits in one process at once would interleave
# their draws and their weights would depend on thread timing.
# Model selection plans in units of work: deterministic functions of the data's size (characters,
# stored feature values, labels, documents), never measured seconds, so the same data and settings
# choose the same model on any machine however busy it is. One unit is about one second of this
# work on the machine the rates were measured on (two cores, otherwise idle), so a budget given in
# seconds keeps its meaning there. The wall clock is only a safety limit, SAFETY_FACTOR times the
# budget, and a search it cuts says so.
# Without an explicit budget: 40 units plus 2.5 per million characters of text, at most 4 h.
DEFAULT_BUDGET_S = 40.0
DEFAULT_BUDGET_PER_MB_S = 2.5
MAX_DEFAULT_BUDGET_S = 4 * 3600.0
SAFETY_FACTOR = 5.0
SAFETY_MIN_S = 600.0  # ... and never less than this
# Above this many documents x labels the exact-vocabulary SVM search is too slow and
# too big; hashed features with naive Bayes / SGD take over.
LARGE_WORK = 3e8
LARGE_DOCS = 300_000
SGD_EPOCHS = 5
# Work per document, label and epoch of SGDClassifier on two threads (measured on the
# 1,000,000-document benchmark set).
SGD_WORK_PER_DOC_LABEL = 6e-7
SHORT_TEXT_CHARS = 300
# liblinear's work per stored feature value and label, one thread (multi-class measured on
# CLINC150 and 20 Newsgroups, 2.4e-8 and 4.1e-8; multi-label as first measured on the shared
# multi-label sets). One multi-label fit per label also converts the data each time, hence the
# higher figure.
SVM_WORK_PER_NNZ_LABEL = {MULTI_CLASS: 3.2e-8, MULTI_LABEL: 2e-7}
# Counting raw terms (and weighing the search's part), per character each block reads; the head
# block reads a few tokens, so it is charged per document, with the per-document overhead.
COUNT_WORK_PER_CHAR = {"word": 1.8e-7, "char": 1.8e-7}
COUNT_WORK_PER_DOC = 2e-5
# Weighing raw counts into TF-IDF features, per stored value.
WEIGH_WORK_PER_NNZ = 2e-8
# Naive Bayes: one pass over the stored values, then a dense labels x features logarithm.
NB_WORK_PER_NNZ = 1.1e-8
NB_WORK_PER_WEIGHT = 3.5e-9
# Scoring the validation part, per document and label (a blend step tries six shares).
SCORE_WORK_PER_DOC_LABEL = 5e-9
MAX_VALIDATION_DOCS = 50_000
MAX_SEARCH_DOCS = 200_000  # training documents used to compare candidates
PREDICT_BATCH = 20_000
CHAR_PREFIX = 3000  # character n-grams look only at the start of long documents
HEAD_TOKENS = 10
HEAD_WEIGHT = 0.5
MAX_VOCABULARY = 1_000_000
MIN_THRESHOLD_POSITIVES = 5  # validation positives a label needs for its own threshold

_TOKEN = re.compile(r"\w+")
# A light suffix stripper: merging inflections helps short texts, and unlike a real
# stemmer it needs no extra package.
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ied", "ies", "ed", "es", "s", "ly")


def _head_tokens(doc: str, head: int) -> list[str]:
    """The first `head` tokens of the lower-cased document, lower-casing only as much of it as
    they need: a token is complete once another one follows it inside the window."""
    window = 64 * head
    while True:
        tokens = _TOKEN.findall(doc[:window].lower())
        if len(tokens) > head or window >= len(doc):
            return tokens[:head]
        window *= 4


@lru_cache(maxsize=500_000)
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class WordAnalyzer:
    """Lower-cased, lightly stemmed tokens with bigrams and skip-bigrams."""

    def __init__(self, head: int | None = None, skip: bool = True):
        self.head = head
        self.skip = skip

    def __call__(self, doc: str) -> list[str]:
        if self.head:
            tokens = [_stem(t) for t in _head_tokens(doc, self.head)]
        else:
            tokens = [_stem(t) for t in _TOKEN.findall(doc.lower())]
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
        if self.skip:
            grams += [f"{a} _ {b}" for a, b in zip(tokens, tokens[2:], strict=False)]
        return grams


# ---------------------------------------------------------------------------
# Features
#
# Terms are hashed into a 31-bit space (fast, stateless, so documents can be counted in
# parallel chunks) and the hashes seen in training become the vocabulary: collisions
# are negligible at that size, and no term strings need sorting or storing.

HASH_SPACE = 2**31 - 1
CHUNK_DOCS = 20_000
# Below this much text, shipping texts and counts to worker processes costs more than
# the second core saves (measured on 20 Newsgroups: 17 MB ran faster in one process).
PARALLEL_CHARS = 50_000_000


@dataclass
class Block:
    """One TF-IDF block of a feature set; its fitted state is two arrays."""

    kind: str  # "word", "head" or "char"
    weight: float = 1.0
    min_df: int = 1
    max_features: int = MAX_VOCABULARY
    skip: bool = True  # word blocks: add skip-bigrams
    prefix: int = CHAR_PREFIX  # char blocks: characters of each document looked at
    columns: np.ndarray | None = None  # sorted term hashes kept as features
    idf: np.ndarray | None = None

    def spec(self) -> dict:
        return {
            "kind": self.kind,
            "weight": self.weight,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "skip": self.skip,
            "prefix": self.prefix,
        }

    @property
    def count_key(self) -> tuple:
        """What decides this block's raw counts (the vocabulary is chosen later)."""
        return (self.kind, self.skip, self.prefix)

    def count(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Raw term counts, documents x HASH_SPACE."""
        if self.kind == "char":
            return _char_counts(texts, self.prefix)
        if self.kind == "word":
            analyzer = WordAnalyzer(skip=self.skip)
        elif self.kind == "head":
            analyzer = WordAnalyzer(head=HEAD_TOKENS, skip=False)
        else:
            raise ValueError(f"unknown feature block {self.kind!r}")
        hasher = HashingVectorizer(
            analyzer=analyzer,
            n_features=HASH_SPACE,
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
        )
        return hasher.transform(texts)

    def fit(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Choose the vocabulary and IDF from raw hashed counts; return weighted features."""
        ids, df = np.unique(counts.indices, return_counts=True)
        keep = df >= self.min_df
        if keep.sum() > self.max_features:
            # Most frequent terms first; the hash breaks ties so the choice is stable.
            order = np.lexsort((ids, -df))[: self.max_features]
            keep = np.zeros(len(ids), dtype=bool)
            keep[order] = True
        self.columns = ids[keep].astype(np.int32)
        self.idf = (np.log((1 + counts.shape[0]) / (1 + df[keep])) + 1).astype(np.float32)
        return self.weigh(counts)

    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF features of raw counts, over the fitted vocabulary."""
        pos = np.searchsorted(self.columns, counts.indices)
        pos = np.minimum(pos, len(self.columns) - 1)
        return self._weigh(counts, pos, self.columns[pos] == counts.indices)

    def _weigh(self, counts: sp.csr_matrix, pos: np.ndarray, known: np.ndarray) -> sp.csr_matrix:
        """Sublinear TF-IDF, L2-normalised, times the block weight (as TfidfVectorizer)."""
        indptr = np.concatenate([[0], np.cumsum(known)])[counts.indptr]
        data = counts.data[known]
        np.log(data, out=data)
        data += 1
        cols = pos[known].astype(np.int32)
        data *= self.idf[cols]
        X = sp.csr_matrix((data, cols, indptr), shape=(counts.shape[0], len(self.columns)))
        _l2_normalise_rows(X)
        if self.weight != 1:
            X.data *= np.float32(self.weight)
        return X

    @property
    def n_features(self) -> int:
        return 0 if self.columns is None else len(self.columns)


def _l2_normalise_rows(X: sp.csr_matrix) -> None:
    """Scale each row to unit length in place (scikit-learn's normalize without its checks,
    which cost more than the arithmetic on a single short document)."""
    if not X.nnz:
        return
    lengths = np.diff(X.indptr)
    squares = np.add.reduceat(X.data * X.data, X.indptr[:-1][lengths > 0])
    norms = np.ones(X.shape[0], dtype=X.data.dtype)
    norms[lengths > 0] = np.sqrt(squares)
    norms[norms == 0] = 1
    X.data /= np.repeat(norms, lengths)


def _count_chunk(blocks: list[Block], texts: Sequence[str]) -> list[sp.csr_matrix]:
    return [block.count(texts) for block in blocks]


_CHAR_NGRAMS = (2, 3, 4, 5)  # consecutive from 2: each length's hash extends the previous one's
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants for a polynomial hash
_MIX_N = np.uint64(0xC2B2AE3D27D4EB4F)


def _char_counts(texts: Sequence[str], prefix: int, chunk_chars: int = 2_000_000) -> sp.csr_matrix:
    """Character 2-5-gram counts within words (like scikit-learn's char_wb), vectorised.

    Each document is lower-cased, cut to `prefix` characters, its whitespace runs
    folded to single spaces and padded with a space at each end; an n-gram is kept when
    it stays inside one document and has no space except at its ends. Doing this with
    numpy on code points is many times faster than building n-gram strings in Python.
    """
    docs = [" " + " ".join(t[:prefix].lower().split()) + " " for t in texts]
    docs = [doc if doc != "  " else " " for doc in docs]  # an empty text has no n-grams
    parts, start, size = [], 0, 0
    for i, doc in enumerate(docs):
        size += len(doc)
        if size >= chunk_chars or i == len(docs) - 1:
            parts.append(_char_counts_chunk(docs[start : i + 1]))
            start, size = i + 1, 0
    if not parts:
        return sp.csr_matrix((0, HASH_SPACE), dtype=np.float32)
    return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")


def _char_counts_chunk(docs: list[str]) -> sp.csr_matrix:
    codes = np.frombuffer("".join(docs).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    doc_of = np.repeat(np.arange(len(docs), dtype=np.uint64), lengths)
    spaces = np.concatenate([[0], np.cumsum(codes == 32)])
    keys = []
    single = len(docs) == 1
    with np.errstate(over="ignore"):  # the hash is meant to wrap around modulo 2**64
        prefix = codes  # polynomial hash of the n characters starting at each position
        for n in _CHAR_NGRAMS:
            m = len(codes) - n + 1
            if m <= 0:
                break
            prefix = prefix[:m] * _MIX + codes[n - 1 : n - 1 + m]
            h = prefix * _MIX_N + np.uint64(n)
            interior = spaces[n - 1 : n - 1 + m] - spaces[1 : 1 + m]
            ok = (doc_of[:m] == doc_of[n - 1 : n - 1 + m]) & (interior == 0)
            column = h[ok] % np.uint64(HASH_SPACE)
            if single:  # 32-bit keys sort about twice as fast
                keys.append(column.astype(np.uint32))
            else:
                keys.append((doc_of[:m][ok] << np.uint64(31)) | column)
    dtype = np.uint32 if single else np.uint64
    keys = np.concatenate(keys) if keys else np.zeros(0, dtype=dtype)
    uniq, counts = np.unique(keys, return_counts=True)
    if single:
        rows = np.zeros(len(uniq), dtype=np.int64)
        cols = uniq.astype(np.int32)
    else:
        rows = (uniq >> np.uint64(31)).astype(np.int64)
        cols = (uniq & np.uint64(HASH_SPACE)).astype(np.int32)
    indptr = np.searchsorted(rows, np.arange(len(docs) + 1))
    return sp.csr_matrix((counts.astype(np.float32), cols, indptr), shape=(len(docs), HASH_SPACE))


def _hashed_counts(blocks: list[Block], texts: Sequence[str]) -> list[sp.csr_matrix]:
    """Raw hashed term counts for each block, in chunks on both cores for big inputs."""
    texts = list(texts)
    if N_JOBS < 2 or sum(len(t) for t in texts) < PARALLEL_CHARS:
        return _count_chunk(blocks, texts)
    size = min(CHUNK_DOCS, -(-len(texts) // N_JOBS))
    parts = Parallel(n_jobs=N_JOBS)(
        delayed(_count_chunk)(blocks, texts[i : i + size]) for i in range(0, len(texts), size)
    )
    return [sp.vstack([p[k] for p in parts], format="csr") for k in range(len(blocks))]


FEATURE_SETS = {
    "word": ("word", "head"),
    "word+char": ("word", "head", "char"),
    "large-word": ("word", "head"),
}


@dataclass
class Features:
    """A feature set: the horizontal union of weighted TF-IDF blocks."""

    name: str
    blocks: list[Block]

    @classmethod
    def create(cls, name: str, texts: Sequence[str], n_labels: int) -> Features:
        n_docs = len(texts)
        mean_chars = sum(len(t) for t in texts) / max(1, n_docs)
        # Terms seen once add noise and memory once there is enough data.
        min_df = 1 if n_docs < 5000 else 2
        # Skip-bigrams help short texts (word order varies) but only bloat long ones.
        skip = mean_chars <= SHORT_TEXT_CHARS
        # Large sets: vocabularies bounded so labels x features float32 weights stay near 1 GB.
        cap = max(2**16, min(MAX_VOCABULARY, 2**28 // max(1, n_labels)))
        blocks = []
        for kind in FEATURE_SETS[name]:
            if kind == "head" and name == "large-word":
                blocks.append(
                    Block("head", weight=HEAD_WEIGHT, min_df=3, max_features=cap // 4, skip=False)
                )
            elif kind == "head":
                blocks.append(Block("head", weight=HEAD_WEIGHT, skip=False))
            elif kind == "char":
                blocks.append(Block("char", min_df=2))
            elif name == "large-word":
                blocks.append(Block("word", min_df=3, max_features=cap, skip=False))
            else:
                blocks.append(Block("word", min_df=min_df, skip=skip))
        return cls(name, blocks)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.weigh_counts(_hashed_counts(self.blocks, texts))

    def fit_counts(self, counts: list[sp.csr_matrix]) -> sp.csr_matrix:
        """Choose each block's vocabulary and IDF from raw counts; return the features."""
        return _hstack([block.fit(c) for block, c in zip(self.blocks, counts, strict=True)])

    def weigh_counts(self, counts: list[sp.csr_matrix]) -> sp.csr_matrix:
        return _hstack([block.weigh(c) for block, c in zip(self.blocks, counts, strict=True)])

    @property
    def n_features(self) -> int:
        return sum(block.n_features for block in self.blocks)


def _hstack(parts: list[sp.csr_matrix]) -> sp.csr_matrix:
    if len(parts) == 1:
        return parts[0]
    return sp.hstack(parts, format="csr", dtype=np.float32)


# ---------------------------------------------------------------------------
# Linear models: every candidate reduces to scores = X @ W.T + b


def _check_stop(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise TrainingStopped("Training was stopped.")


def _quiet_svm(C: float, seed: int) -> LinearSVC:
    return LinearSVC(C=C, random_state=seed, max_iter=2000)


def _fit_svm_mc(X, y: np.ndarray, n_labels: int, C: float, seed: int, workers: int = 1):
    """Multi-class one-vs-rest LinearSVC, its labels split over worker processes.

    Each worker trains the labels of its group against an "other" label standing for the
    rest: a label's one-vs-rest problem is the same either way, so the groups train side by
    side at the cost of one extra binary fit each, each with liblinear's generator to itself.
    """
    classes = np.unique(y)
    groups = [g for g in np.array_split(classes, workers) if len(g)] if len(classes) > 3 else []
    if len(groups) < 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _quiet_svm(C, seed).fit(X, y)
        return _dense_ovr(model.coef_, model.intercept_, model.classes_, n_labels, X.shape[1])
    X = sp.csr_matrix(X, dtype=np.float64)  # liblinear's type, converted once for all groups
    W = np.zeros((n_labels, X.shape[1]), dtype=np.float32)
    b = np.full(n_labels, -10.0, dtype=np.float32)
    jobs = (delayed(_svm_group)(X, y, group, C, seed) for group in groups)
    for own, w, bias in Parallel(n_jobs=len(groups))(jobs):
        W[own], b[own] = w, bias
    return W, b


def _svm_group(X, y: np.ndarray, group: np.ndarray, C: float, seed: int):
    """One label group's LinearSVC against "other" (-1), in a worker process: the group's
    labels and their weights."""
    target = np.where(np.isin(y, group), y, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _quiet_svm(C, seed).fit(X, target)
    if len(model.classes_) == 2:  # [-1, k]: the one row is k's
        own, coef, intercept = model.classes_[1:], model.coef_[:1], model.intercept_[:1]
    else:
        keep = model.classes_ >= 0
        own, coef, intercept = model.classes_[keep], model.coef_[keep], model.intercept_[keep]
    return own, coef.astype(np.float32), intercept.astype(np.float32)


def _dense_ovr(coef, intercept, classes, n_labels: int, n_features: int):
    """Weights for every label, including labels absent from this fit (never predicted)."""
    W = np.zeros((n_labels, n_features), dtype=np.float32)
    b = np.full(n_labels, -10.0, dtype=np.float32)
    if len(classes) == 2:
        W[classes[1]], b[classes[1]] = coef[0], intercept[0]
        W[classes[0]], b[classes[0]] = -coef[0], -intercept[0]
    else:
        W[classes], b[classes] = coef, intercept
    return W, b


def _svm_columns(X, Y: sp.csc_matrix, columns: list[int], C: float, seed: int):
    """Binary LinearSVC for each label column (runs in a worker process)."""
    W = np.zeros((len(columns), X.shape[1]), dtype=np.float32)
    b = np.full(len(columns), -10.0, dtype=np.float32)  # labels without positives never fire
    for i, k in enumerate(columns):
        y = Y[:, k].toarray().ravel()
        if y.all() or not y.any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _quiet_svm(C, seed).fit(X, y)
        W[i], b[i] = model.coef_[0], model.intercept_[0]
    return columns, W, b


def _fit_svm_ml(X, Y: sp.csc_matrix, C: float, seed: int, should_stop):
    """One binary LinearSVC per label, label chunks spread over worker processes."""
    n_labels = Y.shape[1]
    # liblinear wants float64; converting once beats a conversion per label.
    X = sp.csr_matrix(X, dtype=np.float64)
    W = np.zeros((n_labels, X.shape[1]), dtype=np.float32)
    b = np.zeros(n_labels, dtype=np.float32)
    n_chunks = min(n_labels, 4 * N_JOBS)
    chunks = [list(range(i, n_labels, n_chunks)) for i in range(n_chunks)]
    jobs = (delayed(_svm_columns)(X, Y, cols, C, seed) for cols in chunks)
    for cols, w, bias in Parallel(n_jobs=N_JOBS, return_as="generator_unordered")(jobs):
        W[cols], b[cols] = w, bias
        _check_stop(should_stop)
    return W, b


def _fit_cnb(X, Y: sp.csc_matrix, alpha: float):
    """Complement naive Bayes (as scikit-learn's, norm=False) in float32, label block by block."""
    counts = (Y.T.astype(np.float32) @ X).tocsr()  # labels x features, sparse
    total = np.asarray(X.sum(axis=0), dtype=np.float32).ravel()
    W = np.empty((Y.shape[1], X.shape[1]), dtype=np.float32)
    step = max(1, 2**26 // max(1, X.shape[1]))
    for start in range(0, Y.shape[1], step):
        stop = min(start + step, Y.shape[1])
        comp = total + np.float32(alpha) - counts[start:stop].toarray()
        W[start:stop] = -np.log(comp / comp.sum(axis=1, keepdims=True))
    return W, np.zeros(Y.shape[1], dtype=np.float32)


def _fit_mnb(X, Y: sp.csc_matrix, alpha: float):
    """Multinomial naive Bayes over TF-IDF weights, in float32, label block by block.

    Complement NB suits a few labels; with hundreds, every label's complement is nearly
    the whole corpus and its weights stop differing, while the plain multinomial model
    keeps each label's own profile.
    """
    counts = (Y.T.astype(np.float32) @ X).tocsr()
    n_docs = np.asarray(Y.sum(axis=0), dtype=np.float64).ravel()
    prior = np.log(np.maximum(n_docs, 1) / max(1.0, n_docs.sum())).astype(np.float32)
    W = np.empty((Y.shape[1], X.shape[1]), dtype=np.float32)
    step = max(1, 2**26 // max(1, X.shape[1]))
    for start in range(0, Y.shape[1], step):
        stop = min(start + step, Y.shape[1])
        smoothed = counts[start:stop].toarray() + np.float32(alpha)
        W[start:stop] = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
    return W, prior


def _fit_nb(kind: str, X, Y: sp.csc_matrix, alpha: float):
    return _fit_cnb(X, Y, alpha) if kind == "cnb" else _fit_mnb(X, Y, alpha)


def _blend_scores(D_svm, s_svm: float, D_nb, s_nb: float, share: float) -> np.ndarray:
    """The blend's validation scores: SVM scores and row-centred NB scores, each divided by
    its spread, the NB's times its share (what _blend_weights builds into one model)."""
    return D_svm / s_svm + (share / s_nb) * D_nb


def _blend_weights(W, b, Wn, bn, share: float, scales: tuple[float, float]):
    """W / s_svm + share * centred(Wn) / s_nb, in place: one linear model."""
    s_svm, s_nb = scales
    Wn -= Wn.mean(axis=0, keepdims=True)  # centring each feature across labels centres scores
    Wn *= np.float32(share / s_nb)
    W /= np.float32(s_svm)
    W += Wn
    b = b / np.float32(s_svm) + np.float32(share / s_nb) * (bn - bn.mean())
    return W, b.astype(np.float32)


def _fit_sgd(X, y: np.ndarray, n_labels: int, alpha: float, seed: int, epochs: int):
    """Multi-class one-vs-rest SGD (modified Huber loss) for very large sets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SGDClassifier(
            loss="modified_huber",
            alpha=alpha,
            max_iter=epochs,
            tol=None,
            random_state=seed,
            n_jobs=N_JOBS,
        )
        model.fit(X, y)
    return _dense_ovr(model.coef_, model.intercept_, model.classes_, n_labels, X.shape[1])


def _scores(X, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Decision values in batches, so a huge set never needs docs x labels float64 at once."""
    out = np.empty((X.shape[0], W.shape[0]), dtype=np.float32)
    for start in range(0, X.shape[0], PREDICT_BATCH):
        out[start : start + PREDICT_BATCH] = X[start : start + PREDICT_BATCH] @ W.T + b
    return out


MODEL_NAMES = {
    "svm": "LinearSVC",
    "cnb": "ComplementNB",
    "mnb": "MultinomialNB",
    "sgd": "SGDClassifier",
    "svm+mnb": "LinearSVC + MultinomialNB",
    "svm+cnb": "LinearSVC + ComplementNB",
}
# A blend lists its own (see Candidate.hyperparameters).
HYPERPARAMETER = {"svm": "C", "cnb": "alpha", "mnb": "alpha", "sgd": "alpha"}
# The blend's naive Bayes kind, smoothing and share of the score, chosen on validation.
# Complement NB suits a few labels and the multinomial model many (see _fit_mnb);
# bench/study_blends.py checks this grid by cross-validation inside the training data.
BLENDS = ("mnb", "cnb")
BLEND_ALPHAS = (0.1, 0.03, 0.01, 0.003, 0.001)
BLEND_SHARES = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
# Rough cost of a candidate relative to LinearSVC(C=1) on the same features.
RELATIVE_COST = {
    ("svm", 0.25): 0.7,
    ("svm", 0.5): 0.85,
    ("svm", 1.0): 1.0,
    ("svm", 2.0): 1.25,
    ("svm", 4.0): 1.6,
}
C_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
NB = ("cnb", "mnb")


@dataclass(frozen=True)
class Candidate:
    features: str
    model: str  # "svm", "cnb", "mnb", "sgd", "svm+mnb" or "svm+cnb"
    value: float  # C or alpha
    # Blends only: the NB's smoothing, its share, and the (SVM, NB) score spreads.
    alpha: float = 0.0
    share: float = 0.0
    scales: tuple[float, float] = (1.0, 1.0)

    @property
    def name(self) -> str:
        if self.blend:
            return (
                f"{self.features} + LinearSVC(C={self.value:g}) "
                f"+ {self.share:g} x {MODEL_NAMES[self.nb]}(alpha={self.alpha:g})"
            )
        return f"{self.features} + {MODEL_NAMES[self.model]}({HYPERPARAMETER[self.model]}={self.value:g})"

    @property
    def hyperparameters(self) -> dict:
        if self.blend:
            return {"C": self.value, "alpha": self.alpha, "nb_share": self.share}
        return {HYPERPARAMETER[self.model]: self.value}

    @property
    def blend(self) -> bool:
        return self.model.startswith("svm+")

    @property
    def nb(self) -> str:
        """A blend's naive Bayes kind, "mnb" or "cnb"."""
        return self.model.removeprefix("svm+")

    @property
    def cost(self) -> float:
        model = "svm" if self.blend else self.model
        return RELATIVE_COST.get((model, self.value), 0.1 if model in NB else 1.0)


def _fit_candidate(
    cand: Candidate, X, y, Y, n_labels: int, mode: str, seed: int, should_stop, workers: int = 1
):
    if cand.blend:
        W, b = _fit_svm_mc(X, y, n_labels, cand.value, seed, workers)
        Wn, bn = _fit_nb(cand.nb, X, Y, cand.alpha)
        return _blend_weights(W, b, Wn, bn, cand.share, cand.scales)
    if cand.model in NB:
        return _fit_nb(cand.model, X, Y, cand.value)
    if cand.model == "sgd":
        return _fit_sgd(X, y, n_labels, cand.value, seed, epochs=SGD_EPOCHS)
    if mode == MULTI_CLASS:
        return _fit_svm_mc(X, y, n_labels, cand.value, seed, workers)
    return _fit_svm_ml(X, Y, cand.value, seed, should_stop)


def _never_stop() -> bool:
    return False


def _fit_and_score(cand: Candidate, X_fit, y, Y, X_val, n_labels: int, mode: str, seed: int):
    """One candidate of a pooled pair, in a worker process: its validation scores and seconds."""
    t0 = time.monotonic()
    W, b = _fit_candidate(cand, X_fit, y, Y, n_labels, mode, seed, _never_stop)
    return _scores(X_val, W, b), time.monotonic() - t0


# ---------------------------------------------------------------------------
# Calibration and thresholds


def _fit_temperature(D: np.ndarray, y: np.ndarray) -> float:
    """Softmax temperature minimising validation log loss."""

    def nll(log_t: float) -> float:
        logp = log_softmax(D / math.exp(log_t), axis=1)
        return float(-logp[np.arange(len(y)), y].mean())

    res = minimize_scalar(nll, bounds=(math.log(1e-3), math.log(1e3)), method="bounded")
    # Six significant digits: the last bits of the optimum depend on summation order.
    return float(f"{math.exp(res.x):.6g}")


def _softmax(D: np.ndarray, temperature: float) -> np.ndarray:
    return np.exp(log_softmax(D / temperature, axis=1)).astype(np.float32)


def _fit_platt(d: np.ndarray, t: np.ndarray, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Per-column Platt scaling (sigmoid(a*d + b)), vectorised Newton with Platt's targets."""
    n_pos = t.sum(axis=0)
    n_neg = t.shape[0] - n_pos
    target = np.where(t, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a = np.ones(d.shape[1])
    b = np.zeros(d.shape[1])
    ridge = 1e-6 * t.shape[0]
    for _ in range(iters):
        p = expit(a * d + b)
        g = p - target
        w = p * (1 - p) + 1e-12
        ga, gb = (g * d).sum(0) + ridge * (a - 1), g.sum(0) + ridge * b
        haa, hab, hbb = (w * d * d).sum(0) + ridge, (w * d).sum(0), w.sum(0) + ridge
        det = haa * hbb - hab * hab
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        # Damped step keeps Newton stable on separable columns.
        step = np.minimum(1.0, 5.0 / (np.abs(da) + np.abs(db) + 1e-12))
        a -= step * da
        b -= step * db
        if np.max(np.abs(step * da)) < 1e-7 and np.max(np.abs(step * db)) < 1e-7:
            break
    return a, b


def _micro_f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _counts(P: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = (P & T).sum(0)
    fp = (P & ~T).sum(0)
    fn = (~P & T).sum(0)
    return tp, fp, fn


def _force_top(P: np.ndarray, S: np.ndarray) -> np.ndarray:
    empty = ~P.any(axis=1)
    if empty.any():
        P = P.copy()
        P[np.flatnonzero(empty), S[empty].argmax(axis=1)] = True
    return P


_GRID = np.round(np.arange(0.02, 0.96, 0.02), 2)


def _tune_thresholds(S: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """Per-label thresholds on calibrated scores maximising validation micro-F1.

    Labels with few validation positives keep the global threshold, which avoids
    fitting noise. Returns thresholds, whether forcing the top label helps, and the F1.
    """
    T = T.astype(bool)
    best_global, best_f1 = 0.5, -1.0
    for thr in _GRID:
        f1 = _micro_f1(*(c.sum() for c in _counts(S >= thr, T)))
        if f1 > best_f1:
            best_global, best_f1 = float(thr), f1
    thresholds = np.full(S.shape[1], best_global)
    tp, fp, fn = (c.astype(float) for c in _counts(S >= thresholds, T))
    own = np.flatnonzero(T.sum(0) >= MIN_THRESHOLD_POSITIVES)
    for _ in range(2):  # coordinate ascent, two sweeps
        for k in own:
            rest = tp.sum() - tp[k], fp.sum() - fp[k], fn.sum() - fn[k]
            col, pos = S[:, k][:, None] >= _GRID[None, :], T[:, k][:, None]
            ctp, cfp, cfn = (col & pos).sum(0), (col & ~pos).sum(0), (~col & pos).sum(0)
            f1s = [
                _micro_f1(rest[0] + a, rest[1] + b, rest[2] + c)
                for a, b, c in zip(ctp, cfp, cfn, strict=True)
            ]
            j = int(np.argmax(f1s))
            if f1s[j] > _micro_f1(tp.sum(), fp.sum(), fn.sum()) + 1e-9:
                thresholds[k] = float(_GRID[j])
                tp[k], fp[k], fn[k] = ctp[j], cfp[j], cfn[j]
    P = S >= thresholds
    plain = _micro_f1(*(c.sum() for c in _counts(P, T)))
    forced = _micro_f1(*(c.sum() for c in _counts(_force_top(P, S), T)))
    return thresholds, forced > plain, max(plain, forced)


def _ml_score(D: np.ndarray, T: np.ndarray) -> float:
    """Model-selection score for multi-label candidates: micro-F1 at the best global cut."""
    T = T.astype(bool)
    lo, hi = np.percentile(D, [50, 99.9])
    best = 0.0
    for thr in np.linspace(lo, hi, 40):
        best = max(best, _micro_f1(*(c.sum() for c in _counts(D >= thr, T))))
    return best


# ---------------------------------------------------------------------------
# Splitting


def _split(y_keys: np.ndarray, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation split; classes too small to split share one stratum."""
    keys = y_keys.copy()
    values, counts = np.unique(keys, return_counts=True)
    rare = values[counts < 2]
    if len(rare):
        keys[np.isin(keys, rare)] = -1
        if (keys == -1).sum() < 2:
            keys[keys == -1] = values[counts.argmax()]
    sss = StratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    try:
        fit_idx, val_idx = next(sss.split(np.zeros(len(keys)), keys))
    except ValueError:
        # Too many strata for a small validation set: fall back to a plain shuffle.
        order = np.random.default_rng(seed).permutation(len(keys))
        fit_idx, val_idx = order[n_val:], order[:n_val]
    return np.sort(fit_idx), np.sort(val_idx)


def _ml_keys(rows: list[list[int]], n_labels: int) -> np.ndarray:
    """Stratify multi-label data on each document's rarest label."""
    freq = np.bincount([k for row in rows for k in row], minlength=n_labels)
    return np.fromiter(
        (min(row, key=freq.__getitem__, default=-1) for row in rows),
        dtype=np.int64,
        count=len(rows),
    )


# ---------------------------------------------------------------------------
# The trained model


@dataclass
class TrainedClassifier:
    """A fitted classifier: features, linear weights, calibration and thresholds."""

    labels: list[str]
    mode: str
    params: dict
    features: Features
    weights: np.ndarray
    bias: np.ndarray
    temperature: float = 1.0  # multi-class
    platt_a: np.ndarray | None = None  # multi-label
    platt_b: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    at_least_one: bool = True
    # A base model's sentence embeddings and their head, blended with the linear scores.
    embedding: embedding_model.EmbeddingPart | None = None

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Raw linear scores, documents x labels (blended with the embedding head's)."""
        texts = list(texts)
        X = self.features.transform(texts)
        D = _scores(X, self.weights, self.bias)
        if self.embedding is not None:
            D = self.embedding.blend(D, texts)
        return D

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, documents x labels (columns follow self.labels)."""
        out = []
        texts = list(texts)
        for start in range(0, len(texts), PREDICT_BATCH):
            D = self.decision_function(texts[start : start + PREDICT_BATCH])
            if self.mode == MULTI_CLASS:
                out.append(_softmax(D, self.temperature))
            else:
                out.append(expit(self.platt_a * D + self.platt_b).astype(np.float32))
        if not out:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return np.vstack(out)

    def predict_scores(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """Per document, every (label, probability) sorted by probability, highest first."""
        P = self.predict_proba(texts)
        order = np.argsort(-P, axis=1, kind="stable")
        return [
            [(self.labels[j], float(row[j])) for j in idx]
            for row, idx in zip(P, order, strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list:
        """Multi-class: the top label. Multi-label: labels over their thresholds."""
        P = self.predict_proba(texts)
        return self.predict_from_proba(P)

    def predict_from_proba(self, P: np.ndarray) -> list:
        """Turn predict_proba output into labels (saves recomputing scores)."""
        if self.mode == MULTI_CLASS:
            return [self.labels[j] for j in P.argmax(axis=1)]
        chosen = P >= self.thresholds
        if self.at_least_one:
            chosen = _force_top(chosen, P)
        return [[self.labels[j] for j in np.flatnonzero(row)] for row in chosen]


# ---------------------------------------------------------------------------
# Training


def default_time_budget(texts: Sequence[str]) -> float:
    """The work budget fit uses when none is given: it grows with the amount of text."""
    mb = sum(len(t) for t in texts) / 1e6
    return min(MAX_DEFAULT_BUDGET_S, DEFAULT_BUDGET_S + DEFAULT_BUDGET_PER_MB_S * mb)


# Parameters that measure wall time: kept with the version, left out of the model files.
TIMING_KEYS = ("fit_seconds", "seconds")


def without_timings(params: dict) -> dict:
    """The parameters without wall-clock figures (which differ run to run), as stored in the
    model files so that the same data and settings give the same bytes."""
    out = {k: v for k, v in params.items() if k not in TIMING_KEYS}
    if "candidates" in out:
        out["candidates"] = [
            {k: v for k, v in r.items() if k not in TIMING_KEYS} for r in out["candidates"]
        ]
    return out


def safety_note(params: dict) -> str | None:
    """What the version says when the safety time limit cut model selection short."""
    if not params.get("stopped_at_safety_limit"):
        return None
    results = params.get("candidates", [])
    tried = sum(1 for r in results if "skipped" not in r)
    return (
        f"Model selection stopped at the safety time limit "
        f"({params.get('safety_limit_seconds', 0):g} seconds) after {tried} of {len(results)} "
        "candidates; the result may differ on a faster machine."
    )


@dataclass
class _Data:
    """Labels encoded once, plus the validation split."""

    mode: str
    label_names: list[str]
    y: np.ndarray | None  # multi-class label ids
    rows: list[list[int]] | None  # multi-label label ids per document
    fit_idx: np.ndarray = None
    val_idx: np.ndarray = None

    def matrix(self, idx: np.ndarray) -> sp.csc_matrix:
        """Sparse boolean documents x labels indicator for the given documents."""
        if self.mode == MULTI_CLASS:
            cols = self.y[idx]
            indptr = np.arange(len(idx) + 1)
        else:
            picked = [self.rows[i] for i in idx]
            cols = np.fromiter((c for row in picked for c in row), dtype=np.int64)
            indptr = np.concatenate([[0], np.cumsum([len(row) for row in picked])])
        data = np.ones(len(cols), dtype=bool)
        shape = (len(idx), len(self.label_names))
        return sp.csr_matrix((data, cols, indptr), shape=shape).tocsc()


def _encode(labels: Sequence, mode: str) -> _Data:
    if mode == MULTI_CLASS:
        names = sorted(set(labels))
        index = {name: i for i, name in enumerate(names)}
        y = np.fromiter((index[lab] for lab in labels), dtype=np.int32, count=len(labels))
        return _Data(mode, names, y, None)
    names = sorted({lab for row in labels for lab in row})
    index = {name: i for i, name in enumerate(names)}
    return _Data(mode, names, None, [sorted({index[lab] for lab in row}) for row in labels])


class _Search:
    """Evaluation of candidates on one validation split, within a budget of work.

    Raw term counts of every training document are computed once per feature block and
    shared: the search weighs the rows of its fit and validation parts, and the final
    refit weighs all of them, so no document is tokenised twice.

    Every step is charged its estimated work (a function of the data's size, never of the
    clock), so which candidates fit the budget is the same on every machine. The wall clock
    only cuts the search at the safety limit; `cut` then says so.
    """

    def __init__(self, texts, data: _Data, seed, budget, safety_s, progress, should_stop):
        self.start = time.monotonic()
        self.texts, self.data, self.seed, self.budget = texts, data, seed, budget
        self.safety_s = safety_s
        self.progress, self.should_stop = progress, should_stop
        self.mode = data.mode
        self.n_labels = len(data.label_names)
        self.n_fit = len(data.fit_idx)
        self.n_val = len(data.val_idx)
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.fit_texts = [texts[i] for i in data.fit_idx]
        self.Y_fit = data.matrix(data.fit_idx)
        self.y_fit = data.y[data.fit_idx] if data.y is not None else None
        self.y_val = data.y[data.val_idx] if data.y is not None else None
        self.Y_val = data.matrix(data.val_idx).toarray() if self.mode == MULTI_LABEL else None
        self.results: list[dict] = []
        self.block_counts: dict[tuple, sp.csr_matrix] = {}  # raw counts of all documents
        self.matrices: dict[str, tuple] = {}  # feature set -> (X_fit, X_val)
        self.nnz: dict[str, int] = {}  # stored values of each vectorised feature set (fit part)
        self.n_features: dict[str, int] = {}
        self.count_nnz: dict[str, int] = {}  # stored raw counts of every document, per set
        self.features: dict[str, Features] = {}
        self.best: dict | None = None
        self.best_scores: np.ndarray | None = None
        self.blended: set[Candidate] = set()  # SVMs whose blends were tried
        self.fraction = 0.05
        self.spent = 0.0  # work charged so far
        self.cut = False  # the safety time limit stopped the search

    def elapsed(self) -> float:
        """Wall seconds since the search began (only ever compared with the safety limit)."""
        return time.monotonic() - self.start

    def _speedup(self, cand: Candidate, workers: int) -> float:
        """How much faster a fit runs on worker processes (multi-class SVMs split their labels)."""
        if workers <= 1 or self.mode != MULTI_CLASS or not cand.model.startswith("svm"):
            return 1.0
        return workers / 1.1

    def refit_estimate(self) -> float:
        if not self.best:
            return 0.0
        return self._refit(self.best["features"], self.best["refit_fit_work"])

    def refusal(self, work: float, cand: Candidate | None = None) -> str | None:
        """Why a step of this much work may not run ("work budget" when it would leave too
        little to refit the best model, or this candidate should it win; "safety time limit"
        once the wall clock has passed it), or None when it may. The first candidate always
        runs, so there is always a model."""
        if self.best is None:
            return None
        if self.cut or self.elapsed() > self.safety_s:
            self.cut = True
            return "safety time limit"
        refit = self.refit_estimate()
        if cand is not None:
            refit = max(refit, self._refit(cand.features, self.fit_work(cand, N_JOBS)))
        if self.spent + work + refit > self.budget:
            return "work budget"
        return None

    def affordable(self, work: float, cand: Candidate | None = None) -> bool:
        return self.refusal(work, cand) is None

    def _refit(self, features: str, fit_work: float) -> float:
        """Work to weigh every document and fit on them, from the search's figures."""
        scale = len(self.texts) / max(1, self.n_fit)
        weigh = WEIGH_WORK_PER_NNZ * self.count_nnz.get(features, 0)
        return 1.2 * (weigh + scale * fit_work)

    def step(self, fraction: float, message: str) -> None:
        self.fraction = max(self.fraction, min(fraction, 0.75))
        self.progress(self.fraction, message)

    def _score_work(self) -> float:
        return SCORE_WORK_PER_DOC_LABEL * self.n_val * self.n_labels

    def nb_work(self, features: str) -> float:
        """One naive Bayes fit on the fit part, scored on the validation part."""
        weights = self.n_labels * self.n_features.get(features, 0)
        nnz = self.nnz.get(features, 0)
        return NB_WORK_PER_NNZ * nnz + NB_WORK_PER_WEIGHT * weights + self._score_work()

    def fit_work(self, cand: Candidate, workers: int = 1) -> float:
        """Estimated work of fitting a candidate on the fit part and scoring it."""
        if cand.model == "sgd":
            return SGD_WORK_PER_DOC_LABEL * SGD_EPOCHS * self.n_fit * self.n_labels
        if cand.model in NB:
            return self.nb_work(cand.features)
        # Multi-label SVMs train their labels in N_JOBS worker processes.
        label_workers = 1 if self.mode == MULTI_CLASS else N_JOBS
        rate = SVM_WORK_PER_NNZ_LABEL[self.mode]
        svm = rate * self.nnz.get(cand.features, 0) * self.n_labels / label_workers
        work = svm * cand.cost / self._speedup(cand, workers) + self._score_work()
        if cand.blend:
            work += self.nb_work(cand.features)
        return work

    def svm_affordable(self, name: str, X) -> bool:
        """Whether LinearSVC(C=1) on X, and its refit, fit in the work budget."""
        self.nnz[name] = X.nnz
        self.n_features[name] = X.shape[1]
        work = self.fit_work(Candidate(name, "svm", 1.0), N_JOBS)
        return self.spent + work + self._refit(name, work) <= self.budget

    def count_work(self, blocks: list[Block]) -> float:
        """Work of counting these blocks' raw terms in every training document."""
        work = 0.0
        for blk in blocks:
            if blk.count_key in self.block_counts:
                continue
            if blk.kind == "char":
                work += COUNT_WORK_PER_CHAR["char"] * int(
                    np.minimum(self.lengths, blk.prefix).sum()
                )
            elif blk.kind == "head":
                work += COUNT_WORK_PER_DOC * len(self.lengths)
            else:
                work += COUNT_WORK_PER_CHAR["word"] * int(self.lengths.sum())
        return work

    def counts(self, blocks: list[Block]) -> list[sp.csr_matrix]:
        """Raw counts of every training document for these blocks, counted once."""
        missing = [blk for blk in blocks if blk.count_key not in self.block_counts]
        if missing:
            for blk, counted in zip(missing, _hashed_counts(missing, self.texts), strict=True):
                self.block_counts[blk.count_key] = counted
        return [self.block_counts[blk.count_key] for blk in blocks]

    def vectorise(self, name: str):
        """Fit features on the training part; None when the budget does not allow it."""
        _check_stop(self.should_stop)
        blocks = Features.create(name, self.fit_texts, self.n_labels).blocks
        count = self.count_work(blocks)
        refused = self.refusal(1.5 * count + self.fit_work(Candidate(name, "svm", 1.0), N_JOBS))
        if refused:
            self.results.append({"features": name, "skipped": refused})
            self.step(self.fraction, f"skipping {name} features ({refused})")
            return None
        self.step(self.fraction + 0.02, f"vectorising {name} features")
        features = Features.create(name, self.fit_texts, self.n_labels)
        counts = self.counts(features.blocks)
        X_fit = features.fit_counts([c[self.data.fit_idx] for c in counts])
        X_val = features.weigh_counts([c[self.data.val_idx] for c in counts])
        self.count_nnz[name] = sum(c.nnz for c in counts)
        share = (self.n_fit + self.n_val) / max(1, len(self.texts))
        self.spent += count + WEIGH_WORK_PER_NNZ * self.count_nnz[name] * share
        self.nnz[name] = X_fit.nnz
        self.n_features[name] = X_fit.shape[1]
        self.features[name] = features
        self.matrices[name] = (X_fit, X_val)
        return X_fit, X_val

    def word_part(self, X_fit, X_val):
        """The word blocks of the word+char matrices, by column slicing (no re-counting)."""
        union = self.features["word+char"]
        n_word = sum(b.n_features for b in union.blocks if b.kind != "char")
        X_fit, X_val = X_fit[:, :n_word], X_val[:, :n_word]
        self.nnz["word"] = X_fit.nnz
        self.n_features["word"] = n_word
        words = [blk for blk in union.blocks if blk.kind != "char"]
        self.count_nnz["word"] = sum(self.block_counts[blk.count_key].nnz for blk in words)
        self.matrices["word"] = (X_fit, X_val)
        return X_fit, X_val

    def refit_matrix(self, name: str, texts: Sequence[str]) -> tuple[Features, sp.csr_matrix]:
        """The chosen feature set fitted on every document, from the shared counts."""
        features = Features.create(name, texts, self.n_labels)
        X = features.fit_counts(self.counts(features.blocks))
        self.block_counts.clear()
        self.matrices.clear()
        return features, X

    def run(self, X_fit, X_val, candidates: list[Candidate], parallel: bool = False) -> None:
        """Evaluate a round of candidates (two at a time in worker processes when parallel)."""
        todo = []
        workers = 1 if parallel and len(candidates) > 1 else N_JOBS
        for cand in candidates:
            _check_stop(self.should_stop)
            refused = self.refusal(self.fit_work(cand, workers), cand)
            if refused is None:
                todo.append(cand)
            else:
                self.results.append({"candidate": cand.name, "skipped": refused})
                self.step(self.fraction, f"skipped {cand.name} ({refused})")
        if not todo:
            return
        pooled = len(todo) > 1 and workers == 1
        if pooled:
            # Each candidate in a worker process of its own (see N_JOBS); results come back in
            # order, each depending only on its inputs.
            y, Y = self.y_fit, self.Y_fit
            jobs = (
                delayed(_fit_and_score)(c, X_fit, y, Y, X_val, self.n_labels, self.mode, self.seed)
                for c in todo
            )
            fitted = Parallel(n_jobs=N_JOBS)(jobs)
            _check_stop(self.should_stop)
            outcomes = [(self._score(D), D, seconds) for D, seconds in fitted]
            works = [self.fit_work(c, 1) / N_JOBS for c in todo]
        else:
            outcomes = [self._evaluate(c, X_fit, X_val, N_JOBS) for c in todo]
            works = [self.fit_work(c, N_JOBS) for c in todo]
        for cand, (score, D, seconds), work in zip(todo, outcomes, works, strict=True):
            self.spent += work
            self._record(cand, score, D, seconds, work, self.fit_work(cand, N_JOBS))

    def _record(
        self, cand: Candidate, score: float, D, seconds: float, work: float, refit_fit: float
    ):
        metric = "accuracy" if self.mode == MULTI_CLASS else "micro-F1"
        result = {
            "candidate": cand.name,
            "features": cand.features,
            "model": MODEL_NAMES[cand.model],
            **cand.hyperparameters,
            f"validation_{metric}": round(float(score), 5),
            "work": float(f"{work:.3g}"),
            "seconds": round(seconds, 2),
        }
        self.results.append(result)
        self.step(self.fraction + 0.08, f"{cand.name}: validation {metric} {score:.4f}")
        if self.best is None or score > self.best["score"] + 1e-9:
            self.best = {
                "candidate": cand,
                "features": cand.features,
                "score": score,
                "refit_fit_work": refit_fit,
            }
            self.best_scores = D

    def _evaluate(self, cand: Candidate, X_fit, X_val, workers: int):
        t0 = time.monotonic()
        W, b = _fit_candidate(
            cand,
            X_fit,
            self.y_fit,
            self.Y_fit,
            self.n_labels,
            self.mode,
            self.seed,
            self.should_stop,
            workers,
        )
        D = _scores(X_val, W, b)
        seconds = time.monotonic() - t0
        return self._score(D), D, seconds

    def _score(self, D: np.ndarray) -> float:
        if self.mode == MULTI_CLASS:
            return float((D.argmax(axis=1) == self.y_val).mean())
        return _ml_score(D, self.Y_val)

    def blend(self) -> None:
        """Try the best SVM plus a naive Bayes model on the same features (multi-class).

        Both are linear in the same features, so the blend is one weight matrix: it costs
        nothing at prediction time. Scores are put on one scale by their spread on the
        validation part; the NB's kind, share and smoothing are chosen there too.
        """
        svm = self.best["candidate"] if self.best else None
        if svm is None or svm.model != "svm" or svm.features not in self.matrices:
            return
        if svm in self.blended:  # already tried before a later candidate
            return
        self.blended.add(svm)
        _check_stop(self.should_stop)
        t0 = time.monotonic()
        X_fit, X_val = self.matrices[svm.features]
        D_svm = self.best_scores
        s_svm = _spread(D_svm)
        best = None
        # One smoothing of one kind, tried with every share.
        step = self.nb_work(svm.features) + len(BLEND_SHARES) * self._score_work()
        work = 0.0
        for alpha, kind in itertools.product(BLEND_ALPHAS, BLENDS):
            _check_stop(self.should_stop)
            if best is not None and not self.affordable(step):
                break
            Wn, bn = _fit_nb(kind, X_fit, self.Y_fit, alpha)
            D_nb = _scores(X_val, Wn, bn)
            del Wn
            D_nb -= D_nb.mean(axis=1, keepdims=True)
            s_nb = _spread(D_nb)
            for share in BLEND_SHARES:
                D = _blend_scores(D_svm, s_svm, D_nb, s_nb, share)
                score = self._score(D)
                if best is None or score > best[0] + 1e-9:
                    best = (score, kind, alpha, share, s_nb, D)
            self.spent += step
            work += step
        score, kind, alpha, share, s_nb, D = best
        cand = Candidate(
            svm.features, f"svm+{kind}", svm.value, alpha=alpha, share=share, scales=(s_svm, s_nb)
        )
        self._record(cand, score, D, time.monotonic() - t0, work, self.fit_work(cand, N_JOBS))

    def score_of(self, cand: Candidate) -> float:
        for r in self.results:
            if r.get("candidate") == cand.name and "seconds" in r:
                return next(v for k, v in r.items() if k.startswith("validation_"))
        return -1.0


def _spread(D: np.ndarray) -> float:
    """Standard deviation of row-centred scores, to six digits (stable across runs)."""
    spread = float(np.std(D - D.mean(axis=1, keepdims=True)))
    return float(f"{spread:.6g}") if spread > 0 else 1.0


def _search(search: _Search, large: bool) -> None:
    """The candidate plan: a strong baseline first, then what the budget allows."""
    multi_class = search.mode == MULTI_CLASS
    if large:
        Xs = search.vectorise("large-word")
        search.run(*Xs, [Candidate("large-word", "mnb", 0.1), Candidate("large-word", "cnb", 0.1)])
        if multi_class:
            search.run(*Xs, [Candidate("large-word", "sgd", 1e-6)])
        return
    # Words and characters are counted once; the word-only feature set is a column
    # slice of the union.
    union = search.vectorise("word+char")
    words = search.word_part(*union)
    if multi_class:
        # Character n-grams help most, so the union leads when its SVMs fit the budget.
        if search.svm_affordable("word+char", union[0]):
            _walk_c(search, "word+char", union, parallel=True)
            # Blends take seconds and add more than the word-only check below, so they
            # come first when the budget is tight.
            search.blend()
            best_c = _best_c(search, "word+char")
            search.run(
                *words,
                [Candidate("word", "svm", best_c), Candidate("word", "cnb", 0.3)],
                parallel=True,
            )
        else:
            if not search.svm_affordable("word", words[0]):
                search.run(*words, [Candidate("word", "cnb", 0.3)])
            _walk_c(search, "word", words, parallel=True)
            search.run(*words, [Candidate("word", "cnb", 0.3)])
            search.run(
                *union, [Candidate("word+char", "svm", _best_c(search, "word"))], parallel=True
            )
        search.blend()
        return
    # Multi-label SVMs cost one fit per label: words first, then the union if affordable.
    if not search.svm_affordable("word", words[0]):
        search.run(*words, [Candidate("word", "cnb", 0.3)])
    _walk_c(search, "word", words, parallel=False)
    search.run(*union, [Candidate("word+char", "svm", _best_c(search, "word"))])


def _walk_c(search: _Search, name: str, Xs, parallel: bool) -> None:
    """Try C = 1 and 2, then one more step in the direction that helped."""
    c1, c2 = Candidate(name, "svm", 1.0), Candidate(name, "svm", 2.0)
    if parallel:
        search.run(*Xs, [c1, c2], parallel=True)
    else:
        search.run(*Xs, [c1])
        search.run(*Xs, [Candidate(name, "svm", 0.5)])
        lower = search.score_of(Candidate(name, "svm", 0.5)) > search.score_of(c1)
        search.run(*Xs, [Candidate(name, "svm", 0.25) if lower else c2])
        return
    search.run(
        *Xs, [Candidate(name, "svm", 4.0 if search.score_of(c2) > search.score_of(c1) else 0.5)]
    )


def _best_c(search: _Search, name: str) -> float:
    """The best C tried on these features; ties go to the C closest to 1."""
    tried = [c for c in C_GRID if search.score_of(Candidate(name, "svm", c)) >= 0]
    if not tried:
        return 1.0
    return max(tried, key=lambda c: (search.score_of(Candidate(name, "svm", c)), -abs(math.log(c))))


class _BaseModelPlan:
    """The base model's candidate: load its encoder, count the work of embedding every
    document, then (after the TF-IDF search) fit a head on the fit part's embeddings and
    blend it with the best TF-IDF model's validation scores."""

    def __init__(self, base_model, texts, data: _Data, *, explicit_budget: bool, fine_tune=None):
        self.base_model = base_model
        self.fine_tune = fine_tune  # None: the rule decides; True or False: tests force it
        self.tune = None
        self.texts = texts
        self.data = data
        self.extra_budget = 0.0
        self.enc = None
        self.warning = None
        self.reason = ""
        self.figures: dict = {}
        self.chosen: dict | None = None
        if base_model is None:
            return
        self.name = base_model.name
        self.enc, self.warning = load_base_encoder(base_model)
        if self.enc is not None:
            self.enc.final = True  # the classifier only embeds with it
        if self.enc is None:
            self.reason = (
                f"Not used: {self.name} could not be loaded, so it was trained without it."
            )
            return
        doc_pieces = embedding_model.piece_counts(self.enc, texts)
        self.pieces = int(doc_pieces.sum())
        self.mean_pieces = self.pieces / len(texts)
        self.embed_work = embedding_model.embed_work(self.enc, self.pieces)
        if self.fine_tune is not False and (
            self.fine_tune or self.mean_pieces <= embedding_tuning.MAX_MEAN_PIECES
        ):
            self.tune = embedding_tuning.Plan(
                self.enc, int(doc_pieces[data.fit_idx].sum()), int(doc_pieces[data.val_idx].sum())
            )
        n_labels = len(data.label_names)
        hidden = self.enc.hidden_size
        self.head_fit_work = embedding_model.head_work(
            data.mode, len(data.fit_idx), hidden, n_labels
        )
        self.head_refit_work = embedding_model.head_work(data.mode, len(texts), hidden, n_labels)
        if not explicit_budget:
            # Embedding every document once, one head fit on the fit part and its refit.
            need = self.embed_work + self.head_fit_work + self.head_refit_work
            if self.tune is not None:
                need += self.tune.epoch_work * int(self.tune.settings["epochs"])
            self.extra_budget = min(embedding_model.MAX_EXTRA_BUDGET, need)

    def _row(self, **fields) -> dict:
        return {
            "candidate": fields.pop("candidate"),
            "features": fields.pop("features", f"{self.name} embeddings"),
            **fields,
            "chosen": False,
        }

    def try_candidate(self, search: _Search, seed: int, forced_share: float | None):
        """Run the candidate within the search's budget; (blended validation scores, score)
        when the blend wins (or its share is forced above 0), else None."""
        if self.enc is None:
            return None
        metric = "accuracy" if search.mode == MULTI_CLASS else "micro-F1"
        score_key = "validation_accuracy" if search.mode == MULTI_CLASS else "validation_micro-F1"
        head_name = f"{self.name} embeddings + LogisticRegression"
        without = float(search.best["score"])
        self.figures = {
            "max_tokens": embedding_model.MAX_TOKENS,
            "pieces": self.pieces,
            "embedding_work": float(f"{self.embed_work:.3g}"),
            f"validation_{metric}_without": round(without, 5),
        }
        need = self.embed_work + self.head_fit_work + self.head_refit_work
        refused = search.refusal(need)
        if refused is not None:
            search.results.append(self._row(candidate=head_name, skipped=refused))
            left = max(0.0, search.budget - search.spent - search.refit_estimate())
            if refused == "work budget":
                self.reason = (
                    f"Not tried: embedding the documents with {self.name} and fitting its head "
                    f"needs {need:.0f} units of work and the budget left {left:.0f}."
                )
            else:
                self.reason = f"Not tried: the search reached its {refused}."
            return None
        _check_stop(search.should_stop)
        search.step(search.fraction + 0.02, f"embedding {len(self.texts):,} documents")
        t0 = time.monotonic()
        seed_everything(seed)
        parts = []
        for start in range(0, len(self.texts), embedding_model.CHUNK_DOCS):
            _check_stop(search.should_stop)
            parts.append(
                embedding_model.embed(
                    self.enc, self.texts[start : start + embedding_model.CHUNK_DOCS]
                )
            )
            search.step(
                search.fraction,
                f"embedded {min(start + embedding_model.CHUNK_DOCS, len(self.texts)):,} documents",
            )
        self.E = np.vstack(parts)
        embed_seconds = time.monotonic() - t0
        search.spent += self.embed_work
        E_fit, E_val = self.E[self.data.fit_idx], self.E[self.data.val_idx]
        heads = []
        for i, C in enumerate(embedding_model.HEAD_C):
            work = self.head_fit_work + search._score_work()
            if i and not search.affordable(work + self.head_refit_work):
                search.results.append(
                    self._row(candidate=f"{head_name}(C={C:g})", skipped="work budget")
                )
                continue
            _check_stop(search.should_stop)
            t0 = time.monotonic()
            W, b = embedding_model.fit_head(
                E_fit,
                search.y_fit,
                search.Y_fit,
                search.n_labels,
                search.mode,
                C,
                lambda: _check_stop(search.should_stop),
            )
            D_e = embedding_model.head_scores(E_val, W, b)
            score = search._score(D_e)
            search.spent += work
            row = self._row(
                candidate=f"{head_name}(C={C:g})",
                model="LogisticRegression",
                C=C,
                **{score_key: round(float(score), 5)},
                work=float(f"{work + (0 if i else self.embed_work):.3g}"),
                seconds=round(time.monotonic() - t0 + (0 if i else embed_seconds), 2),
            )
            if not i:
                row["embedding_work"] = self.figures["embedding_work"]
            search.results.append(row)
            search.step(
                search.fraction + 0.03, f"{row['candidate']}: validation {metric} {score:.4f}"
            )
            heads.append((score, C, D_e, W, b))
        score_e, C, D_e, W_e, b_e = max(heads, key=lambda h: h[0])  # ties: the first (smaller) C
        self.figures[f"validation_{metric}_embeddings_alone"] = round(float(score_e), 5)
        tuned = self._tuned(search, seed, score_e, without, metric)
        # The blends: shares tried in order, ties keep the smaller share and the frozen
        # encoder (fine-tuned, it must do strictly better).
        D_t = search.best_scores
        shares = (forced_share,) if forced_share is not None else embedding_model.SHARES
        tfidf = search.best["candidate"].name
        heads = [(f"{head_name}(C={C:g})", "LogisticRegression", D_e, None)]
        if tuned is not None:
            tuned_head = (tuned["candidate"], "linear layer", tuned["D"], tuned)
            heads = [tuned_head] if self.fine_tune else [*heads, tuned_head]
        best = None
        for name, model, D_h, tuning in heads:
            t0 = time.monotonic()
            scales = (_spread(D_t), _spread(D_h))
            best_here = None
            for share in shares:
                D = embedding_model.blend_scores(D_t, D_h, share, scales)
                score = search._score(D)
                if best_here is None or score > best_here[0] + 1e-9:
                    best_here = (score, share, D)
            score, share, D = best_here
            work = len(shares) * search._score_work()
            search.spent += work
            row = self._row(
                candidate=f"{tfidf} + {share:g} x {name}",
                features=f"{search.best['features']} + {self.name} embeddings"
                + (" (fine-tuned)" if tuning else ""),
                model=f"{MODEL_NAMES[search.best['candidate'].model]} + {model}",
                share=share,
                **({"C": C} if tuning is None else {}),
                **{score_key: round(float(score), 5)},
                work=float(f"{work:.3g}"),
                seconds=round(time.monotonic() - t0, 2),
            )
            search.results.append(row)
            if best is None or score > best[0] + 1e-9:
                best = (score, share, D, scales, row, tuning)
        score, share, D, scales, blend_row, tuning = best
        self.figures.update(
            {
                f"validation_{metric}_with": round(float(score), 5),
                "share": share,
                "fine_tuned": tuning is not None,
            }
        )
        if tuning is None:
            self.figures["head_C"] = C
        what = (
            f"its encoder fine-tuned on the training documents ({tuning['info']['epochs']} epochs)"
            if tuning
            else "its sentence embeddings"
        )
        forced = forced_share is not None and forced_share > 0
        if not forced and (share <= 0 or score <= without + 1e-9):
            self.reason = (
                f"Not used: on validation the blend with {self.name}'s sentence embeddings "
                f"scored {metric} {score:.3f}, no better than {without:.3f} without it."
            )
            return None
        self.reason = (
            f"Used {self.name}: on validation the blend with {what} scored "
            f"{metric} {score:.3f}, without it {without:.3f}."
        )
        for row in search.results:
            row.setdefault("chosen", False)
        blend_row["chosen"] = True
        low = {
            name: self._precision_allowed(
                name, search, D_t, share, scales, tuning, W_e, b_e, score, metric
            )
            for name in ("bf16", "int8")
        }
        self.chosen = {"C": C, "share": share, "scales": scales, "tuned": tuning, **low}
        return D, score

    def _precision_allowed(
        self, name, search, D_t, share, scales, tuning, W, b, score, metric
    ) -> bool:
        """Whether the chosen blend may embed in `name` ("bf16" or "int8") when served: its
        validation score with such embeddings stays within PRECISION_TOLERANCE of float32's.
        Measured the same way on any machine (bfloat16 emulated where it must be), so the model
        does not depend on it. bfloat16 is used where the device has it natively, else int8 on a
        CPU."""
        enc, W, b = (tuning["enc"], tuning["W"], tuning["b"]) if tuning else (self.enc, W, b)
        if name == "int8" and enc.device.type != "cpu":
            return False
        val_texts = [self.texts[i] for i in self.data.val_idx]
        E_val = embedding_model.embed(enc, val_texts, **{name: True})
        D = embedding_model.blend_scores(
            D_t, embedding_model.head_scores(E_val, W, b), share, scales
        )
        score_low = search._score(D)
        search.spent += self.embed_work * len(val_texts) / max(1, len(self.texts))
        allowed = bool(score_low >= score - PRECISION_TOLERANCE)
        self.figures[f"validation_{metric}_{name}"] = round(float(score_low), 5)
        self.figures[name] = allowed
        if allowed and name == "bf16":
            self.reason += (
                f" It embeds in bfloat16 where the device has it natively (its validation "
                f"{metric} {score_low:.3f}, in float32 {score:.3f})."
            )
        elif allowed:
            where = "Elsewhere on" if self.figures.get("bf16") else "On"
            self.reason += (
                f" {where} a CPU it embeds in int8 (its validation {metric} {score_low:.3f}, "
                f"in float32 {score:.3f})."
            )
        return allowed

    def _tuned(self, search: _Search, seed: int, frozen: float, without: float, metric: str):
        """The fine-tuned candidate's validation scores and model, or None when it is not
        worth trying (`embedding_tuning.worth_trying`) or does not fit the budget."""
        if self.tune is None:
            return None
        if self.fine_tune is None and not embedding_tuning.worth_trying(
            self.mean_pieces, frozen, without
        ):
            self.figures["fine_tuning"] = (
                "not tried: the frozen embeddings alone beat the TF-IDF model on validation"
            )
            return None
        name = f"{self.name} fine-tuned + linear layer"
        if search.cut or search.elapsed() > search.safety_s:
            search.cut = True
            refused = "safety time limit"
        else:
            # Work the frozen head's refit needs stays in reserve, should that head win.
            left = search.budget - search.spent - search.refit_estimate() - self.head_refit_work
            n_epochs = self.tune.epochs(left - search._score_work())
            refused = None if n_epochs else "work budget"
        if refused is not None:
            search.results.append(self._row(candidate=name, skipped=refused))
            self.figures["fine_tuning"] = (
                f"not tried: one epoch needs {self.tune.epoch_work:.0f} units of work, more "
                "than the budget left"
                if refused == "work budget"
                else "not tried: the search reached its safety time limit"
            )
            return None
        if search.mode == MULTI_CLASS:
            targets = search.y_fit
        else:
            targets = search.Y_fit.toarray().astype(np.float32)
        fit_texts = search.fit_texts
        val_texts = [self.texts[i] for i in self.data.val_idx]
        t0 = time.monotonic()
        search.step(search.fraction + 0.02, f"fine-tuning {self.name}")

        def progress(epoch: int, value: float) -> None:
            search.step(
                search.fraction + 0.04,
                f"fine-tuning {self.name}: epoch {epoch} of {n_epochs}, validation "
                f"{metric} {value:.4f}",
            )

        def past_safety_limit() -> bool:
            search.cut = search.cut or search.elapsed() > search.safety_s
            return search.cut

        enc, W, b, D, info = embedding_tuning.fine_tune(
            self.enc,
            fit_texts,
            targets,
            val_texts,
            mode=search.mode,
            n_labels=search.n_labels,
            plan=self.tune,
            n_epochs=n_epochs,
            seed=seed,
            score=search._score,
            should_stop=search.should_stop,
            past_safety_limit=past_safety_limit,
            progress=progress,
        )
        score = info["validation_scores"][info["best_epoch"] - 1]
        search.spent += info["work"] + search._score_work()
        score_key = "validation_accuracy" if search.mode == MULTI_CLASS else "validation_micro-F1"
        search.results.append(
            self._row(
                candidate=name,
                features=f"{self.name} embeddings (fine-tuned)",
                model="linear layer",
                **{score_key: round(float(score), 5)},
                epochs=info["epochs"],
                best_epoch=info["best_epoch"],
                work=info["work"],
                seconds=round(time.monotonic() - t0, 2),
            )
        )
        self.figures["fine_tuning"] = info
        self.figures[f"validation_{metric}_fine_tuned_alone"] = round(float(score), 5)
        return {"candidate": name, "D": D, "enc": enc, "W": W, "b": b, "info": info}

    def refit_head(
        self, data: _Data, mode: str, should_stop
    ) -> embedding_model.EmbeddingPart | None:
        """The chosen head refitted on every document's embedding."""
        if self.chosen is None:
            return None
        tuned = self.chosen["tuned"]
        if tuned is not None:
            # The encoder learnt from the fit part and its epochs were chosen on the
            # validation part; it is kept as it is.
            self.E = None
            return embedding_model.EmbeddingPart(
                encoder=tuned["enc"],
                weights=tuned["W"],
                bias=tuned["b"],
                share=self.chosen["share"],
                scales=self.chosen["scales"],
                max_tokens=embedding_model.MAX_TOKENS,
                base_model=self.name,
                bf16=self.chosen["bf16"],
                int8=self.chosen["int8"],
            )
        all_idx = np.arange(len(self.texts))
        W, b = embedding_model.fit_head(
            self.E,
            data.y,
            data.matrix(all_idx),
            len(data.label_names),
            mode,
            self.chosen["C"],
            lambda: _check_stop(should_stop),
        )
        self.E = None
        return embedding_model.EmbeddingPart(
            encoder=self.enc,
            weights=W,
            bias=b,
            share=self.chosen["share"],
            scales=self.chosen["scales"],
            max_tokens=embedding_model.MAX_TOKENS,
            base_model=self.name,
            bf16=self.chosen["bf16"],
            int8=self.chosen["int8"],
        )

    def summary(self) -> dict:
        return {
            "name": self.name,
            "sha256": self.base_model.sha256,
            "used": self.chosen is not None,
            "reason": self.reason,
            "warning": self.warning,
            **self.figures,
        }


def fit(
    texts: Sequence[str],
    labels: Sequence,
    *,
    mode: str,
    seed: int = 0,
    time_budget_s: float | None = None,
    safety_factor: float = SAFETY_FACTOR,
    safety_min_s: float = SAFETY_MIN_S,
    progress: Callable[[float, str], None] = lambda fraction, step: None,
    should_stop: Callable[[], bool] = lambda: False,
    base_model=None,
    embedding_share: float | None = None,
    fine_tune: bool | None = None,
) -> TrainedClassifier:
    """Choose features, model and hyperparameters on a validation split; refit on all data.

    `time_budget_s` is the search's budget of work (about seconds on an idle two-core machine;
    by default it grows with the text): the same data and budget choose the same model on any
    machine. The wall clock stops the search only after `safety_factor` times that many
    seconds (at least `safety_min_s`), and `params["stopped_at_safety_limit"]` then says so.

    `base_model` (a `base_models.BaseModel`) adds a candidate after the TF-IDF search: its
    sentence embeddings with a logistic regression head, blended with the best TF-IDF model when
    validation says so (`params["base_model"]` says what was chosen and why). The default budget
    then grows by the work of embedding the documents. A base model that cannot be loaded gives
    a warning there, never an error. For short documents, when the frozen embeddings alone
    fall short of the TF-IDF model on validation, the encoder fine-tuned on the fit part is
    one more candidate (`embedding_tuning`); the default budget also grows by its planned
    epochs. `embedding_share` fixes the blend's share instead of choosing it on validation,
    and `fine_tune` uses (True) or never tries (False) the fine-tuned encoder whatever the
    rule and validation say (for tests that need a path whatever the data).
    """
    if mode not in (MULTI_CLASS, MULTI_LABEL):
        raise ValueError(f"unknown mode {mode!r}")
    texts = list(texts)
    if len(texts) != len(labels) or len(texts) < 4:
        raise ValueError("fit needs at least 4 documents and one label entry per document")
    start = time.monotonic()
    budget = float(time_budget_s) if time_budget_s else default_time_budget(texts)
    progress(0.0, "preparing data")
    _check_stop(should_stop)

    data = _encode(labels, mode)
    n_labels = len(data.label_names)
    if n_labels < 2:
        raise ValueError("a classifier needs at least two labels")
    if mode == MULTI_CLASS:
        keys = data.y
    else:
        keys = _ml_keys(data.rows, n_labels)
    n_val = min(int(round(0.2 * len(texts))), MAX_VALIDATION_DOCS)
    n_val = max(n_val, min(n_labels, len(texts) // 2), 2)
    data.fit_idx, data.val_idx = _split(keys, n_val, seed)
    if len(data.fit_idx) > MAX_SEARCH_DOCS:
        # Comparing candidates on a stratified subsample is far cheaper and ranks them
        # the same; only the final refit sees every document.
        rest = np.setdiff1d(np.arange(len(texts)), data.val_idx)
        sub, _ = _split(keys[rest], len(rest) - MAX_SEARCH_DOCS, seed)
        data.fit_idx = rest[sub]

    large = len(texts) > LARGE_DOCS or len(texts) * n_labels > LARGE_WORK
    base = _BaseModelPlan(
        base_model, texts, data, explicit_budget=bool(time_budget_s), fine_tune=fine_tune
    )
    safety_s = max(safety_factor * (budget + base.extra_budget), safety_min_s)
    search = _Search(texts, data, seed, budget, safety_s, progress, should_stop)
    _search(search, large)

    best = search.best
    cand: Candidate = best["candidate"]
    D = search.best_scores
    best_score = best["score"]
    if base_model is not None:
        # The TF-IDF search ran within today's budget, so its choice is today's; the embedding
        # candidate gets what its own work added.
        search.budget += base.extra_budget
        blended = base.try_candidate(search, seed, embedding_share)
        if blended is not None:
            D, best_score = blended
    _check_stop(should_stop)
    progress(0.76, f"calibrating {cand.name}")
    kwargs: dict = {}
    if mode == MULTI_CLASS:
        kwargs["temperature"] = _fit_temperature(D, search.y_val)
        validation = {"accuracy": round(float(best_score), 5)}
    else:
        Y_val = search.Y_val
        a, b = _fit_platt(D, Y_val)
        # Labels with too few validation positives share one pooled calibration.
        few = Y_val.sum(0) < 3
        if few.any():
            pa, pb = _fit_platt(D[:, few].reshape(-1, 1), Y_val[:, few].reshape(-1, 1))
            a[few], b[few] = pa[0], pb[0]
        thresholds, at_least_one, f1 = _tune_thresholds(expit(a * D + b), Y_val)
        kwargs.update(
            platt_a=a.astype(np.float32),
            platt_b=b.astype(np.float32),
            thresholds=thresholds.astype(np.float32),
            at_least_one=at_least_one,
        )
        validation = {
            "micro_f1_global_cut": round(float(best_score), 5),
            "micro_f1_tuned": round(float(f1), 5),
        }
    del D, search.best_scores

    _check_stop(should_stop)
    progress(0.8, f"refitting {cand.name} on all {len(texts):,} documents")
    all_idx = np.arange(len(texts))
    features, X_all = search.refit_matrix(cand.features, texts)
    _check_stop(should_stop)
    W, b = _fit_candidate(
        cand, X_all, data.y, data.matrix(all_idx), n_labels, mode, seed, should_stop, N_JOBS
    )
    del X_all
    embedding = base.refit_head(data, mode, should_stop) if base_model is not None else None
    params = {
        "features": cand.features,
        "feature_blocks": [blk.spec() for blk in features.blocks],
        "n_features": features.n_features,
        "model": MODEL_NAMES[cand.model],
        "hyperparameters": cand.hyperparameters,
        "calibration": "softmax temperature" if mode == MULTI_CLASS else "per-label Platt",
        "validation": validation,
        "validation_documents": int(len(data.val_idx)),
        "search_documents": int(len(data.fit_idx)),
        "candidates": search.results,
        "seed": seed,
        "work_budget": round(search.budget, 1),
        "work_spent": float(f"{search.spent:.3g}"),
        "safety_limit_seconds": round(search.safety_s, 1),
        "stopped_at_safety_limit": search.cut,
        # Wall time: shown with the version, never stored in the model files (TIMING_KEYS).
        "fit_seconds": round(time.monotonic() - start, 2),
    }
    if mode == MULTI_CLASS:
        params["temperature"] = round(kwargs["temperature"], 6)
    else:
        params["thresholds"] = {
            name: round(float(t), 4)
            for name, t in zip(data.label_names, kwargs["thresholds"], strict=True)
        }
        params["at_least_one"] = bool(kwargs["at_least_one"])
    if base_model is not None:
        params["base_model"] = base.summary()
    model = TrainedClassifier(
        labels=data.label_names,
        mode=mode,
        params=params,
        features=features,
        weights=W,
        bias=b,
        embedding=embedding,
        **kwargs,
    )
    progress(1.0, "done")
    return model
