"""Comprehend entity recognizer inputs: readers, joins, entity-list annotation, bad inputs."""

import json

import pytest

from models_app.ml import ner_formats as F
from models_app.ml.errors import DataError
from models_app.ml.ner_metrics import count_mentions
from tests import bad_inputs

BAD_INPUTS = bad_inputs.directory()
DOCS_NAME = "recognizer-docs.txt"


def _stream(text):
    return F.open_text(text.encode("utf-8"))


@pytest.fixture(scope="module")
def bad_docs():
    with open(BAD_INPUTS / DOCS_NAME, "rb") as f:
        return {DOCS_NAME: F.read_documents(f, DOCS_NAME)}


def _load_annotations(name, docs):
    with open(BAD_INPUTS / name, "rb") as f:
        annotations = F.read_annotations(f, name)
    examples = F.build_examples(docs, annotations, source_name=name)
    types = {a.type for a in annotations}
    return examples, F.check_training_examples(examples, types, source_name=name)


def test_it_accepts_the_ok_annotations(bad_docs):
    examples, counts = _load_annotations("recognizer-annotations-ok.csv", bad_docs)
    assert len(examples) == 400
    assert counts == {"LOCATION": 172, "MISC": 84, "ORGANIZATION": 151, "PERSON": 219}
    text, spans = examples[2]
    assert text.startswith("Pxleyes Top 50 Photography Contest Pictures of August 2010 ")
    assert spans == [(0, 7, "ORGANIZATION")]  # a CORPORATION in WNUT-17's own types
    first, first_spans = examples[0]
    assert [first[b:e] for b, e, _ in first_spans] == ["Empire State Building", "ESB"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("recognizer-offset-past-line.csv", ["annotation row 11", "past the end of line 8"]),
        ("recognizer-offset-mid-token.csv", ["annotation row 21", "inside a token"]),
        ("recognizer-overlapping-spans.csv", ["annotation rows 31 and 32", "overlap"]),
        ("recognizer-bad-type-name.csv", ["'person name'", "upper-case", "no spaces"]),
        ("recognizer-line-out-of-range.csv", ["annotation row 8", "line 9999"]),
        ("recognizer-unknown-file.csv", ["annotation row 4", "'other-file.txt'", "not among"]),
    ],
)
def test_it_refuses_each_bad_annotation_file(bad_docs, name, expected):
    with pytest.raises(DataError) as info:
        _load_annotations(name, bad_docs)
    message = str(info.value)
    assert message.startswith(name)
    for part in expected:
        assert part in message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("recognizer-entity-list-no-header.csv", ["header", "Text,Type", "line 1"]),
        ("recognizer-entity-list-26-types.csv", ["26 entity types", "at most 25"]),
    ],
)
def test_it_refuses_each_bad_entity_list(name, expected):
    with open(BAD_INPUTS / name, "rb") as f, pytest.raises(DataError) as info:
        F.read_entity_list(f, name)
    assert str(info.value).startswith(name)
    for part in expected:
        assert part in str(info.value)


def test_it_reads_an_entity_list_with_bom_crlf_and_duplicates():
    data = '\ufeffText,Type\r\nNew York,LOCATION\r\nNew York,LOCATION\r\n"Acme, Inc.",ORG\r\n'
    assert F.read_entity_list(_stream(data), "list.csv") == [
        ("New York", "LOCATION"),
        ("Acme, Inc.", "ORG"),
    ]


def test_it_names_the_row_of_an_empty_entity_text():
    with pytest.raises(DataError, match="entity list row 2 has an empty Text"):
        F.read_entity_list(_stream("Text,Type\nBob,PERSON\n,PERSON\n"), "list.csv")


def test_it_refuses_empty_files():
    with pytest.raises(DataError, match="docs.txt: the documents file is empty"):
        F.read_documents(_stream(""), "docs.txt")
    with pytest.raises(DataError, match="ann.csv: the annotations file is empty"):
        F.read_annotations(_stream(""), "ann.csv")
    with pytest.raises(DataError, match="list.csv: the entity list is empty"):
        F.read_entity_list(_stream(""), "list.csv")


