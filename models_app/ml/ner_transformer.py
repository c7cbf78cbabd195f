"""The recognizer's transformer member: a base model's encoder fine-tuned as a token tagger.

A linear layer over the encoder's last hidden states gives each word a probability for every
BIO tag (``O``, ``B-TYPE``, ``I-TYPE``). Words are the recognizer's own spaCy tokens, so an
entity's character offsets are exactly those of its first and last token. The tokenizer splits
each word into word pieces; a word is labelled, and predicted, on its first piece. Words without
any piece (spaCy's whitespace tokens) are transparent: they take no label and an entity may run
across them. A document longer than the encoder's window (``max_tokens - 2`` pieces) is cut at
word boundaries into consecutive windows, so every word is predicted exactly once.

An uncased base model's tokenizer folds case, which is much of what tells a name from a word
("Bush", "bush"). With such a tokenizer the encoder gets each piece's case back as its token
type (`case_type` of its word: none, lower, capitalised, upper, mixed): the model's one token
type embedding becomes five equal rows, so fine-tuning starts from the base model exactly and
learns what case adds. The tagger's settings say so, and its encoder's config.json counts the
types.

Training: AdamW (no decay on biases and LayerNorm weights), a linear warm-up over the first
tenth of the planned steps and a linear decay to zero at the end of the planned epochs, dropout
as in the base model's config. Batches hold about ``batch_tokens`` padded pieces of windows of
similar length; the batches' order is shuffled with a seeded RNG each epoch. Tokens of
``UNKNOWN`` spans (missing annotation) are left out of the loss. After every epoch the tagger is
scored on the validation split (exact spans, F1), and the best epoch's weights are kept; training
stops after ``patience`` epochs without a gain.

The epochs are planned by the caller from `encoder.train_work` (work counted from the pieces,
never from the clock), so the same data, settings and thread count give the same weights.

Decoding: each word takes its most probable tag; a span starts at ``B-T`` (or at an ``I-T`` not
continuing a span of type T) and runs over the following ``I-T``. A span's score is the mean,
over its words, of the probability of the tag chosen for the word.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from models_app.ml import encoder as E
from models_app.ml.errors import TrainingStopped

HEAD_FILE = "head.safetensors"
SETTINGS_FILE = "tagger.json"

DEFAULTS: dict = {
    "learn_rate": 1e-4,
    "weight_decay": 0.01,
    "warmup": 0.1,
    "batch_tokens": 1024,  # padded pieces per training batch
    "max_epochs": 10,
    "patience": 2,
    # With a tokenizer that folds case, each piece also gets its word's case as a token type
    # (see `case_type`); chosen on the validation splits of CoNLL-2003 and WNUT-17.
    "case_types": True,
}
PREDICT_BATCH_TOKENS = 4096
IGNORE = -100

ScoredSpan = tuple[int, int, str, float]


def tag_names(entity_types: Sequence[str]) -> list[str]:
    return ["O"] + [f"{p}-{t}" for t in entity_types for p in ("B", "I")]


# Token types of a word's pieces by the word's case; 0 is the base model's one type, which
# special tokens and words without cased letters keep.
CASE_TYPES = 5
_LOWER, _CAPITALISED, _UPPER, _MIXED = 1, 2, 3, 4


def case_type(word: str) -> int:
    """0 no cased letter, 1 lower case, 2 capitalised, 3 upper case (two or more cased
    letters), 4 anything else (a lower-case first letter with capitals later: "iPhone")."""
    if word.islower():
        return _LOWER
    if word.isupper():
        return _UPPER if sum(c.isupper() for c in word) > 1 else _CAPITALISED
    first = next((c for c in word if c.isupper() or c.islower()), None)
    if first is None:
        return 0
    return _CAPITALISED if first.isupper() else _MIXED


class _Windows:
    """Word-piece windows of a set of documents (each a list of words)."""

    def __init__(self, enc, docs_words: Sequence[Sequence[str]]):
        limit = enc.max_tokens - 2
        self.docs_words = docs_words
        self.pieces: list[list[int]] = []  # per window: piece ids
        self.positions: list[list[int]] = []  # per window: index of each word's first piece
        self.words: list[tuple[int, list[int]]] = []  # per window: (document, its word indices)
        nonempty = [i for i, words in enumerate(docs_words) if len(words)]
        encodings = enc.tokenizer.encode_batch(
            [list(docs_words[i]) for i in nonempty], is_pretokenized=True, add_special_tokens=False
        )
        for doc, encoding in zip(nonempty, encodings, strict=True):
            by_word: dict[int, list[int]] = {}
            for piece, word in zip(encoding.ids, encoding.word_ids, strict=True):
                if word is not None:
                    by_word.setdefault(word, []).append(piece)
            pieces, positions, words = [], [], []
            for word in sorted(by_word):
                word_pieces = by_word[word][:limit]
                if pieces and len(pieces) + len(word_pieces) > limit:
                    self._add(doc, pieces, positions, words)
                    pieces, positions, words = [], [], []
                positions.append(len(pieces))
                words.append(word)
                pieces.extend(word_pieces)
            if pieces:
                self._add(doc, pieces, positions, words)

    def _add(self, doc, pieces, positions, words):
        self.pieces.append(pieces)
        self.positions.append(positions)
        self.words.append((doc, words))

    def total(self) -> int:
        """Pieces with [CLS] and [SEP], the unit of the work counts."""
        return sum(len(p) + 2 for p in self.pieces)

    def case_types(self, group: Sequence[int], shape) -> object:
        """The (windows x padded pieces) tensor of token types of `group`'s windows: each
        piece its word's `case_type`, 0 for [CLS], [SEP] and padding."""
        import torch

        types = torch.zeros(shape, dtype=torch.long)
        for row, i in enumerate(group):
            doc, words = self.words[i]
            text = self.docs_words[doc]
            positions = self.positions[i]
            ends = [*positions[1:], len(self.pieces[i])]
            for word, start, end in zip(words, positions, ends, strict=True):
                kind = case_type(text[word])
                if kind:
                    types[row, start + 1 : end + 1] = kind
        return types


