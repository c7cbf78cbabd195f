"""Custom entity recognizer: spaCy's NER trained from a blank pipeline, no pretrained vectors.

Model: spaCy's transition-based NER on a CNN tok2vec (4 Maxout window layers) whose input
layer hashes five lexical attributes (NORM, PREFIX, SUFFIX, SHAPE, ORTH) and embeds the first
and last UTF-8 bytes of each word, all mixed by one Maxout layer.

Training is greedy with a softmax over all transitions; it keeps the averaged weights of the
epoch with the best F1 on a validation split (carved from the training data unless given).
Spans of type `UNKNOWN` (doubtful entity-list matches) become missing annotation: the loss
ignores their tokens and validation F1 does not score predictions on them.

Confidence: inference runs a beam of `beam_width` parses scored by summed log-probabilities;
an entity's score is the probability mass of the beam parses that contain it (so 1.0 when all
alternatives agree), sharpened or flattened by one temperature fitted on the validation split
to minimise log loss of "this entity is correct". The entities returned are those of the best
parse, which is at least as good as greedy decoding.

Ensemble: a linear-chain CRF over hand-written features (`ner_crf`) is trained first, and the
CNN gets the rest of the work budget. A span's score is w x its CNN score + (1 - w) x its CRF
probability. Spans are kept from the best down while they reach a threshold and do not overlap
one already kept. w and the threshold are chosen together on the validation split, and w = 1
(the CNN alone) is one of the choices. On CoNLL-2003 dev the CNN alone scores 0.903 and the
CRF alone 0.895; the ensemble scores 0.914.

With an installed base model (`fit(..., base_model=...)`), its encoder is fine-tuned as a BIO
tagger over the same spaCy tokens (`ner_transformer`) after the CRF and before the CNN, and is
a third member: a span's score is t x its tagger score + (1 - t) x the CNN/CRF score above.
t (0 leaves it out, 1 lets it answer alone), w and the threshold are chosen together on the
validation split; a member the choice leaves out is not saved with the model.

Budget split: the tagger may use TRANSFORMER_SHARE (90%) of the work the CRF leaves, in whole
epochs counted with `encoder.train_work` (plus one validation pass an epoch); the CNN gets what
is left after the epochs actually trained. The total stays within the same budget. With the
default 1,080 units and all-MiniLM-L6-v2, CoNLL-2003 (216k words, 280k word pieces; 90% trained)
costs 78 units of CRF and 175 an epoch of fine-tuning: 5 epochs (875 units), and the CNN gets the
127 left (3 of its epochs). The share was chosen on CoNLL-2003's own dev split, whose articles
are not those of the training set: a validation split carved at random from the training set
shares articles, and so names, with the rest of it, and rewards the members that memorise (the
CNN, the CRF) over the one that brings knowledge from elsewhere. At 60% the tagger trained 3
epochs (validation F1 0.924) and the CNN 10: the ensemble scored 0.9528 on the carved split and
0.933 on CoNLL dev; at 90%, 5 epochs (0.942) and 3: 0.9513 and **0.939**. On WNUT-17 (67k
words) every share from 60% on allows the cap of 10 epochs or nearly (9 at 60%).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import spacy
from spacy.language import Language
from spacy.ml import _character_embed
from spacy.ml.featureextractor import FeatureExtractor
from spacy.pipeline._parser_internals._beam_utils import BeamBatch
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch
from thinc.api import (
    Adam,
    HashEmbed,
    Maxout,
    Model,
    chain,
    compounding,
    concatenate,
    list2ragged,
    ragged2list,
    with_array,
)

from models_app.ml import ner_crf
from models_app.ml.errors import TrainingStopped
from models_app.ml.ner_metrics import UNKNOWN

Span = tuple[int, int, str]
ScoredSpan = tuple[int, int, str, float]

# Chosen on CoNLL-2003's dev split (never on test) within the inference budget of 10,000
# words/s on one core; see bench/bench_recognizer_ml.py and the notes in its docstring.
DEFAULT_PARAMS: dict = {
    "width": 96,
    "depth": 4,
    "window_size": 1,
    "maxout_pieces": 3,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE", "ORTH"],
    "rows": [10000, 2500, 5000, 1000, 10000],
    "char_width": 16,
    "char_count": 8,
    "hidden_width": 128,
    "dropout": 0.2,
    # Hide word-identity features (NORM, ORTH) of this share of training tokens, so the model
    # learns to spot names it has not seen from their spelling and context. CoNLL dev F1 after
    # the same 20-minute budget: 0.892 without, 0.897 at 0.15, 0.903 at 0.3, 0.901 at 0.45.
    "word_dropout": 0.3,
    "learn_rate": 0.001,
    "l2": 1e-6,
    "batch_words_start": 100,
    "batch_words_stop": 1000,
    "max_epochs": 30,
    "patience": 5,
    "dev_fraction": 0.1,
    "beam_width": 4,
}

# The training budget counts work, not seconds, so the same data and budget train the same
# epochs on any machine however busy: one unit is about one second on one idle core of the
# benchmark machine (the rates give CoNLL-2003's annotations run the 21 epochs its 1080-second
# budget allowed there). The wall clock only stops training at the safety limit, SAFETY_FACTOR
# times the budget, and a model it cuts says so.
CRF_WORK_PER_WORD = 4e-4  # CRFsuite's L-BFGS (its fixed iterations), per training word
CNN_WORK_PER_WORD = 2.2e-4  # one epoch of updates, per training word
EVAL_WORK_PER_WORD = 5e-5  # the greedy validation parse after each epoch, per word
SAFETY_FACTOR = 5.0
SAFETY_MIN_S = 600.0  # ... and never less than this
# Wall-clock figures: recorded with the version, left out of the model files.
TIMING_KEYS = ("crf_seconds", "fit_seconds", "transformer_seconds")

# From this many documents on, the transformer member runs beside the CNN and CRF members.
OVERLAP_DOCS = 64
_TEMPERATURES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
# The ensemble's share of the CNN in a span's score, and the score a span needs, are chosen
# together on the validation split; weight 1 means the CNN alone.
_CNN_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
_THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
# With a fine-tuned base model, its share of a span's score (the CNN and CRF share the rest as
# above): 0 leaves it out, 1 lets it answer alone.
_TRANSFORMER_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
# The share of the work the CRF leaves that fine-tuning a base model may use; the CNN gets the
# rest (see the module docstring: chosen on CoNLL-2003's dev split).
TRANSFORMER_SHARE = 0.9


@spacy.registry.architectures("textwheel.RichEmbed.v1")
def rich_embed(
    width: int,
    attrs: list[str],
    rows: list[int],
    char_width: int,
    char_count: int,
    word_dropout: float = 0.0,
) -> Model:
    """Hashed lexical attributes and character bytes, concatenated and mixed by one Maxout."""
    hashed = [
        HashEmbed(width, n_rows, column=i, seed=8 + i, dropout=0.0) for i, n_rows in enumerate(rows)
    ]
    features = FeatureExtractor(attrs)
    if word_dropout:
        identity = [i for i, attr in enumerate(attrs) if attr in ("NORM", "ORTH", "LOWER")]
        features = chain(features, _word_dropout(word_dropout, identity))
    parts = [chain(features, list2ragged(), with_array(concatenate(*hashed)))]
    size = width * len(attrs)
    if char_width:
        # One Maxout over everything (rather than spaCy's CharacterEmbed with its own) saves
        # a layer: inference speed matters as much as accuracy here.
        parts.append(
            chain(_character_embed.CharacterEmbed(nM=char_width, nC=char_count), list2ragged())
        )
        size += char_width * char_count
    mix = with_array(Maxout(width, size, nP=3, dropout=0.0, normalize=True))
    return chain(concatenate(*parts), mix, ragged2list())


def _word_dropout(rate: float, columns: list[int]) -> Model:
    """While training, hide the word-identity features of random tokens.

    The model then has to recognise some known words from their characters, shape and context,
    which is all it has for the unseen names that dominate real test data.
    """

    def forward(model, features, is_train):
        if is_train:
            dropped = []
            for array in features:
                mask = np.random.random(array.shape[0]) < rate
                if mask.any():
                    array = array.copy()
                    array[np.ix_(mask, columns)] = 0
                dropped.append(array)
            features = dropped
        return features, lambda d_features: []

    return Model("word_dropout", forward)


def _build_pipeline(language: str, entity_types: Sequence[str], params: dict) -> Language:
    nlp = spacy.blank(language)
    tok2vec = {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {
            "@architectures": "textwheel.RichEmbed.v1",
            "width": params["width"],
            "attrs": list(params["attrs"]),
            "rows": list(params["rows"]),
            "char_width": params["char_width"],
            "char_count": params["char_count"],
            "word_dropout": params["word_dropout"],
        },
        "encode": {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": params["width"],
            "depth": params["depth"],
            "window_size": params["window_size"],
            "maxout_pieces": params["maxout_pieces"],
        },
    }
    model = {
        "@architectures": "spacy.TransitionBasedParser.v2",
        "state_type": "ner",
        "extra_state_tokens": False,
        "hidden_width": params["hidden_width"],
        "maxout_pieces": 2,
        "use_upper": True,
        "tok2vec": tok2vec,
    }
    ner = nlp.add_pipe("ner", config={"model": model})
    for entity_type in entity_types:
        ner.add_label(entity_type)
    return nlp


def _make_examples(nlp: Language, texts, spans, entity_types) -> list[Example]:
    wanted = set(entity_types)
    examples = []
    for text, doc_spans in zip(texts, spans, strict=True):
        reference = nlp.make_doc(text)
        ents, missing, last_end = [], [], 0
        for begin, end, label in sorted(s for s in doc_spans if s[2] in wanted or s[2] == UNKNOWN):
            # "expand" keeps an entity whose edge falls inside a spaCy token (e.g. "U.S.-based").
            span = reference.char_span(begin, end, alignment_mode="expand")
            if span is not None and span.start >= last_end:
                if label == UNKNOWN:
                    missing.append(span)
                else:
                    ents.append(reference.char_span(begin, end, label, alignment_mode="expand"))
                last_end = span.end
        # Tokens of unknown spans get missing annotation, which the NER loss ignores.
        reference.set_ents(ents, missing=missing, default="outside")
        examples.append(Example(nlp.make_doc(text), reference))
    return examples


def _split(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(n * fraction)) if n >= 10 else 0
    return sorted(order[n_dev:]), sorted(order[:n_dev])


def _prf(gold: list[set], pred: list[set]) -> float:
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    n_pred = sum(len(p) for p in pred)
    n_gold = sum(len(g) for g in gold)
    if not tp:
        return 0.0
    precision, recall = tp / n_pred, tp / n_gold
    return 2 * precision * recall / (precision + recall)


def _unknown_regions(example) -> list[tuple[int, int]]:
    """Character ranges of the reference's tokens with missing annotation (not scored)."""
    return [(t.idx, t.idx + len(t.text)) for t in example.y if t.ent_iob == 0]


