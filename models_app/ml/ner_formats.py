"""Readers and validation for Comprehend's custom entity recognizer inputs.

Inputs are streams (text or binary, UTF-8 with or without a BOM) plus the name to show in
messages. Every problem is a `DataError` naming the file and the line or annotation row.
Annotation and entity-list rows are counted from 1 after the header; document lines named in
messages about annotations are 0-based like the annotations' Line column, while encoding and
CSV-syntax errors give the 1-based physical line an editor shows.

Shapes:
* documents: a mapping file name -> list of lines (`read_documents`);
* annotations: `Annotation` rows (`read_annotations`);
* training examples: a list of `(text, [(begin, end, type), ...])`, offsets into `text`, end
  exclusive (`build_examples`, `annotate_with_entity_list`, `read_augmented_manifest`); only
  `annotate_with_entity_list` also gives spans of type `UNKNOWN` (annotation not known).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from models_app.ml.errors import DataError
from models_app.ml.ner_metrics import UNKNOWN, count_mentions

ONE_DOC_PER_LINE = "ONE_DOC_PER_LINE"
ONE_DOC_PER_FILE = "ONE_DOC_PER_FILE"
MAX_ENTITY_TYPES = 25
MIN_ANNOTATIONS_PER_TYPE = 25
MAX_DOCUMENT_BYTES = 5000  # Comprehend's limit for one training document (UTF-8 bytes)

TYPE_RULE = (
    "entity types must be upper-case words joined by underscores (A-Z, 0-9 and _), "
    "with no spaces, commas or line breaks"
)
_TYPE_RE = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*")
# A token is a run of word characters or one other non-space character.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_ANNOTATION_COLUMNS = ["file", "line", "begin offset", "end offset", "type"]

Span = tuple[int, int, str]
Example = tuple[str, list[Span]]


@dataclass(frozen=True)
class Annotation:
    """One row of an annotations CSV; `line` is None when the file has no Line column."""

    row: int
    file: str
    line: int | None
    begin: int
    end: int
    type: str


def _decoded_lines(stream: IO, source_name: str) -> Iterator[str]:
    """Lines of a text or binary stream, decoded as UTF-8 (BOM dropped), ends kept as '\\n'."""
    for number, raw in enumerate(stream, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(
                    "the file is not valid UTF-8 text", file=source_name, line=number
                ) from None
        if number == 1:
            raw = raw.removeprefix("\ufeff")
        if raw.endswith("\r\n"):
            raw = raw[:-2] + "\n"
        yield raw


def _csv_rows(stream: IO, source_name: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line number where the row starts, fields) for each CSV row."""
    lines = _decoded_lines(stream, source_name)
    reader = csv.reader(lines, strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"the CSV is malformed ({exc})", file=source_name, line=start) from None
        yield start, fields
        start = reader.line_num + 1


def check_entity_type(name: str, where: str, source_name: str | None = None) -> str:
    """Return the type name if it follows Comprehend's rule, else raise naming it and the rule."""
    if not _TYPE_RE.fullmatch(name):
        raise DataError(f"{where} has entity type {name!r}: {TYPE_RULE}", file=source_name)
    return name


def check_entity_types(types: Iterable[str], source_name: str | None = None) -> list[str]:
    """Validate a set of entity types (names and the limit of 25); return them sorted."""
    unique = sorted(set(types))
    for name in unique:
        check_entity_type(name, "the entity type list", source_name)
    if len(unique) > MAX_ENTITY_TYPES:
        raise DataError(
            f"found {len(unique)} entity types; a recognizer can have at most "
            f"{MAX_ENTITY_TYPES} ({', '.join(unique)})",
            file=source_name,
        )
    if not unique:
        raise DataError("no entity types found", file=source_name)
    return unique


