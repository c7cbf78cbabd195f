"""A flywheel's data lake: where everything lives, and the normalised forms written into it.

The data lake of a flywheel is `<DataLakeS3Uri>/<name>/schemaVersion=1/<created>/`, holding:

- `staging/<dataset>-<time>/`: a dataset while it is being ingested (nothing else is written
  before its data has been read and found valid);
- `datasets/<dataset>/<time>/` (DatasetS3Uri): `original/` (the files as given) and the
  normalised form, `normalized/documents.csv` for classifiers (COMPREHEND_CSV, labels joined
  with `|`) or `normalized/documents.txt` (one document per line) and
  `normalized/annotations.csv` (File, Line, Begin Offset, End Offset, Type) for recognizers;
- `model-datasets/<model>[_<version>]/{training,test,model-stats}/`: the data a version trained
  and was scored on, in the same normalised form, and its scores;
- `document-pool/<dataset>/<time>/documents.txt` (one document per line) and
  `annotations-pool/<dataset>/<time>/`: `labels.csv` (File, Line, Labels; multi-label labels
  joined with `|`) for classifiers or `annotations.csv` for recognizers: every completed
  dataset's documents apart from its labels, as Comprehend's data lake keeps them. Lines count
  from 0, as in recognizer annotations. Iterations read the datasets' normalised form.

All reads and writes go through webapp.core.storage, in the flywheel's account.
"""

import csv
import io
import json

from flywheel_app import kind_ops
from flywheel_app.models import Flywheel, time_id
from models_app.ml import ner_metrics
from models_app.ml.errors import DataError
from models_app.models import ModelVersion
from models_app.services import classifier_training, recognizer_training, training_data
from webapp.core import storage
from webapp.core.errors import ServiceError

SCHEMA = "schemaVersion=1"
DOCUMENT_POOL = "document-pool"
ANNOTATIONS_POOL = "annotations-pool"
LABELS_FILE = "labels.csv"
LABELS_HEADER = ["File", "Line", "Labels"]
CLASSIFIER_FILE = "documents.csv"
DOCUMENTS_FILE = "documents.txt"
ANNOTATIONS_FILE = "annotations.csv"
ANNOTATIONS_HEADER = ["File", "Line", "Begin Offset", "End Offset", "Type"]
NORMALIZED = "normalized"
ORIGINAL = "original"
# Comprehend joins the labels of a multi-label document with this delimiter by default.
LABEL_DELIMITER = "|"


def lake_uri(given: str, name: str, created) -> str:
    """DataLakeS3Uri as Describe answers it: `<given>/<name>/schemaVersion=1/<created>/`."""
    return f"{given.rstrip('/')}/{name}/{SCHEMA}/{time_id(created)}/"


def lake(flywheel: Flywheel) -> storage.S3Uri:
    return storage.parse_uri(flywheel.data_lake_uri, field="DataLakeS3Uri")


def dataset_uri(flywheel: Flywheel, name: str, created) -> str:
    """A dataset's DatasetS3Uri: `datasets/<name>/<time>/` in the data lake."""
    return str(lake(flywheel).join("datasets", name, time_id(created))) + "/"


def staging_uri(flywheel: Flywheel, name: str, created) -> storage.S3Uri:
    return lake(flywheel).join("staging", f"{name}-{time_id(created)}")


def version_folder(version: ModelVersion) -> str:
    # "_" appears in no model or version name, so every version gets a folder of its own.
    name = version.model.name
    return f"{name}_{version.version_name}" if version.version_name else name


def model_dataset_uri(flywheel: Flywheel, version: ModelVersion) -> storage.S3Uri:
    """`model-datasets/<version>/` of the data lake: holds training/, test/ and model-stats/."""
    return lake(flywheel).join("model-datasets", version_folder(version))


def normalized_files(dataset_s3_uri: str, kind: str) -> dict[str, storage.S3Uri]:
    """The normalised files of a dataset (or of a model-datasets training/ or test/ folder):
    {"documents": …} for classifiers, {"documents": …, "annotations": …} for recognizers."""
    base = storage.parse_uri(dataset_s3_uri, field="DatasetS3Uri")
    if not base.key.rstrip("/").endswith(("/training", "/test")):
        base = base.join(NORMALIZED)
    return kind_ops.pick(
        kind,
        labels=lambda: {"documents": base.join(CLASSIFIER_FILE)},
        spans=lambda: {
            "documents": base.join(DOCUMENTS_FILE),
            "annotations": base.join(ANNOTATIONS_FILE),
        },
    )()