def _overlaps(begin: int, end: int, regions: list[tuple[int, int]]) -> bool:
    return any(begin < region_end and region_begin < end for region_begin, region_end in regions)


def _greedy_f1(nlp: Language, examples) -> float:
    docs = nlp.pipe((eg.x.text for eg in examples), batch_size=256)
    pred = []
    for doc, eg in zip(docs, examples, strict=True):
        unknown = _unknown_regions(eg)
        pred.append(
            {
                (e.start_char, e.end_char, e.label_)
                for e in doc.ents
                if not _overlaps(e.start_char, e.end_char, unknown)
            }
        )
    gold = [{(e.start_char, e.end_char, e.label_) for e in eg.y.ents} for eg in examples]
    return _prf(gold, pred)


class TrainedRecognizer:
    """A trained entity recognizer: spaCy pipeline plus the parameters it was built with."""

    def __init__(
        self,
        nlp: Language,
        entity_types: Sequence[str],
        params: dict,
        crf: bytes | None = None,
        transformer=None,
    ):
        self.nlp = nlp
        self.entity_types = list(entity_types)
        self.params = dict(params)
        self.crf = crf
        self.crf_tagger = ner_crf.Tagger(crf) if crf else None
        self.crf_tokenizer = ner_crf.tokenizer(nlp)
        # A fine-tuned base model (`ner_transformer.Tagger`), when the ensemble uses one.
        self.transformer = transformer

    def entities(self, texts: Sequence[str], batch_size: int = 256) -> list[list[ScoredSpan]]:
        """(begin, end exclusive, type, score) per document, in character offsets, sorted."""
        # Without a CRF (none was needed, or the model predates the ensemble) the CNN answers
        # alone, still with the threshold chosen for it on validation.
        weight = self.params.get("cnn_weight", 1.0) if self.crf_tagger else 1.0
        threshold = self.params.get("threshold", 0.0)
        if self.transformer is None:
            return [
                _combine(cnn, crf, weight, threshold)
                for cnn, crf in self._member_spans(texts, batch_size)
            ]
        transformer_weight = self.params.get("transformer_weight", 1.0)
        return [
            _combine(cnn, crf, weight, threshold, trf, transformer_weight)
            for cnn, crf, trf in self._member_spans(texts, batch_size, cnn=transformer_weight < 1)
        ]

    def _member_spans(self, texts: Sequence[str], batch_size: int, cnn: bool = True) -> list:
        """Per document: the CNN's scored entities and the CRF's scored candidate spans, and the
        transformer's scored entities when the model has one. `cnn` False skips the CNN (and
        the CRF), for a model whose transformer answers alone."""
        temperature = self.params.get("temperature", 1.0)
        docs = list(self.nlp.tokenizer.pipe(texts, batch_size=batch_size))
        transformer = None
        if self.transformer is not None and cnn and len(docs) >= OVERLAP_DOCS:
            # The tagger (torch, which lets go of the GIL) runs beside the CNN and the CRF
            # (mostly Python): each member's answers are its own, only sooner.
            pool = ThreadPoolExecutor(1, thread_name_prefix="tagger")
            transformer = pool.submit(self.transformer.spans, docs)
            pool.shutdown(wait=False)
        parsed = self._parse(docs, batch_size) if cnn else [(doc, [], []) for doc in docs]
        out = []
        for doc, scores, parses in parsed:
            members = _scored_entities(doc, scores, parses, temperature)
            crf = []
            if cnn and self.crf_tagger is not None and len(doc):
                crf = self.crf_tagger.spans(self.crf_tokenizer(doc.text))
            out.append((members, crf))
        if self.transformer is not None:
            spans = transformer.result() if transformer else self.transformer.spans(docs)
            out = [(members, crf, trf) for (members, crf), trf in zip(out, spans, strict=True)]
        return out

    def _parse(self, docs: list, batch_size: int) -> list[tuple]:
        """(doc, beam scores, beam parses) per doc; the parses are sorted best first."""
        ner = self.nlp.get_pipe("ner")
        width = int(self.params.get("beam_width", 4))
        results = [(doc, [], []) for doc in docs]
        # Length-sorted batches keep the padding (and so the wasted work) small.
        order = sorted((i for i, doc in enumerate(docs) if len(doc)), key=lambda i: len(docs[i]))
        for batch in minibatch(order, size=batch_size):
            batch_docs = [docs[i] for i in batch]
            beams = _beam_parse(ner, batch_docs, width)
            for i, doc, beam in zip(batch, batch_docs, beams, strict=True):
                parses = [ents for _, ents in ner.moves.get_beam_parses(beam)]
                results[i] = (doc, beam.scores[: len(parses)], parses)
        return results


