"""A linear-chain CRF, the second member of the recognizer's ensemble.

It sees each token through hand-written features (the lower-cased word, its shape, prefixes
and suffixes of one to six characters, capitalisation, digits and hyphens, the words, shapes and
word bigrams within two tokens, the shapes of the token and its two neighbours together, and the
word with the shape before it) and is trained by L-BFGS with L1 and L2 penalties
(python-crfsuite, the C++ CRFsuite). Its mistakes differ from the CNN's, so averaging the two
models' span probabilities beats either alone (see `recognizer.fit`).

Tokens are spaCy's without its infix rules, so "6-1", "1996-08-22" and "year-old" stay whole:
on CoNLL-2003 dev that scored 0.9143 in the ensemble against 0.9127 with spaCy's own tokens
(hyphenated scores and dates are common in news and sports tables).

Span probabilities come from the CRF's token marginals: a span (i, j, T) gets the smallest of
P(B-T at i), P(I-T at each token inside) and 1 - P(I-T just after it), a cheap bound on the
probability that the model labels exactly that span.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from functools import lru_cache

import pycrfsuite
from spacy.language import Language
from spacy.tokenizer import Tokenizer

from models_app.ml.errors import TrainingStopped

# Chosen on CoNLL-2003's dev split: c1 0.05 / c2 0.001 scored 0.895, 0.1 / 0.01 0.894; 300
# iterations instead of 150 did not help. Rechecked with the current features (CRF alone 0.903):
# the other settings stayed within noise (figures in bench/bench_recognizer_ml.py).
PARAMS = {
    "c1": 0.05,
    "c2": 0.001,
    "max_iterations": 150,
    "feature.possible_transitions": True,
}
# Spans whose start is less likely than this are not considered at all.
MIN_SPAN_PROBABILITY = 0.02

_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")
_REPEAT = re.compile(r"(.)\1+")
_OFFSETS = (-2, -1, 1, 2)


@lru_cache(maxsize=200_000)
def _word_features(word: str) -> tuple[tuple[str, ...], tuple[str, ...], str, str]:
    """(the token's own features, its features as seen from a neighbour, its lower-cased form,
    its short shape) for one word."""
    lower = word.lower()
    shape = _DIGIT.sub("d", _LOWER.sub("x", _UPPER.sub("X", word)))
    short = _REPEAT.sub(r"\1", shape)
    own = ["b", "w=" + lower, "sh=" + short, "lsh=" + shape[:8]]
    for k in range(1, min(6, len(word)) + 1):
        own += [f"p{k}=" + lower[:k], f"s{k}=" + lower[-k:]]
    if word[:1].isupper():
        own.append("title")
    if word.isupper() and len(word) > 1:
        own.append("allcaps")
    if _DIGIT.search(word):
        own.append("digit")
    if "-" in word:
        own.append("hyphen")
    if len(word) == 1:
        own.append("len1")
    seen = tuple(
        f"{kind}{d}={value}" for d in _OFFSETS for kind, value in (("w", lower), ("sh", short))
    )
    return tuple(own), seen, lower, short


def features(words: list[str]) -> list[list[str]]:
    """CRFsuite item features for each token of one document."""
    caps = f"caps={int(all(not w.isalpha() or w.isupper() for w in words))}"
    cached = [_word_features(w) for w in words]
    lowers = [c[2] for c in cached]
    shapes = ["<s>", *(c[3] for c in cached), "</s>"]
    n = len(words)
    out = []
    for i in range(n):
        f = [*cached[i][0], caps, f"sh3={shapes[i]}|{shapes[i + 1]}|{shapes[i + 2]}"]
        f.append(f"sh-1|w={shapes[i]}|{lowers[i]}")
        if i == 0:
            f.append("first")
        for k, d in enumerate(_OFFSETS):
            j = i + d
            if 0 <= j < n:
                f += cached[j][1][2 * k : 2 * k + 2]
            else:
                f.append(f"w{d}=<pad>")
        if i:
            f.append("bg-=" + lowers[i - 1] + "|" + lowers[i])
        if i + 1 < n:
            f.append("bg+=" + lowers[i] + "|" + lowers[i + 1])
        out.append(f)
    return out


def tokenizer(nlp: Language) -> Tokenizer:
    """The pipeline's tokenizer without infix splitting."""
    base = nlp.tokenizer
    return Tokenizer(
        nlp.vocab,
        rules=base.rules,
        prefix_search=base.prefix_search,
        suffix_search=base.suffix_search,
        infix_finditer=None,
        token_match=base.token_match,
        url_match=base.url_match,
    )