def read_entity_list(stream: IO, source_name: str) -> list[tuple[str, str]]:
    """Read an entity list CSV (header `Text,Type`) into (text, type) pairs, duplicates dropped."""
    rows = _csv_rows(stream, source_name)
    first = next(rows, None)
    if first is None:
        raise DataError("the entity list is empty", file=source_name)
    header = [field.strip().lower() for field in first[1]]
    if header != ["text", "type"]:
        raise DataError(
            f"the entity list must start with the header row 'Text,Type' "
            f"(line 1 is {','.join(first[1])!r})",
            file=source_name,
        )
    pairs: dict[tuple[str, str], None] = {}
    for row, (_, fields) in enumerate(rows, start=1):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != 2:
            raise DataError(
                f"entity list row {row} has {len(fields)} columns; expected 2 (Text,Type)",
                file=source_name,
            )
        text, type_ = fields[0].strip(), fields[1].strip()
        if not text:
            raise DataError(f"entity list row {row} has an empty Text", file=source_name)
        check_entity_type(type_, f"entity list row {row}", source_name)
        pairs[(text, type_)] = None
    if not pairs:
        raise DataError("the entity list has a header but no entities", file=source_name)
    check_entity_types((type_ for _, type_ in pairs), source_name)
    return list(pairs)


def read_annotations(stream: IO, source_name: str) -> list[Annotation]:
    """Read an annotations CSV (`File,Line,Begin Offset,End Offset,Type`; Line optional)."""
    rows = _csv_rows(stream, source_name)
    first = next(rows, None)
    if first is None:
        raise DataError("the annotations file is empty", file=source_name)
    header = [field.strip().lower() for field in first[1]]
    expected = [_ANNOTATION_COLUMNS, [c for c in _ANNOTATION_COLUMNS if c != "line"]]
    if header not in expected:
        raise DataError(
            "the annotations file must start with the header row "
            f"'File,Line,Begin Offset,End Offset,Type' (line 1 is {','.join(first[1])!r})",
            file=source_name,
        )
    has_line = "line" in header
    annotations = []
    for row, (_, fields) in enumerate(rows, start=1):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            raise DataError(
                f"annotation row {row} has {len(fields)} columns; expected {len(header)}",
                file=source_name,
            )
        values = dict(zip(header, (field.strip() for field in fields), strict=True))
        numbers = {}
        for column in (
            ("line", "begin offset", "end offset") if has_line else ("begin offset", "end offset")
        ):
            try:
                numbers[column] = int(values[column])
            except ValueError:
                raise DataError(
                    f"annotation row {row}: {column.title()} is {values[column]!r}, "
                    "not a whole number",
                    file=source_name,
                ) from None
            if numbers[column] < 0:
                raise DataError(
                    f"annotation row {row}: {column.title()} is negative", file=source_name
                )
        begin, end = numbers["begin offset"], numbers["end offset"]
        if end <= begin:
            raise DataError(
                f"annotation row {row}: End Offset ({end}) must be greater than "
                f"Begin Offset ({begin})",
                file=source_name,
            )
        if not values["file"]:
            raise DataError(f"annotation row {row} has an empty File", file=source_name)
        check_entity_type(values["type"], f"annotation row {row}", source_name)
        annotations.append(
            Annotation(
                row=row,
                file=values["file"],
                line=numbers.get("line"),
                begin=begin,
                end=end,
                type=values["type"],
            )
        )
    if not annotations:
        raise DataError("the annotations file has a header but no annotations", file=source_name)
    return annotations


def read_documents(stream: IO, source_name: str) -> list[str]:
    """Read a documents file into its lines (no line ends); an empty file is an error."""
    lines = [line.removesuffix("\n") for line in _decoded_lines(stream, source_name)]
    if not any(line.strip() for line in lines):
        raise DataError("the documents file is empty: no documents", file=source_name)
    return lines


def check_document_size(text: str, source_name: str, line: int | None = None) -> None:
    """Refuse a training document over Comprehend's 5,000-byte limit."""
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        where = f"document on line {line} (0-based)" if line is not None else "document"
        raise DataError(
            f"the {where} is {size:,} bytes; training documents can be at most "
            f"{MAX_DOCUMENT_BYTES:,} bytes (UTF-8)",
            file=source_name,
        )