def classifier_csv(texts, labels, *, mode: str) -> bytes:
    """COMPREHEND_CSV rows (LABEL,TEXT), multi-label labels joined with `|`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for text, label in zip(texts, labels, strict=True):
        joined = LABEL_DELIMITER.join(label) if mode == "MULTI_LABEL" else label
        writer.writerow([joined, text])
    return out.getvalue().encode()


def recognizer_files(examples) -> tuple[bytes, bytes]:
    """(documents, one per line; annotations CSV) for (text, spans) examples. Spans of
    unknown type (an entity list's unreliable matches) are left out."""
    docs, out = [], io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANNOTATIONS_HEADER)
    for line, (text, spans) in enumerate(examples):
        # One document per line: line breaks inside a document become spaces, which keeps
        # every offset where it was.
        docs.append(text.replace("\r", " ").replace("\n", " "))
        for begin, end, type_ in spans:
            if type_ != ner_metrics.UNKNOWN:
                writer.writerow([DOCUMENTS_FILE, line, begin, end, type_])
    return ("\n".join(docs) + "\n").encode(), out.getvalue().encode()


def pool_folders(flywheel: Flywheel, name: str, created) -> tuple[storage.S3Uri, storage.S3Uri]:
    """(document-pool, annotations-pool) folders of a dataset: `<pool>/<name>/<time>/`."""
    base = lake(flywheel)
    return (
        base.join(DOCUMENT_POOL, name, time_id(created)),
        base.join(ANNOTATIONS_POOL, name, time_id(created)),
    )


def _one_per_line(texts) -> bytes:
    # Line breaks inside a document become spaces, as in the recognizers' normalised form.
    return ("\n".join(t.replace("\r", " ").replace("\n", " ") for t in texts) + "\n").encode()


def write_pools(account_id: str, flywheel: Flywheel, name: str, created, data, *, mode="") -> None:
    """Write a completed dataset's documents into document-pool/ and its labels (classifiers)
    or annotations (recognizers) into annotations-pool/."""
    documents_folder, annotations_folder = pool_folders(flywheel, name, created)
    pool = kind_ops.pick(flywheel.kind, labels=_labels_pool, spans=_spans_pool)
    documents = pool(account_id, annotations_folder, data, mode=mode)
    write(account_id, documents_folder.join(DOCUMENTS_FILE), documents)


def _labels_pool(account_id: str, annotations_folder: storage.S3Uri, data, *, mode: str) -> bytes:
    """Write the labels.csv of classifier (texts, labels); returns the documents file."""
    texts, labels = data
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LABELS_HEADER)
    for line, label in enumerate(labels):
        joined = LABEL_DELIMITER.join(label) if mode == "MULTI_LABEL" else label
        writer.writerow([DOCUMENTS_FILE, line, joined])
    write(account_id, annotations_folder.join(LABELS_FILE), out.getvalue().encode())
    return _one_per_line(texts)


def _spans_pool(account_id: str, annotations_folder: storage.S3Uri, data, *, mode: str) -> bytes:
    """Write the annotations.csv of recognizer examples; returns the documents file."""
    documents, annotations = recognizer_files(data)
    write(account_id, annotations_folder.join(ANNOTATIONS_FILE), annotations)
    return documents


def write(account_id: str, uri: storage.S3Uri, data: bytes) -> None:
    storage.save_upload(account_id, uri, io.BytesIO(data))


def write_normalized(account_id: str, folder: storage.S3Uri, kind: str, data, *, mode="") -> int:
    """Write classifier (texts, labels) or recognizer examples into `folder` in the normalised
    form; returns the number of documents written."""
    writer = kind_ops.pick(kind, labels=_write_labels, spans=_write_spans)
    return writer(account_id, folder, data, mode=mode)


