"""Classifier input readers and validation: every bad input gets a clear, located message."""

import csv
import io
import json
import random
from collections import Counter

import pytest

from models_app.ml import formats as F
from models_app.ml.errors import DataError
from tests import bad_inputs

BAD_INPUTS = bad_inputs.directory()
MC, ML = "MULTI_CLASS", "MULTI_LABEL"


def read_bad(name, mode=MC):
    with open(BAD_INPUTS / name, "rb") as fh:
        return F.read_classifier_csv(fh, mode=mode, source_name=name)


def read_text(text: str, mode=MC, name="train.csv", **kw):
    return F.read_classifier_csv(io.BytesIO(text.encode()), mode=mode, source_name=name, **kw)


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def data(labels, mode=MC, name="train.csv"):
    texts = [f"document number {i}" for i in range(len(labels))]
    return F.ClassifierData(
        texts=texts, labels=list(labels), lines=list(range(1, len(labels) + 1)), source_name=name
    )


def expect_error(fn, *, line=None, contains=()):
    with pytest.raises(DataError) as info:
        fn()
    err = info.value
    message = str(err)
    if line is not None:
        assert err.line == line
        assert f"line {line}" in message
    for part in contains:
        assert part in message, message
    return err


# --- the bad inputs users make -------------------------------------------------------------


def test_ok_file_is_accepted_with_line_numbers():
    d = read_bad("classifier-ok-3-labels.csv")
    assert len(d.texts) == 300
    assert sorted(set(d.labels)) == ["accept_reservations", "account_blocked", "alarm"]
    assert d.lines[:3] == [1, 2, 3] and d.lines[-1] == 300
    assert d.texts[0] == "wake me up at noon tomorrow"
    assert F.validate_classifier_training(d, mode=MC, test=None) == []


def test_bom_and_crlf_read_exactly_like_the_ok_file():
    ok, bom = read_bad("classifier-ok-3-labels.csv"), read_bad("classifier-bom-crlf.csv")
    assert bom.texts == ok.texts and bom.labels == ok.labels and bom.lines == ok.lines
    assert not bom.labels[0].startswith("\ufeff")


def test_a_two_megabyte_document_is_accepted():
    d = read_bad("classifier-huge-document.csv")
    assert len(d.texts) == 301
    assert d.lines[-1] == 301 and len(d.texts[-1]) >= 2_000_000


@pytest.mark.parametrize(
    "name, line, contains",
    [
        ("classifier-missing-text.csv", 42, ["no text column"]),
        ("classifier-empty-text.csv", 10, ["text is empty"]),
        ("classifier-three-columns.csv", 100, ["3 columns", "double quotes"]),
        ("classifier-unclosed-quote.csv", 200, ["double quote opened on this line"]),
        ("classifier-latin1.csv", 6, ["not valid UTF-8", "0xE9"]),
        ("classifier-header-row.csv", 1, ["header row", "remove line 1"]),
        ("classifier-binary.csv", 1, ["no text column"]),
    ],
)
def test_bad_rows_name_file_and_line(name, line, contains):
    err = expect_error(lambda: read_bad(name), line=line, contains=contains)
    assert err.file == name and str(err).startswith(f"{name} line {line}: ")


def test_empty_file_has_no_documents():
    expect_error(
        lambda: read_bad("classifier-empty.csv"), contains=["classifier-empty.csv", "no documents"]
    )


def test_one_label_needs_at_least_two():
    d = read_bad("classifier-one-label.csv")
    expect_error(
        lambda: F.validate_classifier_training(d, mode=MC, test=None),
        contains=["at least two labels", "accept_reservations"],
    )


def test_too_few_documents_per_label_names_the_label_and_minimum():
    d = read_bad("classifier-too-few-per-label.csv")
    expect_error(
        lambda: F.validate_classifier_training(d, mode=MC, test=None),
        contains=['"lonely_label" (5)', "at least 10"],
    )


def test_multilabel_empty_label_names_line_one():
    expect_error(
        lambda: read_bad("multilabel-empty-label.csv", ML), line=1, contains=["empty label", "||"]
    )


def test_multilabel_with_another_delimiter_warns_naming_it():
    d = read_bad("multilabel-bad-delimiter.csv", ML)
    assert len(d.warnings) == 1
    assert '";"' in d.warnings[0] and "delimiter" in d.warnings[0]
    assert "multilabel-bad-delimiter.csv" in d.warnings[0]
    # Read with the right delimiter, the same file is ordinary multi-label data.
    with open(BAD_INPUTS / "multilabel-bad-delimiter.csv", "rb") as fh:
        right = F.read_classifier_csv(fh, mode=ML, delimiter=";", source_name="x.csv")
    assert right.warnings == [] and right.labels[0] == ["alarm", "account_blocked"]