def _beam_parse(ner, docs: list, width: int) -> list:
    """Beam search over the NER transitions, scoring paths by summed log-probabilities.

    spaCy's own beam_parse sums raw action scores, which suits beam-trained models; the greedy
    model is trained with a softmax over all actions, so normalising each step makes a path's
    score its log-probability: the top parse is then at least as good as the greedy one and the
    beam's parse probabilities mean something.
    """
    batch = BeamBatch(ner.moves, ner.moves.init_batch(docs), None, width, density=0.0)
    step_model = ner.model.predict(docs)
    while not batch.is_done:
        states = batch.get_unfinished_states()
        if not states:
            break
        scores = step_model.predict(states)
        top = scores.max(axis=1, keepdims=True)
        log_z = top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
        batch.advance(np.ascontiguousarray(scores - log_z, dtype="float32"))
    step_model.clear_memory()
    return list(batch)


def _scored_entities(doc, scores, parses, temperature: float) -> list[ScoredSpan]:
    """Entities of the best parse, each scored by the beam mass of the parses containing it."""
    if not parses:
        return []
    scores = np.asarray(scores, dtype="float64") / temperature
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    mass: dict = {}
    for prob, ents in zip(probs, parses, strict=True):
        for ent in ents:
            mass[ent] = mass.get(ent, 0.0) + float(prob)
    out = []
    for start, end, label in sorted(parses[0]):
        last = doc[end - 1]
        score = round(min(1.0, mass[(start, end, label)]), 4)
        out.append((doc[start].idx, last.idx + len(last.text), label, score))
    return out


