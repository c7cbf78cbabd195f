"""The recognizer ensemble's CRF member and how its spans combine with the CNN's."""

import threading

import pytest
import spacy

from models_app.ml import ner_crf
from models_app.ml.errors import TrainingStopped
from models_app.ml.recognizer import TrainedRecognizer, _combine

NLP = spacy.blank("en")
TOKENIZER = ner_crf.tokenizer(NLP)


def test_tokens_keep_hyphenated_words_whole():
    words = [t.text for t in TOKENIZER('Leeds won 6-1 on 1996-08-22 , "a three-day trip".')]
    assert words == [
        "Leeds", "won", "6-1", "on", "1996-08-22", ",", '"', "a", "three-day", "trip", '"', ".",
    ]  # fmt: skip


def test_tags_follow_character_spans_and_skip_missing_annotation():
    text = "Peter Blackburn met EU officials in Brussels ."
    tokens = TOKENIZER(text)
    ents = [(0, 15, "PERSON"), (20, 22, "ORGANIZATION"), (36, 44, "LOCATION")]
    words, tags = ner_crf.tagged(tokens, ents, [])
    assert words == text.split()
    assert tags == ["B-PERSON", "I-PERSON", "O", "B-ORGANIZATION", "O", "O", "B-LOCATION", "O"]
    # Two entities of one type side by side stay two entities.
    _, tags = ner_crf.tagged(TOKENIZER("Germany France"), [(0, 7, "LOC"), (8, 14, "LOC")], [])
    assert tags == ["B-LOC", "B-LOC"]
    assert ner_crf.tagged(tokens, ents[:1], [(20, 22)]) is None


def test_features_describe_the_word_and_its_neighbours():
    first, second = ner_crf.features(["EU", "rejects"])
    assert {"w=eu", "sh=X", "lsh=XX", "p1=e", "s2=eu", "title", "first", "w1=rejects"} <= set(first)
    assert {"w-1=eu", "sh-1=X", "bg-=eu|rejects", "w1=<pad>"} <= set(second)
    assert "caps=0" in first and "caps=1" in ner_crf.features(["EU", "REJECTS"])[0]
    # Longer affixes, word-type flags, and shapes seen together with the neighbours'.
    assert {"allcaps", "sh3=<s>|X|x", "sh-1|w=<s>|eu"} <= set(first)
    assert {"p6=reject", "s6=ejects", "sh3=X|x|</s>", "sh-1|w=X|rejects"} <= set(second)
    assert "allcaps" not in second and "p7=rejects" not in second
    score, comma = ner_crf.features(["6-1", ","])
    assert {"digit", "hyphen"} <= set(score) and "len1" not in score
    assert "len1" in comma and not {"digit", "hyphen"} & set(comma)


SENTENCES = [
    ("Peter Blackburn visited Brussels .", [(0, 15, "PERSON"), (24, 32, "LOCATION")]),
    ("John Smith visited Paris .", [(0, 10, "PERSON"), (19, 24, "LOCATION")]),
    ("Anna Berg visited Berlin today .", [(0, 9, "PERSON"), (18, 24, "LOCATION")]),
    ("It rained in Madrid .", [(13, 19, "LOCATION")]),
]


def _trained_tagger():
    model = ner_crf.train([ner_crf.tagged(TOKENIZER(t), e, []) for t, e in SENTENCES * 5])
    return ner_crf.Tagger(model)


def test_a_stop_request_ends_crf_training_without_waiting_for_it():
    # Distinct words per sentence give CRFsuite enough features to train for seconds.
    sequences = [
        ([f"{word}{i}" for word in text.split()], tags)
        for i in range(1000)
        for text, ents in SENTENCES
        for _, tags in [ner_crf.tagged(TOKENIZER(text), ents, [])]
    ]
    calls = []
    try:
        with pytest.raises(TrainingStopped):
            ner_crf.train(sequences, lambda: calls.append(1) or len(calls) >= 2, poll_seconds=0.01)
        assert len(calls) == 2
        # The stop was answered while CRFsuite was still training in its abandoned thread.
        assert any(t.name == "crf-training" and t.is_alive() for t in threading.enumerate())
    finally:
        # A work horse leaves with os._exit; a test process must not exit with CRFsuite still
        # running in a thread, even after a failed assertion, or the C++ runtime aborts it at
        # interpreter shutdown.
        for thread in threading.enumerate():
            if thread.name == "crf-training":
                thread.join()


def test_tagger_scores_spans_in_characters():
    tagger = _trained_tagger()
    text = "Mary Jones visited Rome ."
    spans = tagger.spans(TOKENIZER(text))
    best = {}
    for begin, end, type_, p in spans:
        best[type_] = max(best.get(type_, (0.0, "")), (p, text[begin:end]))
    assert best["PERSON"][1] == "Mary Jones" and best["PERSON"][0] > 0.5
    assert best["LOCATION"][1] == "Rome" and best["LOCATION"][0] > 0.5
    assert all(0.0 <= p <= 1.0 for *_, p in spans)
    assert tagger.spans(TOKENIZER("")) == []


def test_each_thread_gets_its_own_tagger():
    tagger = _trained_tagger()
    text = TOKENIZER("Anna Berg visited Paris .")
    expected = tagger.spans(text)
    results, errors = [], []

    def work():
        try:
            for _ in range(50):
                results.append(tagger.spans(text) == expected)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 200 and all(results)


def test_combination_weighs_members_and_resolves_overlaps():
    cnn = [(0, 10, "PERSON", 0.9), (20, 25, "LOCATION", 0.5)]
    crf = [(0, 10, "PERSON", 0.7), (0, 4, "PERSON", 0.3), (20, 25, "ORGANIZATION", 0.8)]
    # Weight 0.5: PERSON 0.8, LOCATION 0.25, ORGANIZATION 0.4, the short PERSON 0.15.
    assert _combine(cnn, crf, 0.5, 0.3) == [(0, 10, "PERSON", 0.8), (20, 25, "ORGANIZATION", 0.4)]
    assert _combine(cnn, crf, 0.5, 0.5) == [(0, 10, "PERSON", 0.8)]
    # Overlapping spans: only the best one is kept.
    assert _combine(cnn, crf, 0.5, 0.1) == [(0, 10, "PERSON", 0.8), (20, 25, "ORGANIZATION", 0.4)]
    # Weight 1 and threshold 0: the CNN alone, unchanged.
    assert _combine(cnn, crf, 1.0, 0.0) == cnn


def test_without_a_crf_the_cnn_keeps_its_validation_threshold():
    class Bare(TrainedRecognizer):
        def _member_spans(self, texts, batch_size):
            return [([(0, 4, "PERSON", 0.9), (5, 9, "PERSON", 0.2)], [])]

    recognizer = Bare(NLP, ["PERSON"], {"cnn_weight": 1.0, "threshold": 0.3})
    assert recognizer.crf is None
    assert recognizer.entities(["Anna Berg"]) == [[(0, 4, "PERSON", 0.9)]]
    # A model saved before the ensemble has no threshold: every entity of the best parse.
    older = Bare(NLP, ["PERSON"], {})
    assert older.entities(["Anna Berg"]) == [[(0, 4, "PERSON", 0.9), (5, 9, "PERSON", 0.2)]]