# --- more CSV edge cases ------------------------------------------------------------------


def test_random_bytes_are_refused_as_not_text():
    garbage = random.Random(7).randbytes(4096)
    with pytest.raises(DataError) as info:
        F.read_classifier_csv(io.BytesIO(garbage), mode=MC, source_name="junk.csv")
    assert info.value.line == 1
    assert "UTF-8" in str(info.value) or "binary" in str(info.value)


def test_encoding_error_deep_in_a_stream_names_its_line():
    body = b"a,x\n" * 5000 + b"b,caf\xe9\n"
    err = expect_error(
        lambda: F.read_classifier_csv(io.BytesIO(body), mode=MC, source_name="t.csv"), line=5001
    )
    assert err.file == "t.csv"


def test_quoted_fields_commas_quotes_and_multiline_rows_keep_line_numbers():
    raw = csv_bytes([["a", 'he said "hi", then left'], ["b", "two\nlines"], ["a", "plain"]])
    d = F.read_classifier_csv(io.BytesIO(raw), mode=MC, source_name="q.csv")
    assert d.texts == ['he said "hi", then left', "two\nlines", "plain"]
    assert d.lines == [1, 2, 4]
    assert any("span several lines" in w and "line 2" in w for w in d.warnings)


def test_blank_lines_are_skipped():
    d = read_text("a,one\n\nb,two\n")
    assert d.texts == ["one", "two"] and d.lines == [1, 3]


def test_multilabel_rows_are_split_and_deduplicated():
    d = read_text("x|y,t1\ny,t2\nx|x,t3\n", mode=ML)
    assert d.labels == [["x", "y"], ["y"], ["x"]]
    assert d.warnings == []


def test_a_reversed_header_is_caught_too():
    expect_error(lambda: read_text("text,label\na,one\nb,two\n"), line=1, contains=["header"])


def test_label_only_header_word_is_not_a_header_when_used_as_a_label_elsewhere():
    d = read_text("label,first text\nlabel,second\nother,third\n")
    assert d.labels == ["label", "label", "other"]


def test_too_many_documents_are_refused(monkeypatch):
    monkeypatch.setattr(F, "MAX_DOCUMENTS", 3)
    expect_error(lambda: read_text("a,1\nb,2\na,3\nb,4\n"), line=4, contains=["more than 3"])


# --- validation rules -------------------------------------------------------------------


def test_labels_under_fifty_documents_warn_by_name():
    d = data(["big"] * 60 + ["small"] * 12)
    warnings = F.validate_classifier_training(d, mode=MC, test=None)
    assert len(warnings) == 1
    assert '"small" (12)' in warnings[0] and "50" in warnings[0] and "big" not in warnings[0]


def test_too_many_labels_multi_class_and_multi_label(monkeypatch):
    mc = data([f"l{i}" for i in range(1001) for _ in range(10)])
    expect_error(
        lambda: F.validate_classifier_training(mc, mode=MC, test=None),
        contains=["1,001 labels", "at most 1,000"],
    )
    ml = data([[f"l{i}"] for i in range(101) for _ in range(10)], mode=ML)
    expect_error(
        lambda: F.validate_classifier_training(ml, mode=ML, test=None),
        contains=["101 labels", "at most 100"],
    )


def test_too_many_documents_in_validation(monkeypatch):
    monkeypatch.setattr(F, "MAX_DOCUMENTS", 20)
    expect_error(
        lambda: F.validate_classifier_training(data(["a", "b"] * 11), mode=MC, test=None),
        contains=["22 documents", "at most 20"],
    )


def test_multilabel_rare_labels_are_kept_with_a_warning():
    d = data([["common"]] * 30 + [["common", "rare"]] * 3 + [["other"]] * 12, mode=ML)
    warnings = F.validate_classifier_training(d, mode=ML, test=None)
    assert len(warnings) == 1 and '"rare" (3)' in warnings[0] and "kept" in warnings[0]


def test_test_labels_must_exist_in_training():
    train = data(["a"] * 50 + ["b"] * 50)
    test = data(["a", "b", "zebra", "yak"], name="test.csv")
    test.lines = [1, 2, 3, 4]
    err = expect_error(
        lambda: F.validate_classifier_training(train, mode=MC, test=test),
        contains=['"yak"', '"zebra"', "test.csv", "line 3"],
    )
    assert err.file == "test.csv"


