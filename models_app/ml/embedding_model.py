"""Sentence embeddings from an installed base model, as one more candidate of the classifier.

A frozen encoder (`encoder.Encoder`) turns each document into one mean-pooled embedding; a
logistic regression head on those embeddings gives each label a score, and the trained model
blends them with the TF-IDF model's scores, each put on one scale by its spread on the
validation part: ``(1 - share) * D_tfidf / s_tfidf + share * D_emb / s_emb``. The share (0 is
the TF-IDF model alone) and the head's C are chosen on the validation split.

Only documents' first `MAX_TOKENS` word pieces are embedded: sentence encoders such as
all-MiniLM-L6-v2 were trained on inputs of that length, short texts (intents, comments) fit
whole, and for long ones (newsgroup messages) the subject and opening lines carry the topic
while the work of embedding stays bounded (about 0.03 units per long document).

torch is imported only when an encoder is loaded, so models without embeddings never need it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from . import encoder as encoder_module

MULTI_CLASS = "MULTI_CLASS"
MAX_TOKENS = 128  # word pieces embedded per document, [CLS] and [SEP] included
# Texts are cut to this many characters before tokenising: a word piece is rarely longer than
# a few characters, so the cut never shortens the pieces embedded in practice, and tokenising a
# long message does not cost more than its start.
CLIP_CHARS = 16 * MAX_TOKENS
BATCH_TOKENS = 8192
CHUNK_DOCS = 4096  # documents embedded between checks of a stop request
# The head: logistic regression (on the validation splits of CLINC150 it beat LinearSVC and ridge
# regression on these embeddings: 0.972 against 0.971 and 0.928), C chosen on validation.
HEAD_C = (10.0, 100.0)
HEAD_MAX_ITER = 300
# Shares of the embedding scores tried in the blend (1.0: the embeddings alone).
SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# Work of one head fit per document, embedding dimension and label (lbfgs, multinomial for
# multi-class; one binary fit per label for multi-label), measured on CLINC150 and GoEmotions.
HEAD_WORK_PER_VALUE_LABEL = {MULTI_CLASS: 1.2e-8, "MULTI_LABEL": 2e-8}
# The default budget grows by the embedding's work, at most this much (about 30 minutes of this
# machine): beyond it, the candidate is refused as any other that does not fit.
MAX_EXTRA_BUDGET = 1800.0


def clip(texts: Sequence[str]) -> list[str]:
    return [t[:CLIP_CHARS] for t in texts]


def piece_counts(enc, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """Word pieces the encoder runs for each text ([CLS] and [SEP] included)."""
    ids = enc.piece_ids(clip(texts), max_tokens - 2)
    return np.fromiter((len(p) + 2 for p in ids), dtype=np.int64, count=len(ids))


def embed_work(enc, n_pieces: int) -> float:
    return encoder_module.infer_work(enc.config, n_pieces)


def head_work(mode: str, n_docs: int, hidden: int, n_labels: int) -> float:
    return HEAD_WORK_PER_VALUE_LABEL[mode] * n_docs * hidden * n_labels


def embed(
    enc, texts: Sequence[str], max_tokens: int = MAX_TOKENS, bf16: bool = False, int8: bool = False
) -> np.ndarray:
    """Documents x hidden float32 embeddings, in length-sorted batches (`bf16`, `int8`: its
    linear layers in bfloat16, or in int8 with a scale per output channel)."""
    return enc.embed(
        clip(texts),
        max_tokens=max_tokens,
        batch_tokens=BATCH_TOKENS,
        bf16=bf16,
        int8="channel" if int8 else "",
    )


def fit_head(
    E: np.ndarray,
    y: np.ndarray | None,
    Y,
    n_labels: int,
    mode: str,
    C: float,
    check_stop: Callable[[], None] = lambda: None,
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression weights (labels x hidden) and biases; labels without examples (or,
    multi-label, without negatives) get a bias of -10 and never win."""
    W = np.zeros((n_labels, E.shape[1]), dtype=np.float32)
    b = np.full(n_labels, -10.0, dtype=np.float32)
    X = E.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if mode == MULTI_CLASS:
            model = LogisticRegression(C=C, max_iter=HEAD_MAX_ITER).fit(X, y)
            classes = model.classes_
            if len(classes) == 2:
                W[classes[1]], b[classes[1]] = model.coef_[0] / 2, model.intercept_[0] / 2
                W[classes[0]], b[classes[0]] = -model.coef_[0] / 2, -model.intercept_[0] / 2
            else:
                W[classes], b[classes] = model.coef_, model.intercept_
            return W, b
        for k in range(n_labels):
            check_stop()
            t = np.asarray(Y[:, k].toarray()).ravel().astype(bool)
            if t.all() or not t.any():
                continue
            model = LogisticRegression(C=C, max_iter=HEAD_MAX_ITER).fit(X, t)
            W[k], b[k] = model.coef_[0], model.intercept_[0]
    return W, b


def head_scores(E: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (E @ W.T + b).astype(np.float32)


def blend_scores(D_tfidf, D_emb, share: float, scales: tuple[float, float]) -> np.ndarray:
    """The blend's scores, the same arithmetic at validation and at prediction time."""
    s_tfidf, s_emb = scales
    out = D_tfidf * np.float32((1 - share) / s_tfidf)
    out += D_emb * np.float32(share / s_emb)
    return out


@dataclass
class EmbeddingPart:
    """The embedding half of a blended classifier: a frozen encoder and a linear head."""

    encoder: object  # encoder.Encoder
    weights: np.ndarray  # labels x hidden
    bias: np.ndarray
    share: float
    scales: tuple[float, float]  # spreads of the TF-IDF and embedding scores on validation
    max_tokens: int = MAX_TOKENS
    base_model: str = ""
    # Validation allowed bfloat16 linear layers; used where the device has them natively.
    bf16: bool = False
    # Validation allowed int8 linear layers; used on a CPU where bfloat16 is not.
    int8: bool = False

    def blend(self, D_tfidf: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        bf16 = self.bf16 and encoder_module.bf16_native()
        int8 = self.int8 and not bf16 and encoder_module.int8_usable()
        E = embed(self.encoder, texts, self.max_tokens, bf16, int8)
        return blend_scores(
            D_tfidf, head_scores(E, self.weights, self.bias), self.share, self.scales
        )

    def encoder_files(self) -> Mapping[str, bytes]:
        return self.encoder.files()