def test_it_names_the_line_of_text_that_is_not_utf8():
    with pytest.raises(DataError) as info:
        F.read_documents(F.open_text(b"ok\nalso ok\ncaf\xe9\n"), "docs.txt")
    assert str(info.value) == "docs.txt line 3: the file is not valid UTF-8 text"


def test_it_names_a_non_numeric_offset():
    data = "File,Line,Begin Offset,End Offset,Type\nd.txt,0,zero,3,PERSON\n"
    with pytest.raises(DataError, match="annotation row 1: Begin Offset is 'zero'"):
        F.read_annotations(_stream(data), "ann.csv")


def test_it_refuses_an_undeclared_type():
    docs = {"d.txt": ["Bob met Alice"]}
    annotations = F.read_annotations(
        _stream("File,Line,Begin Offset,End Offset,Type\nd.txt,0,0,3,PERSON\n"), "ann.csv"
    )
    with pytest.raises(DataError, match="annotation row 1 has entity type 'PERSON', which is not"):
        F.build_examples(docs, annotations, source_name="ann.csv", entity_types=["PLACE"])


def test_it_refuses_a_document_over_5000_bytes():
    docs = {"d.txt": ["Bob is here", "é " * 2600]}
    annotations = F.read_annotations(
        _stream("File,Line,Begin Offset,End Offset,Type\nd.txt,0,0,3,PERSON\n"), "ann.csv"
    )
    with pytest.raises(DataError) as info:
        F.build_examples(docs, annotations, source_name="ann.csv")
    assert str(info.value).startswith("d.txt: the document on line 1 (0-based) is 7,800 bytes")
    assert "at most 5,000 bytes" in str(info.value)


def test_it_converts_line_offsets_to_document_offsets_in_one_doc_per_file_mode():
    docs = {"a.txt": ["Hello there", "Bob lives in Paris ."], "b.txt": ["Alice"]}
    csv_text = (
        "File,Line,Begin Offset,End Offset,Type\n"
        "a.txt,1,0,3,PERSON\na.txt,1,13,18,PLACE\nb.txt,0,0,5,PERSON\n"
    )
    annotations = F.read_annotations(_stream(csv_text), "ann.csv")
    examples = F.build_examples(docs, annotations, mode=F.ONE_DOC_PER_FILE)
    assert examples == [
        ("Hello there\nBob lives in Paris .", [(12, 15, "PERSON"), (25, 30, "PLACE")]),
        ("Alice", [(0, 5, "PERSON")]),
    ]
    text, spans = examples[0]
    assert [text[b:e] for b, e, _ in spans] == ["Bob", "Paris"]


def test_it_takes_document_offsets_when_the_line_column_is_absent():
    docs = {"a.txt": ["Hello there", "Bob lives here"]}
    annotations = F.read_annotations(
        _stream("File, Begin Offset, End Offset, Type\na.txt, 12, 15, PERSON\n"), "ann.csv"
    )
    assert annotations[0].line is None
    examples = F.build_examples(docs, annotations, mode=F.ONE_DOC_PER_FILE)
    assert examples[0][1] == [(12, 15, "PERSON")]


def test_it_requires_25_annotations_per_type_and_at_most_25_types():
    examples = [("Bob and Paris", [(0, 3, "PERSON"), (8, 13, "PLACE")])] * 25
    examples.append(("Acme", [(0, 4, "COMPANY")]))
    with pytest.raises(DataError, match="COMPANY has 1 annotations.*at least 25"):
        F.check_training_examples(examples, ["PERSON", "PLACE", "COMPANY"])
    assert F.check_training_examples(examples, ["PERSON", "PLACE"]) == {
        "PERSON": 26 - 1,
        "PLACE": 25,
    }
    with pytest.raises(DataError, match="found 26 entity types.*at most 25"):
        F.check_entity_types([f"T{i}" for i in range(26)])