def _token_bounds(text: str) -> tuple[set[int], set[int]]:
    starts, ends = set(), set()
    for match in _TOKEN_RE.finditer(text):
        starts.add(match.start())
        ends.add(match.end())
    return starts, ends


def _edge_problem(text: str, offset: int) -> str:
    if offset < len(text) and text[offset].isspace() or offset > 0 and text[offset - 1].isspace():
        return "on a space"
    return "inside a token"


def _check_span(text, begin, end, where, doc_where, source_name, starts, ends) -> None:
    if end > len(text):
        raise DataError(
            f"{where} ends at offset {end}, past the end of {doc_where} ({len(text)} characters)",
            file=source_name,
        )
    for edge, offset, allowed in (("begins", begin, starts), ("ends", end, ends)):
        if offset not in allowed:
            context = text[max(0, offset - 12) : offset] + "|" + text[offset : offset + 12]
            raise DataError(
                f"{where} {edge} at offset {offset}, {_edge_problem(text, offset)} of "
                f"{doc_where} ({context!r}); entities must start and end on token boundaries",
                file=source_name,
            )


def _check_overlaps(spans: list[tuple[int, int, str, str]], doc_where: str, source_name):
    """spans: (begin, end, type, label for messages), e.g. 'annotation row 31'."""
    spans = sorted(spans)
    for previous, current in zip(spans, spans[1:], strict=False):
        if current[0] < previous[1]:
            first, second = previous[3], current[3]
            prefix = "annotation row "
            if first.startswith(prefix) and second.startswith(prefix):
                first = "annotation rows " + first.removeprefix(prefix)
                second = second.removeprefix(prefix)
            raise DataError(
                f"{first} and {second} overlap in {doc_where} "
                f"(offsets {previous[0]}-{previous[1]} {previous[2]} and "
                f"{current[0]}-{current[1]} {current[2]}); entities must not overlap",
                file=source_name,
            )


