"""Readers and validation for classifier training data in Comprehend's formats.

Both readers stream their input: rows are decoded and parsed one physical line at a
time, so a multi-gigabyte file never becomes one string, and every problem can be
reported with the file name and the line where it starts.
"""

from __future__ import annotations

import codecs
import csv
import heapq
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from .errors import DataError

MULTI_CLASS = "MULTI_CLASS"
MULTI_LABEL = "MULTI_LABEL"
MODES = (MULTI_CLASS, MULTI_LABEL)

# Comprehend's service limits for plain-text classifiers.
MAX_DOCUMENTS = 1_000_000
MAX_LABELS = {MULTI_CLASS: 1000, MULTI_LABEL: 100}
MIN_DOCS_PER_LABEL = 10
RECOMMENDED_DOCS_PER_LABEL = 50

# One CSV row (or manifest line) may hold a document of any realistic length, but a
# bound keeps a missing closing quote from swallowing a 5 GB file into memory.
MAX_ROW_BYTES = 100 * 1024 * 1024

# Characters that users commonly put between labels instead of the configured delimiter.
LIKELY_DELIMITERS = (";", ",", ":", "/", "+", "&", "#", "~", "^", "\\", "\t")

HEADER_LABEL_WORDS = {
    "label",
    "labels",
    "class",
    "classes",
    "category",
    "categories",
    "tag",
    "tags",
    "intent",
    "topic",
    "target",
    "y",
    "annotation",
    "annotations",
}
HEADER_TEXT_WORDS = {
    "text",
    "texts",
    "document",
    "documents",
    "doc",
    "content",
    "sentence",
    "body",
    "utterance",
    "message",
    "review",
    "x",
    "input",
    "source",
}

# How many names to list in one message before summarising the rest.
MAX_NAMES_IN_MESSAGE = 10


@dataclass
class ClassifierData:
    """Documents read from one training or test file."""

    texts: list[str] = field(default_factory=list)
    labels: list = field(default_factory=list)  # list[str] or list[list[str]]
    lines: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_name: str = ""

    def __len__(self) -> int:
        return len(self.texts)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