def _combine(
    cnn: list,
    crf: list,
    weight: float,
    threshold: float,
    trf: Sequence = (),
    trf_weight: float = 0.0,
) -> list[ScoredSpan]:
    """Spans scored weight x CNN + (1 - weight) x CRF, kept from the best down when at least
    threshold and not overlapping one already kept. With a transformer member, its spans count
    trf_weight and the CNN and CRF together 1 - trf_weight."""
    score: dict = {}
    if trf_weight:
        share = 1.0 - trf_weight
        if share > 0:
            for begin, end, label, p in cnn:
                key = (begin, end, label)
                score[key] = score.get(key, 0.0) + share * weight * p
            if weight < 1:
                for begin, end, label, p in crf:
                    key = (begin, end, label)
                    score[key] = score.get(key, 0.0) + share * (1 - weight) * p
        for begin, end, label, p in trf:
            score[(begin, end, label)] = score.get((begin, end, label), 0.0) + trf_weight * p
    else:
        for begin, end, label, p in cnn:
            score[(begin, end, label)] = score.get((begin, end, label), 0.0) + weight * p
        if weight < 1:
            for begin, end, label, p in crf:
                score[(begin, end, label)] = score.get((begin, end, label), 0.0) + (1 - weight) * p
    kept: list[ScoredSpan] = []
    for (begin, end, label), p in sorted(score.items(), key=lambda item: (-item[1], item[0])):
        if p <= 0 or p < threshold:
            break
        if all(end <= other[0] or other[1] <= begin for other in kept):
            kept.append((begin, end, label, round(min(1.0, p), 4)))
    return sorted(kept)