def build_examples(
    documents: Mapping[str, Sequence[str]],
    annotations: Sequence[Annotation],
    *,
    mode: str = ONE_DOC_PER_LINE,
    source_name: str = "annotations.csv",
    entity_types: Iterable[str] | None = None,
    max_document_bytes: int | None = MAX_DOCUMENT_BYTES,
) -> list[Example]:
    """Join documents and annotations into (text, spans) examples, validating every row.

    ONE_DOC_PER_LINE: each line of each file is a document. ONE_DOC_PER_FILE: each file is a
    document (its lines joined by '\\n'); a row's Line and offsets are converted to document
    offsets, or, without a Line column, the offsets already are document offsets. Documents
    without text are dropped. `entity_types`, when given, is the declared list: a row with
    another type is an error.
    """
    if mode not in (ONE_DOC_PER_LINE, ONE_DOC_PER_FILE):
        raise DataError(f"unknown input format {mode!r}")
    declared = set(entity_types) if entity_types is not None else None
    known = ", ".join(sorted(documents)) or "none"
    # key -> (text, description for messages, spans with their row label)
    docs: dict[tuple[str, int], tuple[str, str, list]] = {}
    line_starts: dict[str, list[int]] = {}
    for name, lines in documents.items():
        if mode == ONE_DOC_PER_LINE:
            for number, line in enumerate(lines):
                docs[(name, number)] = (line, f"line {number} of {name}", [])
        else:
            starts, position = [], 0
            for line in lines:
                starts.append(position)
                position += len(line) + 1
            line_starts[name] = starts
            docs[(name, 0)] = ("\n".join(lines), name, [])
    bounds: dict[tuple[str, int], tuple[set[int], set[int]]] = {}

    for ann in annotations:
        where = f"annotation row {ann.row}"
        if declared is not None and ann.type not in declared:
            raise DataError(
                f"{where} has entity type {ann.type!r}, which is not among the declared "
                f"entity types ({', '.join(sorted(declared))})",
                file=source_name,
            )
        if ann.file not in documents:
            raise DataError(
                f"{where} names the file {ann.file!r}, which is not among the documents ({known})",
                file=source_name,
            )
        lines = documents[ann.file]
        if ann.line is None and mode == ONE_DOC_PER_LINE:
            raise DataError(
                f"{where} has no Line; one-document-per-line annotations need the Line column",
                file=source_name,
            )
        if ann.line is not None and ann.line >= len(lines):
            raise DataError(
                f"{where} points at line {ann.line}, but {ann.file} has {len(lines)} lines "
                f"(0 to {len(lines) - 1})",
                file=source_name,
            )
        begin, end = ann.begin, ann.end
        if mode == ONE_DOC_PER_LINE:
            key = (ann.file, ann.line)
        else:
            key = (ann.file, 0)
            if ann.line is not None:
                # Validate against the line first so the message talks about what the user wrote.
                line_text = lines[ann.line]
                doc_where = f"line {ann.line} of {ann.file}"
                _check_span(
                    line_text, begin, end, where, doc_where, source_name, *_token_bounds(line_text)
                )
                begin += line_starts[ann.file][ann.line]
                end += line_starts[ann.file][ann.line]
        text, doc_where, spans = docs[key]
        if key not in bounds:
            bounds[key] = _token_bounds(text)
        _check_span(text, begin, end, where, doc_where, source_name, *bounds[key])
        spans.append((begin, end, ann.type, where))

    examples = []
    for (name, number), (text, doc_where, spans) in docs.items():
        _check_overlaps(spans, doc_where, source_name)
        if not text.strip():
            continue
        if max_document_bytes is not None:
            check_document_size(text, name, number if mode == ONE_DOC_PER_LINE else None)
        examples.append((text, sorted((b, e, t) for b, e, t, _ in spans)))
    if not examples:
        raise DataError("the documents contain no text", file=source_name)
    return examples


