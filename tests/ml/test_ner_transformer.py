"""The recognizer's transformer member, with the tiny base model the suite builds itself."""

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import spacy

from models_app.ml import encoder as E
from models_app.ml import ner_transformer as T
from models_app.ml.base_models import inspect_base_model
from models_app.ml.ner_artifacts import directory_sha256, load_recognizer, save_recognizer
from models_app.ml.ner_metrics import UNKNOWN
from models_app.ml.recognizer import TrainedRecognizer, _combine, _make_examples, fit
from tests.base_model_factory import build_base_model

NLP = spacy.blank("en")
PEOPLE = ["John", "Mary", "Anna Berg", "Luis Ortega", "Ines"]
PLACES = ["London", "Paris", "New York", "Zürich", "Lake Geneva"]
PATTERNS = [
    "{p} went to {l} with the team.",
    "In {l} , {p} said the game was good.",
    "{p}  was  happy in {l}!",
    "They met {p} at the bank in {l}.",
    "The river in {l} is new, said {p}.",
]
TYPES = ["LOCATION", "PERSON"]


def _sentence(rng: random.Random) -> tuple[str, list]:
    pattern = rng.choice(PATTERNS)
    names = {"p": (rng.choice(PEOPLE), "PERSON"), "l": (rng.choice(PLACES), "LOCATION")}
    text, spans = "", []
    for i, part in enumerate(re.split(r"\{(\w)\}", pattern)):
        if i % 2:
            name, label = names[part]
            spans.append((len(text), len(text) + len(name), label))
            part = name
        text += part
    return text, spans


def _data(n: int, seed: int = 0) -> tuple[list[str], list[list]]:
    rng = random.Random(seed)
    pairs = [_sentence(rng) for _ in range(n)]
    return [t for t, _ in pairs], [s for _, s in pairs]


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    folder = build_base_model(tmp_path_factory.mktemp("base") / "tiny-bert")
    return inspect_base_model(folder, name="tiny-bert", source="folder")


@pytest.fixture(scope="module")
def trained(base_model):
    texts, spans = _data(160)
    return fit(
        texts,
        spans,
        entity_types=TYPES,
        seed=0,
        max_epochs=2,
        base_model=base_model,
        transformer_params={"max_epochs": 6, "learn_rate": 3e-3, "batch_tokens": 128},
    )


def test_the_generated_spans_are_the_names():
    texts, spans = _data(20)
    for text, doc_spans in zip(texts, spans, strict=True):
        assert {text[b:e] for b, e, _ in doc_spans} <= set(PEOPLE + PLACES)


def test_a_word_of_several_pieces_gets_one_label_on_its_first_piece(base_model):
    enc = E.Encoder.from_folder(base_model.path)
    words = ["Zürich", "played", "london", "."]
    encoding = enc.tokenizer.encode(words, is_pretokenized=True, add_special_tokens=False)
    assert encoding.word_ids.count(1) > 1  # "played" is "play" + "##ed"
    windows = T._Windows(enc, [words])
    assert windows.words == [(0, [0, 1, 2, 3])]
    first = [encoding.word_ids.index(w) for w in range(4)]
    assert windows.positions == [first]
    # One probability row per word, whatever the number of its pieces.
    head = T._head(enc.hidden_size, 5)
    tagger = T.Tagger(enc, head, TYPES)
    probs = tagger.word_probabilities([words, [], ["a", " ", "b"]])
    assert [p.shape for p in probs] == [(4, 5), (0, 5), (3, 5)]
    assert np.allclose(probs[0].sum(axis=1), 1.0)
    assert np.isnan(probs[2][1]).all()  # a whitespace token has no piece and no prediction


def test_long_documents_are_cut_into_windows_that_predict_every_word_once(base_model):
    enc = E.Encoder.from_folder(base_model.path)
    limit = enc.max_tokens - 2
    words = (["john", "played", "in", "london", "."] * 60)[:250]
    windows = T._Windows(enc, [words, ["short", "one"]])
    assert all(len(p) <= limit for p in windows.pieces)
    assert len([w for w in windows.words if w[0] == 0]) > 3
    covered = [i for doc, ws in windows.words if doc == 0 for i in ws]
    assert covered == list(range(len(words)))
    tagger = T.Tagger(enc, T._head(enc.hidden_size, 5), TYPES)
    probs = tagger.word_probabilities([words])[0]
    assert probs.shape == (250, 5) and not np.isnan(probs).any()