def tagged(tokens, ents, missing) -> tuple[list[str], list[str]] | None:
    """(words, BIO tags) of tokens given (begin, end, type) and missing (begin, end) character
    ranges; None when a token touches a missing range (CRFsuite needs every tag)."""
    words, tags = [], []
    for token in tokens:
        begin, end = token.idx, token.idx + len(token.text)
        if any(begin < m_end and m_begin < end for m_begin, m_end in missing):
            return None
        words.append(token.text)
        tags.append("O")
        for e_begin, e_end, label in ents:
            if begin < e_end and e_begin < end:
                inside = tags[-2:-1] == [f"B-{label}"] or tags[-2:-1] == [f"I-{label}"]
                tags[-1] = ("I-" if inside and e_begin < begin else "B-") + label
                break
    return words, tags


def train(
    sequences: list[tuple[list[str], list[str]]],
    should_stop: Callable[[], bool] = lambda: False,
    poll_seconds: float = 0.25,
) -> bytes | None:
    """Train on (words, BIO tags) sequences; return the model file's bytes (None: no data).

    CRFsuite cannot be interrupted, so it trains in a daemon thread while this one polls
    should_stop; on a stop the thread is abandoned (the work process ends soon after) and
    TrainingStopped is raised at once.
    """
    trainer = pycrfsuite.Trainer(verbose=False)
    for words, tags in sequences:
        if words:
            trainer.append(features(words), tags)
    if not any(tags for _, tags in sequences):
        return None
    trainer.set_params(PARAMS)
    result: dict = {}

    def run() -> None:
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.crfsuite")
                trainer.train(path)
                with open(path, "rb") as f:
                    result["model"] = f.read()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            result["error"] = exc

    worker = threading.Thread(target=run, name="crf-training", daemon=True)
    worker.start()
    while worker.is_alive():
        if should_stop():
            raise TrainingStopped()
        worker.join(poll_seconds)
    if "error" in result:
        raise result["error"]
    return result["model"]


class Tagger:
    """Span probabilities from a trained CRF; one CRFsuite tagger per thread (they keep state)."""

    def __init__(self, model: bytes):
        self.model = model
        self._local = threading.local()

    def _tagger(self) -> tuple[pycrfsuite.Tagger, list[tuple[str, str, str | None]]]:
        """This thread's tagger, and (B- label, type, I- label or None) for each type."""
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            tagger = pycrfsuite.Tagger()
            tagger.open_inmemory(self.model)
            self._local.tagger = tagger
            self._labels = set(tagger.labels())
            self._begins = [
                (label, label[2:], f"I-{label[2:]}" if f"I-{label[2:]}" in self._labels else None)
                for label in sorted(self._labels)
                if label.startswith("B-")
            ]
        return tagger, self._begins

    def spans(self, tokens) -> list[tuple[int, int, str, float]]:
        """(begin, end exclusive, type, probability) in characters of every likely span."""
        words, starts = [], []
        for token in tokens:  # spaCy builds a Token object per access: read each one once
            words.append(token.text)
            starts.append(token.idx)
        if not words:
            return []
        ends = [start + len(word) for start, word in zip(starts, words, strict=True)]
        tagger, begins = self._tagger()
        tagger.set(features(words))
        n = len(words)
        out = []
        for i in range(n):
            # Skip tokens surely outside any entity: one call instead of one per type.
            if "O" in self._labels and tagger.marginal("O", i) > 1.0 - MIN_SPAN_PROBABILITY:
                continue
            for label, entity_type, inside in begins:
                p = tagger.marginal(label, i)
                if p < MIN_SPAN_PROBABILITY:
                    continue
                j = i
                while True:
                    following = tagger.marginal(inside, j + 1) if inside and j + 1 < n else 0.0
                    out.append((starts[i], ends[j], entity_type, min(p, 1.0 - following)))
                    if following < MIN_SPAN_PROBABILITY:
                        break
                    j += 1
                    p = min(p, following)
        return out