def _fit_combination(recognizer: TrainedRecognizer, examples) -> tuple[float, float, float]:
    """(CNN weight, threshold, validation F1) of the best ensemble on the validation split."""
    members = recognizer._member_spans([eg.x.text for eg in examples], 256)
    gold = [{(e.start_char, e.end_char, e.label_) for e in eg.y.ents} for eg in examples]
    regions = [_unknown_regions(eg) for eg in examples]
    best = (-1.0, 1.0, 0.0)
    for weight in _CNN_WEIGHTS:
        for threshold in _THRESHOLDS:
            pred = [
                {
                    (b, e, label)
                    for b, e, label, _ in _combine(cnn, crf, weight, threshold)
                    if not _overlaps(b, e, unknown)
                }
                for (cnn, crf), unknown in zip(members, regions, strict=True)
            ]
            f1 = _prf(gold, pred)
            if f1 > best[0]:
                best = (f1, weight, threshold)
    return best[1], best[2], best[0]


def _fit_combination_with_transformer(
    recognizer: TrainedRecognizer, examples, forced: float | None = None
) -> dict:
    """The best ensemble on the validation split over the transformer's share, the CNN's share
    of the rest and the threshold; also the best without the transformer (share 0). `forced`
    restricts the choice to that transformer share."""
    members = recognizer._member_spans([eg.x.text for eg in examples], 256)
    gold = [{(e.start_char, e.end_char, e.label_) for e in eg.y.ents} for eg in examples]
    regions = [_unknown_regions(eg) for eg in examples]
    cnn_weights = _CNN_WEIGHTS if recognizer.crf_tagger is not None else (1.0,)
    best = {"f1": -1.0}
    best_without = -1.0
    shares = sorted({0.0, *_TRANSFORMER_WEIGHTS, *([forced] if forced is not None else [])})
    for trf_weight in shares:
        for weight in cnn_weights if trf_weight < 1 else (1.0,):
            for threshold in _THRESHOLDS:
                pred = [
                    {
                        (b, e, label)
                        for b, e, label, _ in _combine(cnn, crf, weight, threshold, trf, trf_weight)
                        if not _overlaps(b, e, unknown)
                    }
                    for (cnn, crf, trf), unknown in zip(members, regions, strict=True)
                ]
                f1 = _prf(gold, pred)
                if trf_weight == 0:
                    best_without = max(best_without, f1)
                if forced is not None and trf_weight != forced:
                    continue
                if f1 > best["f1"]:
                    best = {
                        "f1": f1,
                        "transformer_weight": trf_weight,
                        "cnn_weight": weight,
                        "threshold": threshold,
                    }
    best["f1_without"] = best_without
    return best


def _fit_transformer(
    base_model,
    train_examples,
    dev_examples,
    entity_types,
    *,
    seed: int,
    budget: float | None,
    settings: dict | None,
    should_stop,
    past_safety_limit,
    progress,
) -> tuple[object | None, dict]:
    """(the fine-tuned tagger or None, the params["base_model"] record so far)."""
    from models_app.ml import encoder, ner_transformer

    info: dict = {
        "name": base_model.name,
        "sha256": base_model.sha256 if base_model.usable else None,
        "used": False,
        "reason": "",
        "warning": None,
    }
    enc, warning = encoder.load_base_encoder(base_model)
    if enc is None:
        info.update(reason="Not used: it could not be loaded.", warning=warning)
        return None, info
    settings = {**ner_transformer.DEFAULTS, **(settings or {})}
    if not dev_examples:
        info["reason"] = (
            "Not tried: there are too few documents to hold a validation split out to "
            "compare it on."
        )
        return None, info
    plan = ner_transformer.Plan(enc, train_examples, dev_examples, settings)
    n_epochs = plan.epochs(budget)
    info["work_per_epoch"] = round(plan.epoch_work, 4)
    if n_epochs < 1:
        info["reason"] = (
            f"Not tried: fine-tuning it needs {plan.epoch_work:.0f} units of work an epoch and "
            f"the budget left {max(budget or 0.0, 0.0):.0f}."
        )
        return None, info
    tagger, figures = ner_transformer.train(
        enc,
        plan,
        train_examples,
        dev_examples,
        entity_types,
        n_epochs=n_epochs,
        seed=seed,
        should_stop=should_stop,
        past_safety_limit=past_safety_limit,
        progress=lambda epoch, f1: progress(
            0.02 + 0.3 * epoch / n_epochs,
            f"fine-tuning {base_model.name}: epoch {epoch}: dev F1 "
            + ("n/a" if f1 is None else f"{f1:.3f}"),
        ),
    )
    info.update(figures)
    info["settings"] = settings
    return tagger, info