def annotate_with_entity_list(
    texts: Iterable[str], entity_list: Sequence[tuple[str, str]]
) -> list[Example]:
    """Annotate texts with an entity list: exact, case-sensitive, whole-token matches.

    Longer matches win over shorter ones they overlap (ties: the leftmost), and matches never
    overlap. A match is left as annotation of type `UNKNOWN` (training ignores its tokens and
    scoring ignores predictions on it) rather than guessed when it is unreliable:
    * its text is listed with several types (e.g. "Chicago" as a place and as a team);
    * it has no letter (e.g. "3", listed because a team is called that somewhere);
    * it is one token that the texts use at least as often in lower case, so it is mostly a
      common word (e.g. "The", listed as a place by a slip in the source annotations).
    """
    types: dict[str, set[str]] = {}
    max_tokens = 0
    for text, type_ in entity_list:
        text = text.strip()
        n_tokens = len(_TOKEN_RE.findall(text))
        if n_tokens:
            types.setdefault(text, set()).add(type_)
            max_tokens = max(max_tokens, n_tokens)
    texts = list(texts)
    token_counts = Counter(token for text in texts for token in _TOKEN_RE.findall(text))

    def reliable(text: str, one_token: bool) -> bool:
        if len(types[text]) > 1 or not any(c.isalpha() for c in text):
            return False
        lower = text.lower()
        return not (one_token and lower != text and token_counts[lower] >= token_counts[text])

    examples = []
    for text in texts:
        tokens = [(m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
        candidates = []
        for i, (begin, _) in enumerate(tokens):
            for j in range(i, min(i + max_tokens, len(tokens))):
                end = tokens[j][1]
                if text[begin:end] in types:
                    candidates.append((begin, end, i == j))
        candidates.sort(key=lambda c: (c[0] - c[1], c[0]))
        taken = [False] * (len(text) + 1)
        spans = []
        for begin, end, one_token in candidates:
            if not any(taken[begin:end]):
                listed = text[begin:end]
                type_ = next(iter(types[listed])) if reliable(listed, one_token) else UNKNOWN
                spans.append((begin, end, type_))
                for k in range(begin, end):
                    taken[k] = True
        examples.append((text, sorted(spans)))
    return examples


def read_augmented_manifest(
    stream: IO,
    source_name: str,
    attribute_names: Sequence[str],
    *,
    max_document_bytes: int | None = MAX_DOCUMENT_BYTES,
) -> list[Example]:
    """Read a SageMaker Ground Truth augmented manifest (JSON Lines) into examples.

    Each line: {"source": text, "<attribute>": {"annotations": {"entities": [{"startOffset",
    "endOffset", "label"}, ...]}}}; `beginOffset` and `labelName` are accepted as aliases.
    """
    examples = []
    for number, raw in enumerate(_decoded_lines(stream, source_name), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"the line is not valid JSON ({exc.msg})", file=source_name, line=number
            ) from None
        text = record.get("source") if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise DataError('the line has no "source" text', file=source_name, line=number)
        where_doc = f"the document on line {number}"
        spans = []
        for attribute in attribute_names:
            entities = _manifest_entities(record, attribute, source_name, number)
            starts, ends = _token_bounds(text)
            for k, entity in enumerate(entities, start=1):
                where = f"line {number}, entity {k} of {attribute!r},"
                try:
                    begin = int(entity.get("startOffset", entity.get("beginOffset")))
                    end = int(entity["endOffset"])
                    type_ = str(entity.get("label", entity.get("labelName")))
                except (KeyError, TypeError, ValueError):
                    raise DataError(
                        f"{where} needs startOffset, endOffset and label", file=source_name
                    ) from None
                if begin < 0 or end <= begin:
                    raise DataError(
                        f"{where} has offsets {begin}-{end}; the end must be after the beginning",
                        file=source_name,
                    )
                check_entity_type(type_, where.rstrip(","), source_name)
                _check_span(
                    text, begin, end, where.rstrip(","), where_doc, source_name, starts, ends
                )
                spans.append((begin, end, type_, f"entity {k} of {attribute!r}"))
        _check_overlaps(spans, where_doc, source_name)
        if not text.strip():
            continue
        if max_document_bytes is not None:
            check_document_size(text, source_name, number)
        examples.append((text, sorted((b, e, t) for b, e, t, _ in spans)))
    if not examples:
        raise DataError("the augmented manifest is empty: no documents", file=source_name)
    return examples


def _manifest_entities(record: dict, attribute: str, source_name: str, number: int) -> list:
    value = record.get(attribute)
    annotations = value.get("annotations") if isinstance(value, dict) else None
    entities = annotations.get("entities") if isinstance(annotations, dict) else None
    if not isinstance(entities, list):
        raise DataError(
            f"the line has no {attribute!r}.annotations.entities list",
            file=source_name,
            line=number,
        )
    return [e for e in entities if isinstance(e, dict)]


def check_training_examples(
    examples: Sequence[Example],
    entity_types: Iterable[str],
    *,
    source_name: str | None = None,
    minimum: int = MIN_ANNOTATIONS_PER_TYPE,
) -> dict[str, int]:
    """Enforce at most 25 types and at least `minimum` mentions of each; return the counts."""
    types = check_entity_types(entity_types, source_name)
    counts = count_mentions(spans for _, spans in examples)
    for type_ in types:
        if counts[type_] < minimum:
            raise DataError(
                f"entity type {type_} has {counts[type_]} annotations in the training data; "
                f"each entity type needs at least {minimum}",
                file=source_name,
            )
    return {type_: counts[type_] for type_ in types}


def open_text(data: bytes | str) -> IO:
    """A stream over in-memory content (handy for callers and tests)."""
    return io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