def test_bio_decoding_builds_spans_across_pieceless_words():
    tags = T.tag_names(["LOC", "PER"])  # O B-LOC I-LOC B-PER I-PER
    rows = {
        "O": [0.9, 0.025, 0.025, 0.025, 0.025],
        "B-PER": [0.1, 0, 0, 0.8, 0.1],
        "I-PER": [0.2, 0, 0, 0.2, 0.6],
        "I-LOC": [0.3, 0, 0.7, 0, 0],
    }
    nan = [np.nan] * 5
    probs = np.array([rows["B-PER"], nan, rows["I-PER"], rows["O"], rows["I-LOC"], rows["B-PER"]])
    assert T.decode(probs, tags) == [
        (0, 3, "PER", 0.7),  # the whitespace token inside does not break the name
        (4, 5, "LOC", 0.7),  # I- without B- starts a span
        (5, 6, "PER", 0.8),
    ]


def test_unknown_spans_are_left_out_of_the_loss():
    text = "Anna Berg met Acme in Paris"
    [example] = _make_examples(
        NLP, [text], [[(0, 9, "PERSON"), (14, 18, UNKNOWN), (22, 27, "LOCATION")]], TYPES
    )
    tags = T.tag_names(TYPES)
    labels = [tags[i] if i != T.IGNORE else None for i in T.labels(example, tags)]
    assert labels == ["B-PERSON", "I-PERSON", "O", None, "O", "B-LOCATION"]


def test_fit_with_a_base_model_trains_it_and_says_why(trained):
    info = trained.params["base_model"]
    assert info["name"] == "tiny-bert" and len(info["sha256"]) == 64
    assert info["warning"] is None
    assert 1 <= info["best_epoch"] <= info["epochs"] <= info["epochs_planned"] <= 6
    assert info["work"] > 0 and info["dev_f1"] > 0.5
    assert "on validation" in info["reason"] and f"{info['dev_f1_without']:.3f}" in info["reason"]
    assert info["used"] == (info["weight"] > 0) == (trained.transformer is not None)
    assert info["reason"].startswith("Used" if info["used"] else "Not used")
    # Whether it predicts in bfloat16, with the validation figures that allowed it.
    assert ("bfloat16" in info["reason"]) == (info["used"] and info["bf16"])
    if info["used"] and info["bf16"]:
        assert f"F1 {info['dev_f1_bf16']:.3f}, in float32 {info['dev_f1']:.3f}" in info["reason"]
    assert ("int8" in info["reason"]) == (info["used"] and info["quantized"])
    if info["used"] and info["quantized"]:
        assert f"F1 {info['dev_f1_quantized']:.3f}, in float32" in info["reason"]


def test_offsets_are_exact_character_offsets_of_the_tokens(trained):
    texts = [
        "In Zürich , John said the game was good.",
        "Mary  was  happy in Paris!",
        "They met Luis Ortega at the bank in New York.",
    ]
    gold = [
        [(3, 9, "LOCATION"), (12, 16, "PERSON")],
        [(0, 4, "PERSON"), (20, 25, "LOCATION")],
        [(9, 20, "PERSON"), (36, 44, "LOCATION")],
    ]
    assert [[t[:3] for t in found] for found in trained.entities(texts)] == gold
    if trained.transformer is not None:
        docs = list(trained.nlp.tokenizer.pipe(texts))
        for spans, text in zip(trained.transformer.spans(docs), texts, strict=True):
            for begin, end, _, score in spans:
                assert text[begin:end] == text[begin:end].strip() and 0 < score <= 1


@pytest.fixture(scope="module")
def tagger(base_model):
    texts, spans = _data(160, seed=1)
    examples = _make_examples(NLP, texts, spans, TYPES)
    enc = E.Encoder.from_folder(base_model.path)
    settings = {**T.DEFAULTS, "learn_rate": 3e-3, "batch_tokens": 128}
    plan = T.Plan(enc, examples[:140], examples[140:], settings)
    return T.train(enc, plan, examples[:140], examples[140:], TYPES, n_epochs=6, seed=0)