def test_entity_list_annotation_is_longest_first_whole_token_and_non_overlapping():
    entity_list = [
        ("New York", "LOCATION"),
        ("New York Times", "ORGANIZATION"),
        ("York", "LOCATION"),
        ("Times Square", "LOCATION"),
        ("Bob", "PERSON"),
        ("U.S.", "LOCATION"),
    ]
    texts = [
        "The New York Times Square office",  # longest first: "New York Times", not "Times Square"
        "Yorkshire and bob and Bobby and Bob met Bob .",  # no partial tokens, case-sensitive
        "U.S.-based New York",
        "",
    ]
    examples = F.annotate_with_entity_list(texts, entity_list)
    assert [[t[b:e] for b, e, _ in spans] for t, spans in examples] == [
        ["New York Times"],
        ["Bob", "Bob"],
        ["U.S.", "New York"],
        [],
    ]
    assert examples[0][1] == [(4, 18, "ORGANIZATION")]
    assert examples[1][1] == [(32, 35, "PERSON"), (40, 43, "PERSON")]


def test_entity_list_annotation_leaves_unreliable_matches_unknown():
    entity_list = [
        ("Chicago", "LOCATION"),
        ("Chicago", "ORGANIZATION"),  # a city and a team: which one is not known
        ("Chicago Bulls", "ORGANIZATION"),
        ("3", "ORGANIZATION"),  # no letter
        ("The", "LOCATION"),  # mostly the word "the"
        ("May", "PERSON"),  # "may" is rarer than "May": a name
        ("iPhone", "PRODUCT"),
        ("ebay", "ORGANIZATION"),  # listed in lower case: kept
    ]
    texts = [
        "Chicago beat the Chicago Bulls 3 - 1 .",
        "The iPhone is on ebay and the rest is in the box .",
        "May said she may come in May .",
    ]
    examples = F.annotate_with_entity_list(texts, entity_list)
    unknown = F.UNKNOWN
    assert examples[0][1] == [(0, 7, unknown), (17, 30, "ORGANIZATION"), (31, 32, unknown)]
    assert examples[1][1] == [(0, 3, unknown), (4, 10, "PRODUCT"), (17, 21, "ORGANIZATION")]
    assert examples[2][1] == [(0, 3, "PERSON"), (25, 28, "PERSON")]
    # Unknown spans are not mentions of any type.
    assert count_mentions(spans for _, spans in examples) == {
        "ORGANIZATION": 2,
        "PERSON": 2,
        "PRODUCT": 1,
    }


def test_entity_list_annotation_of_the_bad_input_docs(bad_docs):
    with open(BAD_INPUTS / "recognizer-entity-list-no-header.csv", "rb") as f:
        pairs = [tuple(line.strip().split(",")) for line in f.read().decode().splitlines()]
    assert pairs == [("Empire State Building", "LOCATION"), ("Twitter", "ORGANIZATION")]
    examples = F.annotate_with_entity_list(bad_docs[DOCS_NAME][:3], pairs)
    assert examples[0][1] == [(64, 85, "LOCATION")]  # "ESB" is not on the list
    assert examples[2][1] == []


def test_it_reads_an_augmented_manifest():
    line = {
        "source": "Diego Ramirez is an engineer .",
        "job": {
            "annotations": {
                "entities": [
                    {"startOffset": 0, "endOffset": 13, "label": "ENGINEER"},
                ],
                "labels": [{"label": "ENGINEER"}],
            }
        },
        "job-metadata": {"human-annotated": "yes"},
    }
    data = json.dumps(line) + "\n"
    assert F.read_augmented_manifest(_stream(data), "m.jsonl", ["job"]) == [
        ("Diego Ramirez is an engineer .", [(0, 13, "ENGINEER")]),
    ]
    line["job"]["annotations"]["entities"][0]["endOffset"] = 12
    with pytest.raises(DataError, match="line 1, entity 1 of 'job' ends at offset 12, inside"):
        F.read_augmented_manifest(_stream(json.dumps(line)), "m.jsonl", ["job"])
    with pytest.raises(DataError, match="m.jsonl line 2: the line is not valid JSON"):
        F.read_augmented_manifest(_stream(data + "{oops\n"), "m.jsonl", ["job"])
