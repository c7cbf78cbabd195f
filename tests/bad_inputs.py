"""The bad (and tricky) training inputs that real users produce by accident, written by the suite.

Each file breaks one rule the way a person does without noticing; its expected outcome is in
tests/classifier_cases.py (classifiers) and in the recognizer tests. The classifier files are
built from the 300 CLINC150 utterances of tests/data/clinc150/three-intents.csv, the recognizer
files from the first 400 WNUT-17 sentences of tests/data/wnut17/train.txt that hold an entity.
Line and row numbers are those the tests expect:

| file | what is wrong |
|---|---|
| classifier-ok-3-labels.csv | nothing: 3 intents x 100 utterances |
| classifier-bom-crlf.csv | a UTF-8 byte order mark and CRLF line ends |
| classifier-huge-document.csv | line 301 is one document of 2 MB |
| classifier-missing-text.csv | line 42 has a label and no text column |
| classifier-empty-text.csv | line 10 has an empty text |
| classifier-three-columns.csv | line 100 has three unquoted columns |
| classifier-unclosed-quote.csv | a quote opened on line 200 never closes |
| classifier-too-few-per-label.csv | label lonely_label has 5 documents |
| classifier-one-label.csv | only one label |
| classifier-empty.csv | no bytes at all |
| classifier-header-row.csv | a label,text header row on line 1 |
| classifier-latin1.csv | line 6 is Latin-1, not UTF-8 |
| classifier-binary.csv | 4,096 bytes with no delimiter and no line end: not a CSV |
| multilabel-bad-delimiter.csv | labels joined with ";" while the delimiter is "|" |
| multilabel-empty-label.csv | "A||B" on line 1 |
| recognizer-docs.txt | the documents, one sentence per line |
| recognizer-annotations-ok.csv | nothing |
| recognizer-offset-past-line.csv | annotation row 11 ends past the end of its line |
| recognizer-offset-mid-token.csv | annotation row 21 begins inside a token |
| recognizer-overlapping-spans.csv | rows 31 and 32 cover the same span with two types |
| recognizer-bad-type-name.csv | row 6 has the type "person name" |
| recognizer-line-out-of-range.csv | row 8 points at line 9999 |
| recognizer-unknown-file.csv | row 4 names a file that is not among the documents |
| recognizer-entity-list-no-header.csv | an entity list without its Text,Type header |
| recognizer-entity-list-26-types.csv | an entity list of 26 types |
"""

import atexit
import csv
import io
import shutil
import tempfile
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
DOCS_NAME = "recognizer-docs.txt"
# WNUT-17's six types folded into the four the suite's recognizer tests train on (as CoNLL's).
TYPE_OF = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "CORPORATION": "ORGANIZATION",
    "GROUP": "ORGANIZATION",
    "PRODUCT": "MISC",
    "CREATIVE_WORK": "MISC",
}
ANNOTATIONS_HEADER = ["File", "Line", "Begin Offset", "End Offset", "Type"]


def _insert(lines: list[bytes], line: int, row: bytes) -> bytes:
    """The rows with `row` placed so that it is line `line` (from 1) of the file."""
    return b"".join(lines[: line - 1] + [row + b"\n"] + lines[line - 1 :])


def classifier_files() -> dict[str, bytes]:
    """Every classifier file, by name."""
    ok = (DATA / "clinc150" / "three-intents.csv").read_bytes()
    lines = ok.splitlines(keepends=True)
    assert len(lines) == 300 and lines[0].startswith(b"alarm,")
    latin1 = lines[5].decode().replace(",", ",café crème ", 1).encode("latin-1")
    huge = b"accept_reservations," + b"word " * 400_000 + b"\n"
    lonely = b"".join(b"lonely_label,only five examples %d\n" % i for i in range(5))
    ml = [line.split(b",", 1) for line in lines]
    return {
        "classifier-ok-3-labels.csv": ok,
        "classifier-bom-crlf.csv": b"\xef\xbb\xbf" + ok.replace(b"\n", b"\r\n"),
        "classifier-huge-document.csv": ok + huge,
        "classifier-missing-text.csv": _insert(lines, 42, b"balance"),
        "classifier-empty-text.csv": _insert(lines, 10, b"balance,"),
        "classifier-three-columns.csv": _insert(lines, 100, b"balance,some text,extra"),
        "classifier-unclosed-quote.csv": _insert(lines, 200, b'balance,"this quote never closes'),
        "classifier-too-few-per-label.csv": ok + lonely,
        "classifier-one-label.csv": b"".join(
            line for line in lines if line.startswith(b"accept_reservations,")
        ),
        "classifier-empty.csv": b"",
        "classifier-header-row.csv": b"label,text\n" + ok,
        "classifier-latin1.csv": b"".join(lines[:5] + [latin1] + lines[6:]),
        "classifier-binary.csv": b"D" * 4096,
        "multilabel-bad-delimiter.csv": b"".join(
            label + b";account_blocked," + text for label, text in ml
        ),
        "multilabel-empty-label.csv": b"accept_reservations||account_blocked,double delimiter\n"
        + ok,
    }