def test_the_transformer_alone_finds_names_with_exact_offsets(tagger):
    """The member itself, not the ensemble."""
    tagger, info = tagger
    assert info["dev_f1"] > 0.8 and info["best_epoch"] >= 1
    text = "In London , Mary  said the game was good."
    [found] = tagger.spans([NLP.make_doc(text)])
    assert [s[:3] for s in found] == [(3, 9, "LOCATION"), (12, 16, "PERSON")]


def _with_tagger(trained, tagger) -> TrainedRecognizer:
    """The trained recognizer with the tagger as a third member, half of every span's score.
    The tagger is the one its files give, which predicts as served here (training's tagger
    uses its validated precision even where the device would emulate it)."""
    params = {**trained.params, "transformer_weight": 0.5, "cnn_weight": 1.0}
    return TrainedRecognizer(trained.nlp, TYPES, params, None, T.Tagger.from_files(tagger.files()))


def test_a_model_with_the_transformer_saves_and_loads_it(trained, tagger, tmp_path):
    recognizer = _with_tagger(trained, tagger[0])
    texts, _ = _data(40, seed=9)
    before = recognizer.entities(texts)
    assert before == [
        _combine(cnn, crf, 1.0, trained.params["threshold"], trf, 0.5)
        for cnn, crf, trf in recognizer._member_spans(texts, 256)
    ]
    sha = save_recognizer(recognizer, tmp_path / "model")
    folder = tmp_path / "model" / "transformer"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "head.safetensors",
        "model.safetensors",
        "tagger.json",
        "tokenizer.json",
    ]
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["format_version"] == 3 and "torch" in metadata["library_versions"]
    loaded = load_recognizer(tmp_path / "model", sha)
    assert loaded.transformer is not None
    assert loaded.entities(texts) == before


def test_save_and_load_give_the_same_entities(trained, tmp_path):
    texts, _ = _data(40, seed=7)
    before = trained.entities(texts)
    sha = save_recognizer(trained, tmp_path / "model")
    files = {p.relative_to(tmp_path / "model").as_posix() for p in (tmp_path / "model").rglob("*")}
    if trained.transformer is not None:
        assert {
            "transformer/config.json",
            "transformer/tokenizer.json",
            "transformer/model.safetensors",
            "transformer/head.safetensors",
            "transformer/tagger.json",
        } <= files
    assert not any(f.endswith((".pkl", ".pickle", ".pt", ".pth")) for f in files)
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["format_version"] == (3 if trained.transformer is not None else 2)
    loaded = load_recognizer(tmp_path / "model", sha)
    assert (loaded.transformer is None) == (trained.transformer is None)
    assert loaded.entities(texts) == before


def test_a_broken_base_model_trains_without_it_and_warns(tmp_path):
    folder = build_base_model(tmp_path / "broken")
    base = inspect_base_model(folder, name="broken", source="folder")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # half-copied after it was listed
    texts, spans = _data(60)
    recognizer = fit(texts, spans, entity_types=TYPES, seed=0, max_epochs=1, base_model=base)
    info = recognizer.params["base_model"]
    assert info["used"] is False and recognizer.transformer is None
    assert "model.safetensors" in info["warning"] and "broken" in info["warning"]
    assert str(tmp_path) not in info["warning"]
    assert info["reason"].startswith("Not used")
    assert recognizer.entities(["John went to Paris."])  # trained as without a base model


def test_a_base_model_listed_as_unusable_gives_its_problem_as_the_warning(tmp_path):
    folder = build_base_model(tmp_path / "half")
    (folder / "model.safetensors").write_bytes(b"\x10\x00")
    base = inspect_base_model(folder, name="half", source="folder")
    assert not base.usable
    texts, spans = _data(40)
    recognizer = fit(texts, spans, entity_types=TYPES, seed=0, max_epochs=1, base_model=base)
    info = recognizer.params["base_model"]
    assert info["used"] is False and "model.safetensors" in info["warning"]