def _transformer_reason(name: str, choice: dict, info: dict) -> str:
    with_f1, without_f1 = choice["f1"], choice["f1_without"]
    precision = ""
    if info.get("bf16"):
        precision = (
            " It predicts in bfloat16 where the device has it natively (its validation F1 "
            f"{info['dev_f1_bf16']:.3f}, in float32 {info['dev_f1']:.3f})."
        )
    if info.get("quantized"):
        precision += (
            f" {'Elsewhere on' if info.get('bf16') else 'On'} a CPU it predicts in int8 (its "
            f"validation F1 {info['dev_f1_quantized']:.3f}, in float32 {info['dev_f1']:.3f})."
        )
    if choice["transformer_weight"] == 1.0:
        return (
            f"Used {name} alone: on validation it scored F1 {with_f1:.3f}, the ensemble "
            f"without it {without_f1:.3f}.{precision}"
        )
    if choice["transformer_weight"] > 0:
        return (
            f"Used {name}: on validation the ensemble with it scored F1 {with_f1:.3f}, "
            f"without it {without_f1:.3f}.{precision}"
        )
    return (
        f"Not used: on validation no ensemble with {name} scored above F1 {without_f1:.3f}, "
        "the score without it."
    )


def _fit_temperature(recognizer: TrainedRecognizer, examples) -> float:
    """The beam temperature whose scores best predict correctness on the validation split."""
    if not examples:
        return 1.0
    docs = list(recognizer.nlp.tokenizer.pipe([eg.x.text for eg in examples], batch_size=256))
    parsed = recognizer._parse(docs, 256)
    gold = [{(e.start_char, e.end_char, e.label_) for e in eg.y.ents} for eg in examples]
    regions = [_unknown_regions(eg) for eg in examples]
    best, best_loss = 1.0, math.inf
    for temperature in _TEMPERATURES:
        loss, count = 0.0, 0
        for doc_gold, doc_parsed, unknown in zip(gold, parsed, regions, strict=True):
            for begin, end, label, score in _scored_entities(*doc_parsed, temperature):
                if _overlaps(begin, end, unknown):
                    continue
                p = min(max(score, 1e-4), 1 - 1e-4)
                loss -= math.log(p if (begin, end, label) in doc_gold else 1 - p)
                count += 1
        if count and loss / count < best_loss:
            best, best_loss = temperature, loss / count
    return best