class Tagger:
    """A fine-tuned encoder with its tagging head."""

    def __init__(self, enc, head, entity_types: Sequence[str], settings: dict | None = None):
        self.enc = enc
        self.head = head
        self.entity_types = list(entity_types)
        self.tags = tag_names(self.entity_types)
        self.settings = dict(settings or {})
        self._runner = None  # the encoder module prediction runs (`_model_for_inference`)
        self._runner_lock = threading.Lock()
        self.validated_anywhere = False

    @property
    def case_types(self) -> bool:
        """Whether the encoder takes each piece's case as its token type."""
        return bool(self.settings.get("case_types"))

    # -- prediction ----------------------------------------------------------------------------

    def _model_for_inference(self):
        """bfloat16 linear layers where validation allowed them and the device has them natively
        (or `validated_anywhere` is set: in training, so that the ensemble is chosen on the same
        numbers on any machine), else int8 ones where validation allowed those and the device
        is a CPU that may use them (`encoder.int8_usable`), else float32."""
        with self._runner_lock:
            if self._runner is None:
                if self.settings.get("bf16") and (self.validated_anywhere or E.bf16_native()):
                    runner = self.enc.runner(types=self.case_types, bf16=True)
                elif self.settings.get("quantized") and (
                    self.validated_anywhere or E.int8_usable()
                ):
                    # "per_channel"; True in models trained before, validated one scale a matrix
                    per_channel = self.settings["quantized"] == "per_channel"
                    int8 = "channel" if per_channel else "tensor"
                    runner = self.enc.runner(types=self.case_types, int8=int8)
                else:
                    runner = self.enc.runner(types=self.case_types)
                self._runner = runner
            return self._runner

    def predict_anywhere(self, flag: bool) -> None:
        """Predict in the precision validation allowed (bfloat16, else int8), even where
        bfloat16 is emulated or the operator turned a precision off."""
        with self._runner_lock:
            self.validated_anywhere, self._runner = flag, None

    def word_probabilities(self, docs_words: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Per document a (words x tags) float32 array; words without pieces get NaN rows."""
        import torch

        windows = _Windows(self.enc, docs_words)
        out = [np.full((len(w), len(self.tags)), np.nan, dtype=np.float32) for w in docs_words]
        if not windows.pieces:
            return out
        model = self._model_for_inference()
        model.eval()
        self.head.eval()
        lengths = [len(p) + 2 for p in windows.pieces]
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        with torch.inference_mode():
            for group in E.token_batches(order, lengths, PREDICT_BATCH_TOKENS):
                ids, mask = self.enc.batch([windows.pieces[i] for i in group])
                inputs = (ids, mask)
                if self.case_types:
                    inputs += (windows.case_types(group, ids.shape).to(ids.device),)
                rows = [r for r, i in enumerate(group) for _ in windows.positions[i]]
                cols = [p + 1 for i in group for p in windows.positions[i]]
                hidden = model(*inputs)[rows, cols]
                probs = torch.softmax(self.head(hidden).float(), dim=-1).cpu().numpy()
                at = 0
                for i in group:
                    doc, words = windows.words[i]
                    out[doc][words] = probs[at : at + len(words)]
                    at += len(words)
        return out

    def token_spans(self, docs_words: Sequence[Sequence[str]]) -> list[list[tuple]]:
        """Per document (first word, last word + 1, type, score) of the decoded spans."""
        return [decode(p, self.tags) for p in self.word_probabilities(docs_words)]

    def spans(self, docs) -> list[list[ScoredSpan]]:
        """Per spaCy doc, (begin, end exclusive, type, score) in character offsets."""
        words = [[t.text for t in doc] for doc in docs]
        out = []
        for doc, found in zip(docs, self.token_spans(words), strict=True):
            out.append(
                [
                    (doc[b].idx, doc[e - 1].idx + len(doc[e - 1].text), label, score)
                    for b, e, label, score in found
                ]
            )
        return out

    # -- files ---------------------------------------------------------------------------------

    def files(self) -> dict[str, bytes]:
        from safetensors.torch import save

        files = dict(self.enc.files())
        state = {k: v.detach().to("cpu").contiguous() for k, v in self.head.state_dict().items()}
        files[HEAD_FILE] = save(state, metadata={"format": "pt"})
        settings = {"entity_types": self.entity_types, "tags": self.tags, **self.settings}
        files[SETTINGS_FILE] = (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()
        return files

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files().items():
            (folder / name).write_bytes(data)

    @classmethod
    def load(cls, folder: str | Path) -> Tagger:
        folder = Path(folder)
        names = (*E.FILES, HEAD_FILE, SETTINGS_FILE)
        return cls.from_files({name: (folder / name).read_bytes() for name in names})

    @classmethod
    def from_files(cls, files) -> Tagger:
        from safetensors.torch import load

        enc = E.Encoder.from_files(files)
        enc.final = True  # a tagger from its files is never trained further
        settings = json.loads(bytes(files[SETTINGS_FILE]).decode("utf-8"))
        entity_types = settings.pop("entity_types")
        tags = settings.pop("tags")
        head = _head(enc.hidden_size, len(tags))
        head.load_state_dict(load(bytes(files[HEAD_FILE])))
        head.to(enc.device)
        head.eval()
        tagger = cls(enc, head, entity_types, settings)
        if tagger.tags != tags:
            raise E.EncoderError(f"{SETTINGS_FILE}: the tags do not match the entity types.")
        return tagger


def _head(hidden: int, n_tags: int):
    from torch import nn

    return nn.Linear(hidden, n_tags)


def decode(probs: np.ndarray, tags: Sequence[str]) -> list[tuple[int, int, str, float]]:
    """BIO spans (first word, last word + 1, type, score) from per-word tag probabilities;
    rows of NaN (words without pieces) are skipped and may sit inside a span."""
    spans = []
    current = None  # [first, last + 1, type, scores]
    if not len(probs):
        return spans
    valid = ~np.isnan(probs[:, 0])
    best = np.where(valid, np.nanargmax(np.where(valid[:, None], probs, 0.0), axis=1), 0)
    for i in range(len(probs)):
        if not valid[i]:
            continue
        tag = tags[best[i]]
        p = float(probs[i, best[i]])
        if tag != "O" and tag[2:] == (current[2] if current else None) and tag[0] == "I":
            current[1] = i + 1
            current[3].append(p)
            continue
        if current:
            spans.append(current)
            current = None
        if tag != "O":
            current = [i, i + 1, tag[2:], [p]]
    if current:
        spans.append(current)
    return [(b, e, t, round(float(np.mean(s)), 4)) for b, e, t, s in spans]


def labels(example, tags: Sequence[str]) -> list[int]:
    """The tag index of each token of a spaCy Example's reference (IGNORE where missing)."""
    index = {t: i for i, t in enumerate(tags)}
    out = []
    for token in example.y:
        if token.ent_iob == 0:  # missing annotation (an UNKNOWN span)
            out.append(IGNORE)
        elif token.ent_iob_ == "O":
            out.append(0)
        else:
            out.append(index.get(f"{token.ent_iob_}-{token.ent_type_}", 0))
    return out


def gold_token_spans(example) -> set:
    return {(e.start, e.end, e.label_) for e in example.y.ents}


def unknown_tokens(example) -> set:
    return {t.i for t in example.y if t.ent_iob == 0}


def f1_on(tagger: Tagger, examples) -> float:
    """Exact-span F1 on examples; predictions touching missing annotation are not scored."""
    found = tagger.token_spans([[t.text for t in eg.x] for eg in examples])
    tp = n_pred = n_gold = 0
    for eg, spans in zip(examples, found, strict=True):
        unknown = unknown_tokens(eg)
        pred = {(b, e, t) for b, e, t, _ in spans if not any(i in unknown for i in range(b, e))}
        gold = gold_token_spans(eg)
        tp += len(pred & gold)
        n_pred += len(pred)
        n_gold += len(gold)
    if not tp:
        return 0.0
    precision, recall = tp / n_pred, tp / n_gold
    return 2 * precision * recall / (precision + recall)


class Plan:
    """What fine-tuning on a training set costs, before any of it runs."""

    def __init__(self, enc, train_examples, dev_examples, settings: dict):
        self.settings = settings
        self.train = _Windows(enc, [[t.text for t in eg.x] for eg in train_examples])
        self.dev_pieces = _Windows(enc, [[t.text for t in eg.x] for eg in dev_examples]).total()
        self.epoch_work = E.train_work(enc.config, self.train.total()) + E.infer_work(
            enc.config, self.dev_pieces
        )

    def epochs(self, budget: float | None) -> int:
        """Epochs the budget allows (0 when not even one fits), at most max_epochs."""
        if budget is None:
            return int(self.settings["max_epochs"])
        return max(0, min(int(self.settings["max_epochs"]), int(budget // self.epoch_work)))


def train(
    enc,
    plan: Plan,
    train_examples,
    dev_examples,
    entity_types: Sequence[str],
    *,
    n_epochs: int,
    seed: int,
    should_stop: Callable[[], bool] = lambda: False,
    past_safety_limit: Callable[[], bool] = lambda: False,
    progress: Callable[[int, float | None], None] = lambda epoch, f1: None,
) -> tuple[Tagger, dict]:
    """Fine-tune `enc` (in place) for at most `n_epochs`; the tagger keeps the best epoch."""
    import torch
    from torch.nn import functional as F

    settings = plan.settings
    E.seed_everything(seed)
    tags = tag_names(entity_types)
    case_types = bool(settings.get("case_types")) and enc.lowercases()
    if case_types:
        enc.add_token_types(CASE_TYPES)
    model = enc.model
    head = _head(enc.hidden_size, len(tags)).to(enc.device)
    dropout = torch.nn.Dropout(float(enc.config.get("hidden_dropout_prob", 0.1)))
    tagger = Tagger(enc, head, entity_types, {"case_types": case_types})

    windows = plan.train
    word_labels = [labels(eg, tags) for eg in train_examples]
    window_labels = [[word_labels[doc][w] for w in words] for doc, words in windows.words]
    usable = [i for i, lab in enumerate(window_labels) if any(x != IGNORE for x in lab)]
    lengths = [len(p) + 2 for p in windows.pieces]

    rng = random.Random(seed)
    batch_tokens = int(settings["batch_tokens"])
    total_steps = n_epochs * E.steps_per_epoch(usable, lengths, batch_tokens)
    named = list(model.named_parameters()) + list(head.named_parameters())
    optimizer, scheduler = E.optimizer(named, settings, total_steps)

    best_f1, best_state, best_epoch, epoch = -1.0, None, 0, 0
    stopped_at_safety_limit = False
    for epoch in range(1, n_epochs + 1):
        model.train()
        head.train()
        for group in E.epoch_batches(rng, usable, lengths, batch_tokens):
            if should_stop():
                raise TrainingStopped()
            ids, mask = enc.batch([windows.pieces[i] for i in group])
            target = torch.full(ids.shape, IGNORE, dtype=torch.long)
            for row, i in enumerate(group):
                for position, label in zip(windows.positions[i], window_labels[i], strict=True):
                    target[row, position + 1] = label
            target = target.to(enc.device)
            types = (windows.case_types(group, ids.shape).to(enc.device),) if case_types else ()
            logits = head(dropout(model(ids, mask, *types)))
            loss = F.cross_entropy(
                logits.reshape(-1, len(tags)), target.reshape(-1), ignore_index=IGNORE
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        f1 = f1_on(tagger, dev_examples) if dev_examples else None
        if f1 is None or f1 > best_f1:
            best_f1, best_epoch = f1 or 0.0, epoch
            best_state = (
                {k: v.detach().clone() for k, v in model.state_dict().items()},
                {k: v.detach().clone() for k, v in head.state_dict().items()},
            )
        progress(epoch, f1)
        if epoch - best_epoch >= int(settings["patience"]):
            break
        if epoch < n_epochs and past_safety_limit():
            stopped_at_safety_limit = True
            break
    model.load_state_dict(best_state[0])
    head.load_state_dict(best_state[1])
    model.eval()
    head.eval()
    info = {
        "epochs": epoch,
        "epochs_planned": n_epochs,
        "best_epoch": best_epoch,
        "dev_f1": round(best_f1, 4),
        "work": round(plan.epoch_work * epoch, 4),
        "stopped_at_safety_limit": stopped_at_safety_limit,
        "case_types": case_types,
    }
    # From here on the tagger is the one its files give, so the model chosen on validation is
    # the one that is served.
    tagger = Tagger.from_files(tagger.files())
    # int8 linear layers (one scale per output channel) make prediction on a CPU without
    # native bfloat16 about twice as fast; allowed when the validation F1 with them stays
    # within PRECISION_TOLERANCE of float32's.
    if dev_examples and enc.device.type == "cpu":
        tagger.settings["quantized"] = "per_channel"
        tagger.predict_anywhere(True)
        quantized_f1 = f1_on(tagger, dev_examples)
        if quantized_f1 < best_f1 - E.PRECISION_TOLERANCE:
            tagger.settings["quantized"] = False
        tagger.predict_anywhere(False)
        info["dev_f1_quantized"] = round(quantized_f1, 4)
    info["quantized"] = bool(tagger.settings.get("quantized"))
    # bfloat16 linear layers make prediction about three times faster on a device that has
    # them natively; allowed on the same rule. Measured the same way on any machine (emulated
    # where it must be).
    if dev_examples:
        tagger.settings["bf16"] = True
        tagger.predict_anywhere(True)
        bf16_f1 = f1_on(tagger, dev_examples)
        tagger.settings["bf16"] = bf16_f1 >= best_f1 - E.PRECISION_TOLERANCE
        tagger.predict_anywhere(True)
        info["dev_f1_bf16"] = round(bf16_f1, 4)
    info["bf16"] = bool(tagger.settings.get("bf16"))
    return tagger, info