def _write_labels(account_id: str, folder: storage.S3Uri, data, *, mode: str) -> int:
    texts, labels = data
    write(account_id, folder.join(CLASSIFIER_FILE), classifier_csv(texts, labels, mode=mode))
    return len(texts)


def _write_spans(account_id: str, folder: storage.S3Uri, data, *, mode: str) -> int:
    documents, annotations = recognizer_files(data)
    write(account_id, folder.join(DOCUMENTS_FILE), documents)
    write(account_id, folder.join(ANNOTATIONS_FILE), annotations)
    return len(data)


def copy_tree(account_id: str, source: storage.S3Uri, target: storage.S3Uri) -> int:
    """Copy every object under `source` to the same place under `target`."""
    prefix = source.key.rstrip("/") + "/"
    count = 0
    for item, _size in storage.list_files(account_id, storage.S3Uri(source.bucket, prefix)):
        with storage.open_read(account_id, item) as stream:
            storage.save_upload(account_id, target.join(item.key[len(prefix) :]), stream)
        count += 1
    return count


class SeedFailed(Exception):
    """The version's data could not be copied into the data lake; the message says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.user_message = message


def _read_version_data(version: ModelVersion, digest):
    """(training, test) as the version trained and was scored on, with a recomputed (seeded)
    autosplit when it was given no test data."""
    reader = kind_ops.pick(version.model.kind, labels=_read_labels, spans=_read_spans)
    return reader(version, digest)


def _read_labels(version: ModelVersion, digest):
    train, test = classifier_training.read_data(version, digest)
    if test is None:
        return classifier_training.autosplit(train.texts, train.labels, mode=version.mode)
    return (train.texts, train.labels), (test.texts, test.labels)


def _read_spans(version: ModelVersion, digest):
    train, test = recognizer_training.read_examples(version, digest)
    if test is None:
        return recognizer_training.autosplit(train)
    return train, test


def _labels_in(kind: str, data, mode: str) -> list[str]:
    seen: dict[str, None] = {}
    kind_ops.pick(kind, labels=_labels_of_labels, spans=_labels_of_spans)(data, mode, seen)
    return sorted(seen)


def _labels_of_labels(data, mode: str, seen: dict) -> None:
    for label in data[1]:
        for one in label if mode == "MULTI_LABEL" else [label]:
            seen.setdefault(one)


def _labels_of_spans(data, mode: str, seen: dict) -> None:
    for _text, spans in data:
        for span in spans:
            if span[2] != ner_metrics.UNKNOWN:
                seen.setdefault(span[2])


def datalake_seed(*, flywheel: Flywheel, version: ModelVersion) -> tuple[list[str], list[str]]:
    """Copy a version's training and test data into the flywheel's data lake; returns
    (warnings, the labels or entity types its training data has).

    Raises SeedFailed when the data cannot be read (missing files, unreadable data).
    """
    account_id = flywheel.account.account_id
    digest = training_data.new_digest()
    try:
        train, test = _read_version_data(version, digest)
    except DataError as exc:
        raise SeedFailed(
            f"The training data of {version.arn} could not be read: {exc.user_message}"
        ) from None
    except ServiceError as exc:
        raise SeedFailed(
            f"The training data of {version.arn} could not be copied into the data lake: "
            f"{exc.message}"
        ) from None
    base = model_dataset_uri(flywheel, version)
    kind = version.model.kind
    write_normalized(account_id, base.join("training"), kind, train, mode=version.mode)
    write_normalized(account_id, base.join("test"), kind, test, mode=version.mode)
    stats = {
        "ModelArn": version.arn,
        "EvaluationMetrics": version.metrics,
        "PerLabelMetrics": version.per_label_metrics,
        "NumberOfTrainedDocuments": version.number_of_trained_documents,
        "NumberOfTestDocuments": version.number_of_test_documents,
    }
    write(
        account_id,
        base.join("model-stats", "metrics.json"),
        json.dumps(stats, indent=1, default=str).encode(),
    )
    warnings = []
    if version.data_sha256 and digest.hexdigest() != version.data_sha256:
        warnings.append(
            f"The training data of {version.arn} changed since the version trained (its sha256 "
            "differs); the data lake holds the data as it is now."
        )
    return warnings, _labels_in(kind, train, version.mode)
