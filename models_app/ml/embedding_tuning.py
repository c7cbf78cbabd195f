"""The classifier's fine-tuned candidate: a base model's encoder trained on the labels.

The model is the frozen candidate's (`embedding_model`), with the encoder trained too: each
document's mean-pooled, L2-normalised embedding goes through a linear layer, scaled by
``scale`` (unit vectors need a wide range of scores to be confident). Multi-class documents
are fitted with softmax cross-entropy, multi-label ones with a binary cross-entropy per label.
Because the layer works on exactly the embeddings `embedding_model.embed` gives, the trained
model is stored and served as the frozen one is: the encoder's files, a weight matrix (the scale
folded in) and a bias; nothing new to load, copy or serve.

Training: AdamW (no decay on biases and LayerNorm weights), a linear warm-up over the first
tenth of the planned steps and a linear decay to zero at the end of the planned epochs, dropout
on the pooled embedding. Batches hold about ``batch_tokens`` padded pieces of documents of
similar length, in a seeded order. The documents are the classifier's fit part only; after every
epoch the model is scored on the validation part with the classifier's own selection score, and
the best epoch's weights are kept. The epochs are planned from `encoder.train_work` (work counted
from the pieces, never from the clock), so the same data, settings and thread count give the same
weights.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy as np

from . import embedding_model
from . import encoder as E
from .embedding_model import MULTI_CLASS
from .errors import TrainingStopped

DEFAULTS: dict = {
    "learn_rate": 5e-5,
    "weight_decay": 0.01,
    "warmup": 0.1,
    "batch_tokens": 1024,  # padded pieces per training batch
    "epochs": 2,
    "dropout": 0.1,
    "scale": 20.0,
}
# Documents this short on average (word pieces, [CLS] and [SEP] included) fit the encoder's
# window whole. Longer ones are cut at `embedding_model.MAX_TOKENS` pieces, so fine-tuning would
# see only their start, while the TF-IDF model reads all of them (20 Newsgroups: the frozen
# embeddings of the first 128 pieces reach 0.85 on validation, the TF-IDF model 0.95).
MAX_MEAN_PIECES = 64


class Plan:
    """What fine-tuning costs, before any of it runs."""

    def __init__(self, enc, fit_pieces: int, val_pieces: int, settings: dict | None = None):
        self.settings = {**DEFAULTS, **(settings or {})}
        self.epoch_work = E.train_work(enc.config, fit_pieces) + E.infer_work(
            enc.config, val_pieces
        )

    def epochs(self, work: float) -> int:
        """Epochs that much work allows (0 when not even one fits), at most the planned ones."""
        return max(0, min(int(self.settings["epochs"]), int(work // self.epoch_work)))


def worth_trying(mean_pieces: float, frozen_score: float, tfidf_score: float) -> bool:
    """Fine-tune only short documents, and only when the frozen embeddings alone fall short of
    the TF-IDF model on validation: where they already beat it (CLINC150: 0.972 against 0.960),
    the pretrained sentence space fits the task, and the blend takes what it can give for a
    fraction of the work."""
    return mean_pieces <= MAX_MEAN_PIECES and frozen_score < tfidf_score


def fine_tune(
    base,
    fit_texts: Sequence[str],
    targets: np.ndarray,
    val_texts: Sequence[str],
    *,
    mode: str,
    n_labels: int,
    plan: Plan,
    n_epochs: int,
    seed: int,
    score: Callable[[np.ndarray], float],
    should_stop: Callable[[], bool] = lambda: False,
    past_safety_limit: Callable[[], bool] = lambda: False,
    progress: Callable[[int, float], None] = lambda epoch, value: None,
) -> tuple[object, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Fine-tune a copy of `base` (an `encoder.Encoder`, left as it is) on the fit part.

    `targets` is the label index of each document (multi-class) or a documents x labels 0/1
    matrix (multi-label), over `n_labels` labels (some may have no document in the fit part).
    Returns the encoder (final), the weights (labels x hidden, scale
    included) and biases, the best epoch's validation scores and what happened.
    """
    import torch
    from torch.nn import functional as F

    settings = plan.settings
    E.seed_everything(seed)
    enc = E.Encoder.from_files(base.files())
    model = enc.model
    head = torch.nn.Linear(enc.hidden_size, n_labels).to(enc.device)
    scale = float(settings["scale"])
    dropout = float(settings["dropout"])
    limit = embedding_model.MAX_TOKENS - 2
    pieces = enc.piece_ids(embedding_model.clip(fit_texts), limit)
    lengths = [len(p) + 2 for p in pieces]
    if mode == MULTI_CLASS:
        target = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    else:
        target = torch.as_tensor(np.asarray(targets), dtype=torch.float32)

    def pooled(ids, mask):
        hidden = model(ids, mask)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return F.normalize(mean, dim=-1)

    rng = random.Random(seed)
    everything = range(len(pieces))
    batch_tokens = int(settings["batch_tokens"])
    total_steps = n_epochs * E.steps_per_epoch(everything, lengths, batch_tokens)
    named = list(model.named_parameters()) + list(head.named_parameters())
    optimizer, scheduler = E.optimizer(named, settings, total_steps)

    def head_arrays() -> tuple[np.ndarray, np.ndarray]:
        W = (head.weight.detach().cpu().numpy() * scale).astype(np.float32)
        return W, head.bias.detach().cpu().numpy().astype(np.float32)

    best = None  # (score, epoch, encoder state, W, b, validation scores)
    scores: list[float] = []
    epoch, stopped_at_safety_limit = 0, False
    for epoch in range(1, n_epochs + 1):
        model.train()
        for group in E.epoch_batches(rng, everything, lengths, batch_tokens):
            if should_stop():
                raise TrainingStopped()
            ids, mask = enc.batch([pieces[i] for i in group])
            logits = scale * head(F.dropout(pooled(ids, mask), dropout, training=True))
            rows = target[group].to(enc.device)
            if mode == MULTI_CLASS:
                loss = F.cross_entropy(logits, rows)
            else:
                loss = F.binary_cross_entropy_with_logits(logits, rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        model.eval()
        W, b = head_arrays()
        D = embedding_model.head_scores(embedding_model.embed(enc, val_texts), W, b)
        value = float(score(D))
        scores.append(round(value, 5))
        if best is None or value > best[0]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = (value, epoch, state, W, b, D)
        progress(epoch, value)
        if epoch < n_epochs and past_safety_limit():
            stopped_at_safety_limit = True
            break
    value, best_epoch, state, W, b, D = best
    model.load_state_dict(state)
    model.eval()
    enc.final = True
    info = {
        "epochs": epoch,
        "epochs_planned": n_epochs,
        "best_epoch": best_epoch,
        "validation_scores": scores,
        "learn_rate": float(settings["learn_rate"]),
        "work": float(f"{plan.epoch_work * epoch:.4g}"),
        "stopped_at_safety_limit": stopped_at_safety_limit,
    }
    return enc, W, b, D, info