def _name_list(names, counts: dict | None = None) -> str:
    """Join label names for a message, with their counts, and summarise a long tail."""
    names = list(names)
    shown = [f'"{n}" ({counts[n]})' if counts else f'"{n}"' for n in names[:MAX_NAMES_IN_MESSAGE]]
    text = ", ".join(shown)
    if len(names) > MAX_NAMES_IN_MESSAGE:
        text += f" and {len(names) - MAX_NAMES_IN_MESSAGE} more"
    return text


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _decoded_lines(stream: BinaryIO, source_name: str) -> Iterator[str]:
    """Yield the stream's physical lines as text, naming the line of any encoding error."""
    line_no = 0
    while True:
        raw = stream.readline(MAX_ROW_BYTES + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_ROW_BYTES and not raw.endswith(b"\n"):
            raise DataError(
                f"the line is longer than {MAX_ROW_BYTES // (1024 * 1024)} MB. "
                "Each document must be on one line of at most that size.",
                file=source_name,
                line=line_no,
            )
        if b"\x00" in raw:
            raise DataError(
                "the file contains binary data (NUL bytes), not UTF-8 text. "
                "Upload a UTF-8 text file.",
                file=source_name,
                line=line_no,
            )
        try:
            # Lines split on b"\n" never cut a UTF-8 sequence, so strict per-line decoding
            # is exact and lets the error name its line.
            text = codecs.decode(raw, "utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 1].hex().upper()
            column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
            raise DataError(
                f"the file is not valid UTF-8 (byte 0x{bad} at character {column}). "
                "Save the file with UTF-8 encoding and upload it again.",
                file=source_name,
                line=line_no,
            ) from None
        if line_no == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield text


def _raise_field_limit() -> None:
    # The csv module's default limit (128 KiB) rejects long documents; the per-line byte
    # bound in _decoded_lines is what really limits memory.
    if csv.field_size_limit() < MAX_ROW_BYTES:
        csv.field_size_limit(MAX_ROW_BYTES)


def _csv_rows(stream: BinaryIO, source_name: str) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (first physical line, last physical line, fields) for each non-blank CSV row."""
    _raise_field_limit()
    reader = csv.reader(_decoded_lines(stream, source_name), strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, start, reader.line_num, source_name) from None
        end = reader.line_num
        if row and any(cell.strip() for cell in row):
            yield start, end, row
        start = end + 1


def _csv_error(exc: csv.Error, start: int, current: int, source_name: str) -> DataError:
    """Turn the csv module's terse errors into a message for the user."""
    text = str(exc)
    if "unexpected end of data" in text or "EOF" in text:
        return DataError(
            "a double quote opened on this line is never closed (the file ends inside the "
            'quoted text). Close the quote, or write a quote inside quoted text as two quotes ("").',
            file=source_name,
            line=start,
        )
    if "field larger than field limit" in text:
        return DataError(
            f"the row starting here is larger than {MAX_ROW_BYTES // (1024 * 1024)} MB; "
            "a double quote is probably never closed.",
            file=source_name,
            line=start,
        )
    if current > start:
        # The row ran past its own line inside quotes: the quote that opened on the first
        # line was not closed there.
        return DataError(
            "a double quote opened on this line is not closed on it; the quoted text runs on "
            f"to line {current}, where the file stops making sense. Close the quote, or write "
            'a quote inside quoted text as two quotes ("").',
            file=source_name,
            line=start,
        )
    if "expected after" in text:
        return DataError(
            "quoted text is followed by more characters before the next comma. Put the whole "
            'field in double quotes and write each quote inside it as two quotes ("").',
            file=source_name,
            line=current,
        )
    if "new-line character" in text:
        return DataError(
            "the row contains a bare carriage return. Use \\n or \\r\\n line endings.",
            file=source_name,
            line=current,
        )
    return DataError(f"the row is not valid CSV ({text}).", file=source_name, line=current)


def read_classifier_csv(
    stream: BinaryIO, *, mode: str, delimiter: str = "|", source_name: str
) -> ClassifierData:
    """Read a COMPREHEND_CSV file (no header; LABEL,TEXT per row) from a binary stream."""
    _check_mode(mode)
    if mode == MULTI_LABEL and not delimiter:
        raise ValueError("a multi-label file needs a label delimiter")
    data = ClassifierData(source_name=source_name)
    multi_line: list[int] = []
    for line, end, row in _csv_rows(stream, source_name):
        if end > line:
            multi_line.append(line)
        if len(row) == 1:
            hint = (
                " This does not look like a Comprehend CSV file."
                if line == 1 and len(row[0]) > 200
                else ""
            )
            raise DataError(
                "the row has a label but no text column. Each row must be LABEL,TEXT with a "
                "comma between the label and the text." + hint,
                file=source_name,
                line=line,
            )
        if len(row) > 2:
            raise DataError(
                f"the row has {len(row)} columns, but it must have 2 (LABEL,TEXT). If the text "
                'contains commas, put it in double quotes: label,"text, with commas".',
                file=source_name,
                line=line,
            )
        raw_label, text = row
        if not text.strip():
            raise DataError(
                "the row has a label but its text is empty. Remove the row or add the "
                "document's text.",
                file=source_name,
                line=line,
            )
        label = _parse_labels(raw_label, mode, delimiter, source_name, line)
        _append(data, text, label, line)
    _finish(data, mode, delimiter, csv_file=True)
    if multi_line:
        # Legal CSV, but Comprehend expects one document per line, and an unclosed quote
        # that happens to pair with a later one looks exactly like this.
        data.warnings.append(
            f"{source_name}: {_plural(len(multi_line), 'document')} span several lines "
            f"(quoted text with line breaks), the first starting on line {multi_line[0]}. "
            "Check that no double quote is left open."
        )
    return data


def _parse_labels(raw: str, mode: str, delimiter: str, source_name: str, line: int):
    """Return the row's label (multi-class) or list of labels (multi-label)."""
    if not raw.strip():
        raise DataError(
            "the row has no label. The first column must hold the label.",
            file=source_name,
            line=line,
        )
    if mode == MULTI_CLASS:
        return raw.strip()
    parts = [part.strip() for part in raw.split(delimiter)]
    if any(not part for part in parts):
        raise DataError(
            f'the row has an empty label ("{raw}"): two delimiters "{delimiter}" in a row, or a '
            "delimiter at the start or end. Remove the extra delimiter.",
            file=source_name,
            line=line,
        )
    # A label repeated on one row carries no extra information.
    return list(dict.fromkeys(parts))


def _append(data: ClassifierData, text: str, label, line: int) -> None:
    if len(data.texts) >= MAX_DOCUMENTS:
        raise DataError(
            f"the file has more than {MAX_DOCUMENTS:,} documents, the most a classifier can be "
            "trained with.",
            file=data.source_name,
            line=line,
        )
    data.texts.append(text)
    data.labels.append(label)
    data.lines.append(line)


def _finish(data: ClassifierData, mode: str, delimiter: str | None, *, csv_file: bool) -> None:
    """Whole-file checks that need every row: emptiness, header row, delimiter mix-ups."""
    if not data.texts:
        hint = " Each row must be LABEL,TEXT." if csv_file else ""
        raise DataError(f"the file contains no documents.{hint}", file=data.source_name)
    if csv_file:
        _check_header(data, mode)
    if mode == MULTI_LABEL and delimiter:
        warning = _delimiter_warning(data, delimiter)
        if warning:
            data.warnings.append(warning)


def _check_header(data: ClassifierData, mode: str) -> None:
    """Reject a first row that looks like column names rather than a document."""
    first_labels = data.labels[0] if mode == MULTI_LABEL else [data.labels[0]]
    first_text = data.texts[0].strip().lower()
    # Either column order counts: "text,label" headers happen too.
    names = HEADER_LABEL_WORDS | HEADER_TEXT_WORDS
    looks_like_names = any(lab.lower() in names for lab in first_labels) or first_text in names
    if not looks_like_names or len(data.texts) < 2:
        return
    counts = _label_counts(data.labels[1:], mode)
    if all(counts.get(lab, 0) == 0 for lab in first_labels):
        raise DataError(
            f'the first row ("{",".join(first_labels)},{data.texts[0].strip()}") looks like a '
            "header row. Comprehend CSV files have no header: remove line 1.",
            file=data.source_name,
            line=data.lines[0],
        )


def _delimiter_warning(data: ClassifierData, delimiter: str) -> str | None:
    """Warn when no row uses the delimiter but labels contain another likely delimiter."""
    if any(len(labels) > 1 for labels in data.labels):
        return None
    distinct = {labels[0] for labels in data.labels}
    for char in LIKELY_DELIMITERS:
        if char == delimiter:
            continue
        joined = sorted(lab for lab in distinct if char in lab)
        if joined:
            shown = repr(char) if char in ("\t", " ") else f'"{char}"'
            return (
                f'{data.source_name}: no row uses the label delimiter "{delimiter}", but '
                f"{_plural(len(joined), 'label')} contain {shown}, for example "
                f'"{joined[0]}". If {shown} separates labels, set the label delimiter to '
                f"{shown}; otherwise each of those is trained as one label."
            )
    return None


def read_classifier_manifest(
    stream: BinaryIO, *, mode: str, label_attribute_names: list[str], source_name: str
) -> ClassifierData:
    """Read an AUGMENTED_MANIFEST file (JSON Lines from SageMaker Ground Truth)."""
    _check_mode(mode)
    if not label_attribute_names:
        raise ValueError("label_attribute_names must name at least one attribute")
    data = ClassifierData(source_name=source_name)
    for line, text in enumerate(_decoded_lines(stream, source_name), start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"the line is not valid JSON ({exc.msg} at character {exc.colno}). Each line "
                "must be one complete JSON object.",
                file=source_name,
                line=line,
            ) from None
        if not isinstance(obj, dict):
            raise DataError(
                "the line is not a JSON object. Each line must be an object with a "
                '"source" attribute and the label attribute.',
                file=source_name,
                line=line,
            )
        source = obj.get("source")
        if not isinstance(source, str):
            raise DataError(
                'the object has no "source" attribute holding the document text.',
                file=source_name,
                line=line,
            )
        if not source.strip():
            raise DataError('the "source" text is empty.', file=source_name, line=line)
        labels = _manifest_labels(obj, mode, label_attribute_names, source_name, line)
        _append(data, source, labels, line)
    _finish(data, mode, None, csv_file=False)
    return data


def _manifest_labels(obj: dict, mode: str, names: list[str], source_name: str, line: int):
    """Collect the labels of one manifest object from its label attributes."""
    found: list[str] = []
    present = [name for name in names if name in obj]
    if not present:
        raise DataError(
            f"the object has none of the label attributes {_name_list(names)}.",
            file=source_name,
            line=line,
        )
    for name in present:
        found.extend(_attribute_labels(obj, name, source_name, line))
    found = list(dict.fromkeys(found))
    if any(not lab.strip() for lab in found):
        raise DataError(
            f'the label attribute "{present[0]}" holds an empty label.',
            file=source_name,
            line=line,
        )
    found = [lab.strip() for lab in found]
    if mode == MULTI_CLASS:
        if len(found) != 1:
            raise DataError(
                f"a multi-class document must have exactly one label, but this one has "
                f"{len(found)}: {_name_list(found)}.",
                file=source_name,
                line=line,
            )
        return found[0]
    if not found:
        raise DataError(
            f'the label attribute "{present[0]}" holds no labels.', file=source_name, line=line
        )
    return found


def _attribute_labels(obj: dict, name: str, source_name: str, line: int) -> list[str]:
    """Labels of one attribute: class names directly, or Ground Truth class ids + metadata."""
    value = obj[name]
    values = value if isinstance(value, list) else [value]
    meta = obj.get(f"{name}-metadata") or {}
    labels = []
    for item in values:
        if isinstance(item, str):
            labels.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            # Ground Truth stores class ids; the names are in "<attr>-metadata".
            class_map = meta.get("class-map") if isinstance(meta, dict) else None
            if isinstance(class_map, dict) and str(item) in class_map:
                labels.append(str(class_map[str(item)]))
            elif isinstance(meta, dict) and isinstance(meta.get("class-name"), str):
                labels.append(meta["class-name"])
            else:
                raise DataError(
                    f'the label attribute "{name}" holds the class id {item}, but '
                    f'"{name}-metadata" has no "class-name" or "class-map" giving its name.',
                    file=source_name,
                    line=line,
                )
        else:
            raise DataError(
                f'the label attribute "{name}" must be a label name or a list of label names.',
                file=source_name,
                line=line,
            )
    return labels


def _label_counts(labels, mode: str) -> Counter:
    if mode == MULTI_CLASS:
        return Counter(labels)
    counts: Counter = Counter()
    for row in labels:
        counts.update(row)
    return counts


def validate_classifier_training(
    train: ClassifierData, *, mode: str, test: ClassifierData | None
) -> list[str]:
    """Check training (and optional test) data against Comprehend's rules.

    Returns the warnings this validation finds (the readers' own warnings stay in each
    ClassifierData.warnings) and raises DataError for anything that must stop training.
    """
    _check_mode(mode)
    name = train.source_name or "The training data"
    if not train.texts:
        raise DataError("the file contains no documents.", file=train.source_name or None)
    if len(train.texts) > MAX_DOCUMENTS:
        raise DataError(
            f"the training data has {len(train.texts):,} documents; at most {MAX_DOCUMENTS:,} "
            "are allowed.",
            file=train.source_name or None,
        )
    counts = _label_counts(train.labels, mode)
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(
            f'every document has the same label ("{only}"). A classifier needs at least two '
            "labels.",
            file=train.source_name or None,
        )
    limit = MAX_LABELS[mode]
    if len(counts) > limit:
        kind = "multi-class" if mode == MULTI_CLASS else "multi-label"
        raise DataError(
            f"the training data has {len(counts):,} labels; a {kind} classifier allows at most "
            f"{limit:,}.",
            file=train.source_name or None,
        )
    warnings: list[str] = []
    by_count = sorted(counts, key=lambda lab: (counts[lab], lab))
    too_few = [lab for lab in by_count if counts[lab] < MIN_DOCS_PER_LABEL]
    if mode == MULTI_CLASS:
        if too_few:
            raise DataError(
                f"each label needs at least {MIN_DOCS_PER_LABEL} training documents, but "
                f"{_plural(len(too_few), 'label')} {'has' if len(too_few) == 1 else 'have'} "
                f"fewer: {_name_list(too_few, counts)}. Add documents or remove these labels.",
                file=train.source_name or None,
            )
        few = [lab for lab in by_count if counts[lab] < RECOMMENDED_DOCS_PER_LABEL]
        if few:
            warnings.append(
                f"{name}: {_plural(len(few), 'label')} {'has' if len(few) == 1 else 'have'} "
                f"fewer than {RECOMMENDED_DOCS_PER_LABEL} training documents and may be "
                f"classified poorly: {_name_list(few, counts)}. At least "
                f"{RECOMMENDED_DOCS_PER_LABEL} documents per label are recommended."
            )
    elif too_few:
        warnings.append(
            f"{name}: {_plural(len(too_few), 'label')} {'has' if len(too_few) == 1 else 'have'} "
            f"fewer than {MIN_DOCS_PER_LABEL} training documents; "
            f"{'it is' if len(too_few) == 1 else 'they are'} kept, but will be predicted "
            f"poorly: {_name_list(too_few, counts)}."
        )
    if test is not None:
        _check_test(test, counts, mode)
    return warnings


def _check_test(test: ClassifierData, train_counts: Counter, mode: str) -> None:
    """A test set may only use labels that the training data teaches."""
    if not test.texts:
        raise DataError("the test file contains no documents.", file=test.source_name or None)
    test_counts = _label_counts(test.labels, mode)
    unknown = sorted(lab for lab in test_counts if lab not in train_counts)
    if unknown:
        first_line = None
        for labels, line in zip(test.labels, test.lines, strict=True):
            row = [labels] if mode == MULTI_CLASS else labels
            if any(lab in unknown for lab in row):
                first_line = line
                break
        where = f" (first on line {first_line})" if first_line else ""
        raise DataError(
            f"the test data uses {_plural(len(unknown), 'label')} that the training data does "
            f"not have{where}: {_name_list(unknown)}. Every test label must appear in the "
            "training data.",
            file=test.source_name or None,
        )


def autosplit_indices(
    labels, *, mode: str, seed: int = 0, fraction: float = 0.10, most: int = 10_000
) -> tuple[list[int], list[int]]:
    """Training and test positions of an autosplit: `fraction` of the documents (at most
    `most`) held out, stratified by label (multi-label documents by their rarest label)."""
    n = len(labels)
    n_test = min(most, max(1, round(n * fraction)))
    rng = random.Random(seed)
    if mode == "MULTI_CLASS":
        keys = list(labels)
    else:
        counts = _label_counts(labels, mode)
        keys = [min(row, key=lambda lab: (counts[lab], lab), default="") for row in labels]
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    taken: dict[str, list[int]] = {}
    for key in sorted(by_key):
        idx = by_key[key]
        rng.shuffle(idx)
        # Every label keeps most of its documents for training, but is tested at least once.
        take = max(1, round(len(idx) * n_test / n))
        taken[key] = idx[: min(take, len(idx) - 1)]
    # Rounding, and one test document for every small label, can overshoot the share by
    # a few documents, and the cap by more: the labels that gave the most give back what
    # goes over the cap.
    excess = sum(map(len, taken.values())) - most
    if excess > 0:
        heap = [(-len(idx), key) for key, idx in taken.items()]
        heapq.heapify(heap)
        for _ in range(excess):
            size, key = heapq.heappop(heap)
            taken[key].pop()
            heapq.heappush(heap, (size + 1, key))
    chosen = {i for idx in taken.values() for i in idx}
    return [i for i in range(n) if i not in chosen], sorted(chosen)