def recognizer_sentences(limit: int = 400) -> tuple[list[str], list[list]]:
    """The first `limit` WNUT-17 training sentences that hold an entity, and their annotation
    rows (File, Line, Begin, End, Type) renumbered to those sentences, in four types."""
    docs = (DATA / "wnut17" / "train.txt").read_text(encoding="utf-8").split("\n")
    with open(DATA / "wnut17" / "train-annotations.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    by_line: dict[int, list] = {}
    for _, line, begin, end, type_ in rows:
        by_line.setdefault(int(line), []).append((int(begin), int(end), TYPE_OF[type_]))
    kept = sorted(by_line)[:limit]
    assert len(kept) == limit, "tests/data/wnut17/train.txt holds too few annotated sentences"
    texts, annotations = [], []
    for new, old in enumerate(kept):
        texts.append(docs[old])
        for begin, end, type_ in sorted(by_line[old]):
            annotations.append([DOCS_NAME, new, begin, end, type_])
    return texts, annotations


def _annotations_csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANNOTATIONS_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def _mid_token(texts: list[str], row: list) -> list:
    """The row moved to begin one character into its first token."""
    _, line, begin, end, type_ = row
    assert end - begin > 1 and not texts[line][begin + 1].isspace(), row
    return [row[0], line, begin + 1, end, type_]


def recognizer_files() -> dict[str, bytes]:
    """Every recognizer file, by name. Annotation rows count from 1 after the header."""
    texts, rows = recognizer_sentences()

    def changed(number: int, row: list) -> bytes:
        return _annotations_csv(rows[: number - 1] + [row] + rows[number:])

    def row(number: int) -> list:
        return list(rows[number - 1])

    past = row(11)
    past[3] = len(texts[past[1]]) + 80
    bad_type = row(6)
    bad_type[4] = "person name"
    out_of_range = row(8)
    out_of_range[1] = 9999
    unknown = row(4)
    unknown[0] = "other-file.txt"
    # Rows 31 and 32 share one span; the type that sorts first comes first, as the reader
    # reports overlapping spans in offset-then-type order.
    overlap = row(31)
    overlap[4] = "MISC" if overlap[4] != "MISC" else "PERSON"
    pair = sorted([row(31), overlap], key=lambda r: r[4])
    first, other = first_entity_list_pairs(texts, rows)
    return {
        DOCS_NAME: ("\n".join(texts) + "\n").encode(),
        "recognizer-annotations-ok.csv": _annotations_csv(rows),
        "recognizer-offset-past-line.csv": changed(11, past),
        "recognizer-offset-mid-token.csv": changed(21, _mid_token(texts, row(21))),
        "recognizer-overlapping-spans.csv": _annotations_csv(rows[:30] + pair + rows[31:]),
        "recognizer-bad-type-name.csv": changed(6, bad_type),
        "recognizer-line-out-of-range.csv": changed(8, out_of_range),
        "recognizer-unknown-file.csv": changed(4, unknown),
        "recognizer-entity-list-no-header.csv": f"{first}\n{other}\n".encode(),
        "recognizer-entity-list-26-types.csv": (
            "Text,Type\n" + "".join(f"thing{i},TYPE_{i}\n" for i in range(26))
        ).encode(),
    }


def first_entity_list_pairs(texts: list[str], rows: list[list]) -> tuple[str, str]:
    """Two Text,Type lines: the first annotated entity of the documents, and the last one."""
    _, line, begin, end, type_ = rows[0]
    _, last_line, last_begin, last_end, last_type = rows[-1]
    return (
        f"{texts[line][begin:end]},{type_}",
        f"{texts[last_line][last_begin:last_end]},{last_type}",
    )


def write(directory: Path) -> Path:
    """Write every bad-input file into `directory`; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in {**classifier_files(), **recognizer_files()}.items():
        (directory / name).write_bytes(data)
    return directory


@cache
def directory() -> Path:
    """A folder holding every bad-input file, written once per process, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="textwheel-bad-inputs-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return write(path)