def test_the_same_seed_gives_the_same_files(base_model, tmp_path):
    texts, spans = _data(80)
    shas = []
    for run in ("a", "b"):
        recognizer = fit(
            texts,
            spans,
            entity_types=TYPES,
            seed=3,
            max_epochs=1,
            base_model=base_model,
            transformer_params={"max_epochs": 2, "learn_rate": 3e-3, "batch_tokens": 128},
        )
        shas.append(save_recognizer(recognizer, tmp_path / run))
    assert shas[0] == shas[1] == directory_sha256(tmp_path / "a")
    assert (
        Path(tmp_path / "a" / "metadata.json").read_bytes()
        == (tmp_path / "b" / "metadata.json").read_bytes()
    )


def test_a_final_encoder_predicts_through_a_trace_with_exactly_its_numbers(base_model, tagger):
    """Prediction of a model whose weights no longer change runs a frozen trace, which must
    give the model's numbers bit for bit, for any batch and padding."""
    import torch

    enc = E.Encoder.from_folder(base_model.path)
    assert enc.runner() is enc.model  # weights that may still change: the model itself
    texts = ["the city of london", "a", "john said the game was good and the team won", "new"]
    pieces = enc.piece_ids(texts * 3)
    shapes = [(i, b) for b in (1, 2, 5, 12) for i in range(0, 12, b)]
    with torch.inference_mode():
        eager = [enc.model(*enc.batch(pieces[i : i + b])) for i, b in shapes]
    enc.final = True
    runner = enc.runner()
    assert isinstance(runner, torch.jit.ScriptModule) and enc.runner() is runner
    with torch.inference_mode():
        traced = [runner(*enc.batch(pieces[i : i + b])) for i, b in shapes]
    assert all(torch.equal(a, b) for a, b in zip(eager, traced, strict=True))
    # A tagger from its files is final, so what is served runs the trace (or, when validation
    # kept bfloat16 or int8 weights, a module with those).
    served = T.Tagger.from_files(tagger[0].files())
    assert served.enc.final
    served.settings.update(quantized=False, bf16=False)
    assert served._model_for_inference() is served.enc.runner(types=served.case_types)


def test_an_epoch_plans_exactly_the_batches_it_makes():
    """The learning-rate schedule ends at the planned epochs' last step only if the plan counts
    the batches training makes: length-sorted groups, equal lengths in any order."""
    rng = random.Random(3)
    lengths = [rng.randint(3, 60) for _ in range(500)]
    items = list(range(0, 500, 2))
    planned = E.steps_per_epoch(items, lengths, 256)
    for seed in range(3):
        batches = E.epoch_batches(random.Random(seed), items, lengths, 256)
        assert len(batches) == planned
        assert sorted(i for batch in batches for i in batch) == items
    # Batches of documents in their given order pad far more, so they are more and shorter.
    assert len(E.token_batches(items, lengths, 256)) > planned


def test_many_documents_get_the_same_entities_with_the_tagger_running_beside_the_cnn(
    trained, tagger, monkeypatch
):
    import models_app.ml.recognizer as R

    recognizer = _with_tagger(trained, tagger[0])
    texts, _ = _data(R.OVERLAP_DOCS + 6, seed=11)
    beside = recognizer.entities(texts)
    monkeypatch.setattr(R, "OVERLAP_DOCS", 10**9)
    assert recognizer.entities(texts) == beside
    assert any(beside)


def test_a_words_case_is_its_pieces_token_type():
    assert [
        T.case_type(w) for w in ["bank", "Bank", "BANK", "I", "iPhone", "1996", ",", "U.S."]
    ] == [1, 2, 3, 2, 4, 0, 0, 3]
    assert T.case_type("McDonald") == 2 and T.case_type("Zürich") == 2 and T.case_type("é") == 1


def test_new_token_types_start_as_the_base_models_one_type(base_model):
    """The base model has one token type; the grown table starts with it in every row, so
    before fine-tuning the model computes the same whatever the case of a word."""
    import torch

    enc = E.Encoder.from_folder(base_model.path)
    assert enc.lowercases()
    ids, mask = enc.batch(enc.piece_ids(["the city of london", "john said"]))
    with torch.inference_mode():
        before = enc.model(ids, mask)
        enc.add_token_types(T.CASE_TYPES)
        types = torch.randint(0, T.CASE_TYPES, ids.shape)
        assert torch.equal(enc.model(ids, mask, types), before)
    assert enc.config["type_vocab_size"] == T.CASE_TYPES
    assert (
        E.Encoder.from_files(enc.files()).model.embeddings.token_type_embeddings.num_embeddings == 5
    )