def test_read_then_validate_an_empty_test_file():
    train = data(["a"] * 50 + ["b"] * 50)
    with pytest.raises(DataError):
        F.read_classifier_csv(io.BytesIO(b""), mode=MC, source_name="test.csv")
    empty = F.ClassifierData(source_name="test.csv")
    expect_error(
        lambda: F.validate_classifier_training(train, mode=MC, test=empty),
        contains=["no documents"],
    )


# --- augmented manifests ----------------------------------------------------------------


def manifest(*objs, raw_lines=()):
    lines = [json.dumps(o) for o in objs] + list(raw_lines)
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def test_manifest_with_label_names_and_ground_truth_ids():
    stream = manifest(
        {"source": "spam text", "job": "spam"},
        {"source": "ham text", "job": 1, "job-metadata": {"class-name": "ham"}},
    )
    d = F.read_classifier_manifest(
        stream, mode=MC, label_attribute_names=["job"], source_name="m.jsonl"
    )
    assert d.texts == ["spam text", "ham text"] and d.labels == ["spam", "ham"]
    assert d.lines == [1, 2]


def test_multilabel_manifest_lists_and_class_map():
    stream = manifest(
        {"source": "t1", "genre": ["action", "comedy"]},
        {
            "source": "t2",
            "genre": [0, 2],
            "genre-metadata": {"class-map": {"0": "action", "2": "drama"}},
        },
    )
    d = F.read_classifier_manifest(
        stream, mode=ML, label_attribute_names=["genre"], source_name="m.jsonl"
    )
    assert d.labels == [["action", "comedy"], ["action", "drama"]]


@pytest.mark.parametrize(
    "line, contains",
    [
        ("{not json", ["not valid JSON"]),
        ('["a list"]', ["not a JSON object"]),
        ('{"job": "a"}', ['"source"']),
        ('{"source": "  ", "job": "a"}', ["empty"]),
        ('{"source": "t"}', ["none of the label attributes", '"job"']),
        ('{"source": "t", "job": 3}', ["class id 3"]),
        ('{"source": "t", "job": ["a", "b"]}', ["exactly one label"]),
    ],
)
def test_manifest_errors_name_the_line(line, contains):
    stream = manifest({"source": "fine", "job": "a"}, raw_lines=[line])
    expect_error(
        lambda: F.read_classifier_manifest(
            stream, mode=MC, label_attribute_names=["job"], source_name="m.jsonl"
        ),
        line=2,
        contains=contains,
    )


def test_autosplit_holds_out_a_tenth_stratified_and_never_more_than_the_cap():
    labels = [f"small{i}" for i in range(850) for _ in range(10)]
    labels += [f"big{i}" for i in range(150) for _ in range(6610)]
    train, test = F.autosplit_indices(labels, mode="MULTI_CLASS", seed=0)
    # One test document for each of 850 small labels would overshoot 10,000 by 750.
    assert len(test) == 10_000 and len(train) == len(labels) - 10_000
    assert sorted(train + test) == list(range(len(labels)))
    tested = {labels[i] for i in test}
    assert tested == set(labels) and {labels[i] for i in train} == set(labels)
    # The big labels gave the excess back, evenly.
    per_big = Counter(labels[i] for i in test if labels[i].startswith("big"))
    assert max(per_big.values()) - min(per_big.values()) <= 1

    small = [lab for lab in "abc" for _ in range(40)]
    train, test = F.autosplit_indices(small, mode="MULTI_CLASS", seed=3)
    assert Counter(small[i] for i in test) == {"a": 4, "b": 4, "c": 4}
    assert (train, test) == F.autosplit_indices(small, mode="MULTI_CLASS", seed=3)
    assert test != F.autosplit_indices(small, mode="MULTI_CLASS", seed=4)[1]


def test_multi_label_autosplit_is_stratified_by_each_documents_rarest_label():
    rows = [["common"] for _ in range(900)] + [["common", "rare"] for _ in range(20)]
    rows += [["common", "rarest"] for _ in range(2)] + [["solo"]]
    train, test = F.autosplit_indices(rows, mode="MULTI_LABEL", seed=0)
    tested = Counter(label for i in test for label in rows[i])
    assert tested["rare"] == 2 and tested["rarest"] == 1  # a tenth, and at least one
    assert "solo" not in tested  # a label's only document stays in training
    trained = Counter(label for i in train for label in rows[i])
    assert all(trained[label] for label in tested)
    assert 90 <= len(test) <= 95