def fit(
    texts: Sequence[str],
    spans: Sequence[Sequence[Span]],
    *,
    entity_types: Sequence[str],
    language: str = "en",
    seed: int = 0,
    time_budget_s: float | None = None,
    safety_factor: float = SAFETY_FACTOR,
    safety_min_s: float = SAFETY_MIN_S,
    max_epochs: int | None = None,
    dev: tuple[Sequence[str], Sequence[Sequence[Span]]] | None = None,
    progress: Callable[[float, str], None] = lambda fraction, step: None,
    should_stop: Callable[[], bool] = lambda: False,
    params: dict | None = None,
    base_model=None,
    transformer_params: dict | None = None,
    transformer_weight: float | None = None,
) -> TrainedRecognizer:
    """Train on texts with (begin, end, type) character spans; early-stop on validation F1.

    `time_budget_s` is a budget of work (about seconds on one idle core): the epochs it allows
    follow from the number of words, so the same data and budget give the same model on any
    machine. The wall clock stops training only after `safety_factor` times that many seconds
    (at least `safety_min_s`), and `params["stopped_at_safety_limit"]` then says so.

    With a `base_model` (a `base_models.BaseModel`), its encoder is fine-tuned as a tagger after
    the CRF, on TRANSFORMER_SHARE of the work the CRF leaves, and the ensemble may use it;
    `params["base_model"]` says whether it did and why. A base model that cannot be loaded
    gives a warning there, and the model is trained as without one. `transformer_weight` fixes
    the tagger's share of the ensemble instead of choosing it on validation: for tests, whose
    tiny base model would rarely earn a place.
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    entity_types = sorted(set(entity_types))
    started = time.monotonic()
    fix_random_seed(seed)
    nlp = _build_pipeline(language, entity_types, params)
    if dev is not None:
        train_examples = _make_examples(nlp, texts, spans, entity_types)
        dev_examples = _make_examples(nlp, dev[0], dev[1], entity_types)
    else:
        examples = _make_examples(nlp, texts, spans, entity_types)
        train_idx, dev_idx = _split(len(examples), params["dev_fraction"], seed)
        train_examples = [examples[i] for i in train_idx]
        dev_examples = [examples[i] for i in dev_idx]
    if not train_examples:
        raise ValueError("no training documents")

    # The CRF first: it takes a minute or two, and the CNN then gets what is left of the budget.
    progress(0.01, "training the CRF")
    crf_started = time.monotonic()
    crf_tokenizer = ner_crf.tokenizer(nlp)
    sequences = [
        sequence
        for eg in train_examples
        if (
            sequence := ner_crf.tagged(
                crf_tokenizer(eg.x.text),
                [(e.start_char, e.end_char, e.label_) for e in eg.y.ents],
                _unknown_regions(eg),
            )
        )
        is not None
    ]
    crf = ner_crf.train(sequences, should_stop)
    crf_seconds = time.monotonic() - crf_started
    spent = CRF_WORK_PER_WORD * sum(len(words) for words, _ in sequences)
    tagger, base_info, transformer_stopped = None, None, False
    if base_model is not None:
        transformer_started = time.monotonic()
        limit = max(safety_factor * time_budget_s, safety_min_s) if time_budget_s else None
        tagger, base_info = _fit_transformer(
            base_model,
            train_examples,
            dev_examples,
            entity_types,
            seed=seed,
            budget=TRANSFORMER_SHARE * (time_budget_s - spent) if time_budget_s else None,
            settings=transformer_params,
            should_stop=should_stop,
            past_safety_limit=lambda: bool(limit) and time.monotonic() - started > limit,
            progress=progress,
        )
        spent += base_info.get("work", 0.0)
        transformer_stopped = bool(base_info.get("stopped_at_safety_limit"))
        transformer_seconds = time.monotonic() - transformer_started
        fix_random_seed(seed)  # the CNN starts from the same random state as without it
    train_words = sum(len(eg.x) for eg in train_examples)
    dev_words = sum(len(eg.x) for eg in dev_examples)
    epoch_work = CNN_WORK_PER_WORD * train_words + EVAL_WORK_PER_WORD * dev_words
    n_epochs = params["max_epochs"]
    if time_budget_s:
        # The epochs the budget allows (at least one), counted before any is trained.
        n_epochs = max(1, min(n_epochs, int((time_budget_s - spent) // max(epoch_work, 1e-9))))
    safety_s = max(safety_factor * time_budget_s, safety_min_s) if time_budget_s else None
    stopped_at_safety_limit = False

    optimizer = Adam(
        learn_rate=params["learn_rate"], L2=params["l2"], grad_clip=1.0, use_averages=True
    )
    nlp.initialize(lambda: train_examples[:1000], sgd=optimizer)
    ner = nlp.get_pipe("ner")
    rng = random.Random(seed)
    # Small batches first, then larger ones: quick early progress, stable later steps.
    batch_sizes = compounding(params["batch_words_start"], params["batch_words_stop"], 1.001)
    best_f1, best_weights, best_epoch = -1.0, None, 0
    epoch = 0
    for epoch in range(1, n_epochs + 1):
        rng.shuffle(train_examples)
        for batch in _batches_by_words(train_examples, batch_sizes):
            if should_stop():
                raise TrainingStopped()
            nlp.update(batch, drop=params["dropout"], sgd=optimizer)
        # Evaluate (and keep) the averaged weights, which generalise better than the last ones.
        with nlp.use_params(optimizer.averages):
            # Too little data to hold any out: keep training to the end, keep the last weights.
            f1 = _greedy_f1(nlp, dev_examples) if dev_examples else None
            if f1 is None or f1 > best_f1:
                best_f1, best_weights, best_epoch = f1 or 0.0, ner.model.to_bytes(), epoch
        spent += epoch_work
        shown = "n/a (no validation documents)" if f1 is None else f"{f1:.3f}"
        progress(min(epoch / n_epochs, 0.99), f"epoch {epoch}: dev F1 {shown}")
        if epoch - best_epoch >= params["patience"]:
            break
        if epoch < n_epochs and safety_s and time.monotonic() - started > safety_s:
            stopped_at_safety_limit = True
            break
    ner.model.from_bytes(best_weights)
    stopped_at_safety_limit = stopped_at_safety_limit or transformer_stopped
    params.update(
        best_epoch=best_epoch,
        epochs=epoch,
        epochs_planned=n_epochs,
        work_budget=round(time_budget_s, 1) if time_budget_s else None,
        work_spent=round(spent, 1),
        safety_limit_seconds=round(safety_s, 1) if safety_s else None,
        stopped_at_safety_limit=stopped_at_safety_limit,
        dev_f1=round(best_f1, 4),
        seed=seed,
        language=language,
        train_documents=len(train_examples),
        dev_documents=len(dev_examples),
    )
    recognizer = TrainedRecognizer(nlp, entity_types, params)
    recognizer.params["temperature"] = _fit_temperature(recognizer, dev_examples)
    if tagger is not None:
        if crf:
            recognizer.crf, recognizer.crf_tagger = crf, ner_crf.Tagger(crf)
        recognizer.transformer = tagger
        choice = _fit_combination_with_transformer(recognizer, dev_examples, transformer_weight)
        # Chosen on the numbers of the tagger's validated precision on any machine; from here
        # on it predicts in bfloat16 only where the device has it natively.
        tagger.predict_anywhere(False)
        recognizer.params.update(
            cnn_weight=choice["cnn_weight"],
            transformer_weight=choice["transformer_weight"],
            threshold=choice["threshold"],
            ensemble_dev_f1=round(choice["f1"], 4),
            crf_seconds=round(crf_seconds, 1),
            transformer_seconds=round(transformer_seconds, 1),
        )
        if choice["cnn_weight"] == 1.0 or choice["transformer_weight"] == 1.0:
            recognizer.crf, recognizer.crf_tagger = None, None
        if choice["transformer_weight"] == 0:
            recognizer.transformer = None
            del recognizer.params["transformer_weight"]
        base_info.update(
            used=choice["transformer_weight"] > 0,
            reason=_transformer_reason(base_model.name, choice, base_info),
            weight=choice["transformer_weight"],
            dev_f1_with=round(choice["f1"], 4),
            dev_f1_without=round(choice["f1_without"], 4),
        )
        best_f1 = max(best_f1, choice["f1"])
    elif crf and dev_examples:
        recognizer.crf, recognizer.crf_tagger = crf, ner_crf.Tagger(crf)
        weight, threshold, f1 = _fit_combination(recognizer, dev_examples)
        recognizer.params.update(
            cnn_weight=weight,
            threshold=threshold,
            ensemble_dev_f1=round(f1, 4),
            crf_seconds=round(crf_seconds, 1),
        )
        if weight == 1.0:  # the CRF did not help on validation: serve the CNN alone
            recognizer.crf, recognizer.crf_tagger = None, None
        best_f1 = max(best_f1, f1)
    if base_info is not None:
        recognizer.params["base_model"] = base_info
    recognizer.params["fit_seconds"] = round(time.monotonic() - started, 1)
    progress(1.0, f"done: best epoch {best_epoch}, dev F1 {best_f1:.3f}")
    return recognizer


def without_timings(params: dict) -> dict:
    """The parameters without wall-clock figures, as stored in the model files (the same data
    and settings must give the same bytes)."""
    return {k: v for k, v in params.items() if k not in TIMING_KEYS}


def safety_note(params: dict) -> str | None:
    """What the version says when the safety time limit cut training short."""
    if not params.get("stopped_at_safety_limit"):
        return None
    return (
        f"Training stopped at the safety time limit ({params.get('safety_limit_seconds') or 0:g} "
        f"seconds) after {params.get('epochs', 0)} of {params.get('epochs_planned', 0)} epochs; "
        "the result may differ on a faster machine."
    )


def _batches_by_words(examples, sizes: Iterator[float]):
    """Batches of examples holding about next(sizes) words each."""
    batch, words, size = [], 0, next(sizes)
    for eg in examples:
        batch.append(eg)
        words += len(eg.x)
        if words >= size:
            yield batch
            batch, words, size = [], 0, next(sizes)
    if batch:
        yield batch