def test_the_tagger_of_an_uncased_model_reads_case_and_serves_it_traced(tagger):
    """Trained with case types, the tagger learns them (the rows move apart), keeps them in its
    files, and a served tagger runs them through the trace with exactly the model's numbers."""
    import torch

    tagger, info = tagger
    assert info["case_types"] and tagger.case_types
    table = tagger.enc.model.embeddings.token_type_embeddings.weight
    assert table.shape[0] == T.CASE_TYPES
    assert not torch.equal(table[T._LOWER], table[T._CAPITALISED])
    served = T.Tagger.from_files(tagger.files())
    served.settings.update(quantized=False, bf16=False)
    runner = served._model_for_inference()
    assert isinstance(runner, torch.jit.ScriptModule) and runner is served.enc.runner(types=True)
    words = [["In", "London", ",", "Mary", "said"], ["the", "BANK", "of", "new", "York"]]
    windows = T._Windows(served.enc, words)
    ids, mask = served.enc.batch(windows.pieces)
    types = windows.case_types([0, 1], ids.shape)
    assert types[0, 1:].tolist()[:5] == [2, 2, 0, 2, 1] and types[1, 0] == 0
    with torch.inference_mode():
        assert torch.equal(runner(ids, mask, types), served.enc.model(ids, mask, types))
    # The case changes the answer: the same letters in lower case are another input.
    lower = [[w.lower() for w in ws] for ws in words]
    assert not np.allclose(
        np.nan_to_num(served.word_probabilities(words)[0]),
        np.nan_to_num(served.word_probabilities(lower)[0]),
    )


def test_a_cased_tokenizer_gets_no_case_types(base_model, tmp_path):
    """A tokenizer that keeps case already shows it to the model: no token types are added."""
    import shutil

    folder = tmp_path / "cased"
    shutil.copytree(base_model.path, folder)
    settings_file = folder / "tokenizer_config.json"
    settings_file.write_text(
        json.dumps({**json.loads(settings_file.read_text()), "do_lower_case": False})
    )
    enc = E.Encoder.from_folder(folder)
    assert not enc.lowercases()
    texts, spans = _data(40, seed=2)
    examples = _make_examples(NLP, texts, spans, TYPES)
    settings = {**T.DEFAULTS, "learn_rate": 3e-3, "batch_tokens": 128}
    plan = T.Plan(enc, examples[:30], examples[30:], settings)
    tagger, info = T.train(enc, plan, examples[:30], examples[30:], TYPES, n_epochs=1, seed=0)
    assert not info["case_types"] and not tagger.case_types
    assert enc.config.get("type_vocab_size") == 2


def test_bf16_linear_layers_stay_close_to_float32_and_trace_exactly(base_model):
    import torch

    enc = E.Encoder.from_folder(base_model.path)
    enc.final = True
    ids, mask = enc.batch(enc.piece_ids(["the city of london", "john said the game was good", "a"]))
    runner = enc.runner(bf16=True)
    assert isinstance(runner, torch.jit.ScriptModule) and enc.runner(bf16=True) is runner
    assert runner is not enc.runner()
    with torch.inference_mode():
        exact = enc.runner()(ids, mask)
        eager = E.bf16_linears(enc.model)(ids, mask)
        traced = runner(ids, mask)
    assert traced.dtype == torch.float32 and torch.equal(traced, eager)
    assert not torch.equal(traced, exact)
    assert (traced - exact).abs().max() < 0.05 * exact.abs().max()
    # The model itself is untouched: its weights stay float32.
    assert all(p.dtype == torch.float32 for p in enc.model.parameters())


