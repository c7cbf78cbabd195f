"""Turn a CoNLL-style IOB file (CoNLL-2003, WNUT-17) into Comprehend's recognizer inputs.

Writes, beside each other in OUT:
  NAME.txt               ONE_DOC_PER_LINE documents: one sentence a line, tokens joined by spaces
  NAME-annotations.csv   File,Line,Begin Offset,End Offset,Type (0-based line, end exclusive)
  entity-list.csv        Text,Type: every distinct pair annotated (with --entity-list)

Usage:
  python bench/convert_iob.py eng.train.gz OUT --name train --entity-list
  python bench/convert_iob.py wnut17train.conll.gz OUT --name train --entity-list

Each line of the source is a token, whitespace-separated columns, the tag in the last column;
a blank line ends a sentence and `-DOCSTART-` lines are dropped. A span starts at `B-X`, or at an
`I-X` that follows another tag (IOB1), and runs over the following `I-X`. Types are
upper-cased with `-` as `_`, and CoNLL's PER/LOC/ORG become PERSON/LOCATION/ORGANIZATION.
"""

import argparse
import csv
import gzip
from pathlib import Path

NAMES = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION"}


def sentences(path: Path):
    """Each sentence of the file as a list of (token, tag)."""
    opener = gzip.open if path.suffix == ".gz" else open
    current: list[tuple[str, str]] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for raw in fh:
            columns = raw.split()
            if not columns:
                if current:
                    yield current
                current = []
            elif columns[0] != "-DOCSTART-":
                current.append((columns[0], columns[-1]))
    if current:
        yield current


def entity_type(tag: str) -> str:
    name = tag[2:]
    return NAMES.get(name, name.upper().replace("-", "_"))


def spans(tokens: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentence as one line and its entity spans (begin, end, type) in that line."""
    text, found, offset = [], [], 0
    open_span = None  # [begin, end, tag type]
    for i, (token, tag) in enumerate(tokens):
        begin, end = offset, offset + len(token)
        kind = tag[2:] if tag[:2] in ("B-", "I-") else None
        continues = (
            open_span is not None and tag.startswith("I-") and kind == open_span[2] and i > 0
        )
        if continues:
            open_span[1] = end
        else:
            if open_span:
                found.append(open_span)
            open_span = [begin, end, kind] if kind else None
        text.append(token)
        offset = end + 1
    if open_span:
        found.append(open_span)
    return " ".join(text), [(b, e, entity_type("X-" + k)) for b, e, k in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the IOB file (.gz is read as gzip)")
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--name", required=True, help="documents file name without .txt")
    parser.add_argument("--entity-list", action="store_true", help="also write entity-list.csv")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    docs_name = f"{args.name}.txt"
    lines, rows, pairs = [], [], set()
    for number, tokens in enumerate(sentences(args.source)):
        line, found = spans(tokens)
        lines.append(line)
        for begin, end, type_ in found:
            rows.append((docs_name, number, begin, end, type_))
            pairs.add((line[begin:end], type_))
    (args.out / docs_name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    with open(args.out / f"{args.name}-annotations.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["File", "Line", "Begin Offset", "End Offset", "Type"])
        writer.writerows(rows)
    if args.entity_list:
        with open(args.out / "entity-list.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["Text", "Type"])
            writer.writerows(sorted(pairs, key=lambda pair: (pair[1], pair[0])))
    print(f"{len(lines):,} documents, {len(rows):,} entities, {len(pairs):,} distinct pairs")


if __name__ == "__main__":
    main()