def test_bf16_prediction_is_checked_on_validation_and_used_only_where_native(tagger, monkeypatch):
    tagger, info = tagger
    assert abs(info["dev_f1_bf16"] - info["dev_f1"]) < 0.05
    assert info["bf16"] == (info["dev_f1_bf16"] >= info["dev_f1"] - E.PRECISION_TOLERANCE)
    served = T.Tagger.from_files(tagger.files())
    assert served.settings["bf16"] == info["bf16"]
    served.settings.update(bf16=True, quantized=False)
    types = served.case_types
    # Where the device lacks native bfloat16, or the operator turned it off: float32.
    monkeypatch.setattr(E, "bf16_native", lambda: False)
    served.predict_anywhere(False)
    assert served._model_for_inference() is served.enc.runner(types=types)
    # In training the validated precision is used on any machine.
    served.predict_anywhere(True)
    assert served._model_for_inference() is served.enc.runner(types=types, bf16=True)
    monkeypatch.setattr(E, "bf16_native", lambda: True)
    served.predict_anywhere(False)
    assert served._model_for_inference() is served.enc.runner(types=types, bf16=True)
    # A model whose validation refused it never uses it.
    served.settings["bf16"] = False
    served.predict_anywhere(False)
    assert served._model_for_inference() is served.enc.runner(types=types)


def test_int8_linear_layers_keep_a_scale_per_channel_and_trace_exactly(base_model):
    import torch

    enc = E.Encoder.from_folder(base_model.path)
    enc.final = True
    ids, mask = enc.batch(enc.piece_ids(["the city of london", "john said the game was good", "a"]))
    runner = enc.runner(int8="channel")
    assert isinstance(runner, torch.jit.ScriptModule) and enc.runner(int8="channel") is runner
    assert runner is not enc.runner(int8="tensor")
    with torch.inference_mode():
        exact = enc.runner()(ids, mask)
        eager = E.int8_linears(enc.model)(ids, mask)
        traced = runner(ids, mask)
        per_tensor = enc.runner(int8="tensor")(ids, mask)
    assert torch.equal(traced, eager) and not torch.equal(traced, exact)
    assert not torch.equal(traced, per_tensor)  # one scale per output channel, or one a matrix
    for quantized in (traced, per_tensor):
        assert (quantized - exact).abs().max() < 0.05 * exact.abs().max()
    assert all(p.dtype == torch.float32 for p in enc.model.parameters())


def test_int8_prediction_is_checked_on_validation_and_serves_where_bf16_does_not(
    tagger, monkeypatch
):
    tagger, info = tagger
    tolerance = E.PRECISION_TOLERANCE
    assert info["quantized"] == (info["dev_f1_quantized"] >= info["dev_f1"] - tolerance)
    served = T.Tagger.from_files(tagger.files())
    assert served.settings["quantized"] == ("per_channel" if info["quantized"] else False)
    served.settings.update(bf16=True, quantized="per_channel")
    types = served.case_types
    monkeypatch.setattr(E, "bf16_native", lambda: False)
    served.predict_anywhere(False)
    assert served._model_for_inference() is served.enc.runner(types=types, int8="channel")
    # Where bfloat16 is native and validated, it comes first.
    monkeypatch.setattr(E, "bf16_native", lambda: True)
    served.predict_anywhere(False)
    assert served._model_for_inference() is served.enc.runner(types=types, bf16=True)
    # Models trained before were validated with one scale a matrix, and keep it.
    served.settings.update(bf16=False, quantized=True)
    served.predict_anywhere(False)
    assert served._model_for_inference() is served.enc.runner(types=types, int8="tensor")


def test_the_operator_can_turn_bf16_off():
    E.allow_bf16(False)
    try:
        assert not E.bf16_native()
    finally:
        E.allow_bf16(True)


def test_the_operator_can_turn_int8_off(tagger):
    served = T.Tagger.from_files(tagger[0].files())
    served.settings.update(bf16=False, quantized="per_channel")
    types = served.case_types
    assert E.int8_usable()  # the suite runs on a CPU
    assert served._model_for_inference() is served.enc.runner(types=types, int8="channel")
    E.allow_int8(False)
    try:
        assert not E.int8_usable()
        served.predict_anywhere(False)
        assert served._model_for_inference() is served.enc.runner(types=types)
        # Training still measures and chooses in the validated precision.
        served.predict_anywhere(True)
        assert served._model_for_inference() is served.enc.runner(types=types, int8="channel")
    finally:
        E.allow_int8(True)
