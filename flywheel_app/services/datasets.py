"""Datasets: checked on create, then ingested into the data lake by a job on the default queue."""

import io
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from flywheel_app import kind_ops, selectors
from flywheel_app.models import Dataset, DatasetStatus, DatasetType, Flywheel, FlywheelStatus
from flywheel_app.services import datalake
from models_app import kinds
from models_app.ml import formats, ner_formats, ner_metrics
from models_app.ml.errors import DataError
from models_app.services import training_data
from models_app.services.classifiers import DELIMITERS
from models_app.services.versions import check_uri
from webapp.accounts.services.tags import tags_set
from webapp.core import background, storage
from webapp.core.errors import ServiceError, in_use, invalid_request, validation_error
from webapp.core.validation import (
    check_client_token,
    check_enum,
    check_length,
    check_name,
    check_tags,
)

log = logging.getLogger(__name__)

FORMATS = ("COMPREHEND_CSV", "AUGMENTED_MANIFEST")
SHOWN = 10  # names listed in a message before the rest are counted
CLASSIFIER_CONFIG = "InputDataConfig.DocumentClassifierInputDataConfig"
RECOGNIZER_CONFIG = "InputDataConfig.EntityRecognizerInputDataConfig"


def _transition(pk: int, to: str, **fields) -> bool:
    return background.transition(Dataset, pk, to=to, **fields)


def flywheel_format(flywheel: Flywheel) -> str | None:
    """The input format the flywheel's data comes in: its active version's, else its first
    dataset's; None while it has neither (a new model's flywheel takes either)."""
    if flywheel.active_version is not None:
        return (flywheel.active_version.input_data_config or {}).get("DataFormat") or (
            "COMPREHEND_CSV"
        )
    first = (
        flywheel.datasets.exclude(status=DatasetStatus.FAILED)
        .order_by("created_at", "id")
        .values_list("input_data_config", flat=True)
        .first()
    )
    return (first or {}).get("DataFormat") if first is not None else None


def _check_manifests(account, manifests) -> list[dict]:
    if not manifests:
        raise invalid_request(
            "AUGMENTED_MANIFEST data needs InputDataConfig.AugmentedManifests.",
            field="InputDataConfig.AugmentedManifests",
        )
    clean = []
    for i, item in enumerate(manifests, start=1):
        where = f"InputDataConfig.AugmentedManifests.{i}"
        if item.get("DocumentType", "PLAIN_TEXT_DOCUMENT") != "PLAIN_TEXT_DOCUMENT":
            raise invalid_request(
                "Flywheels take plain-text documents only; semi-structured documents "
                "(SEMI_STRUCTURED_DOCUMENT) are not supported.",
                field=f"{where}.DocumentType",
            )
        if item.get("AnnotationDataS3Uri") or item.get("SourceDocumentsS3Uri"):
            raise invalid_request(
                "AnnotationDataS3Uri and SourceDocumentsS3Uri are for semi-structured "
                "documents, which flywheels do not take.",
                field=f"{where}.AnnotationDataS3Uri",
            )
        names = item.get("AttributeNames") or []
        if not names:
            raise validation_error(
                f"{where}.AttributeNames must name the label attribute of each labelling job.",
                field=f"{where}.AttributeNames",
            )
        clean.append(
            {
                "S3Uri": check_uri(account, item.get("S3Uri"), f"{where}.S3Uri", must_exist=True),
                "AttributeNames": names,
            }
        )
    return clean


def check_input(account, flywheel: Flywheel, config) -> dict:
    """Validate CreateDataset's InputDataConfig against the flywheel; returns it as recorded."""
    if not isinstance(config, dict):
        raise validation_error("InputDataConfig is required.", field="InputDataConfig")
    fmt = config.get("DataFormat") or "COMPREHEND_CSV"
    check_enum(fmt, field="InputDataConfig.DataFormat", allowed=FORMATS)
    expected = flywheel_format(flywheel)
    if expected and fmt != expected:
        raise invalid_request(
            f"The flywheel {flywheel.arn} takes {expected} data; this dataset is {fmt}.",
            field="InputDataConfig.DataFormat",
        )
    other = kind_ops.pick(flywheel.kind, labels=RECOGNIZER_CONFIG, spans=CLASSIFIER_CONFIG)
    if config.get(other.split(".")[1]):
        noun = kinds.get(flywheel.kind).title.lower()
        raise invalid_request(
            f"The flywheel {flywheel.arn} trains a {noun}; {other} does not apply.", field=other
        )
    clean: dict = {"DataFormat": fmt}
    if fmt == "AUGMENTED_MANIFEST":
        clean["AugmentedManifests"] = _check_manifests(account, config.get("AugmentedManifests"))
        return clean
    if config.get("AugmentedManifests"):
        raise invalid_request(
            "AugmentedManifests needs DataFormat AUGMENTED_MANIFEST.",
            field="InputDataConfig.DataFormat",
        )
    check = kind_ops.pick(flywheel.kind, labels=_check_labels_input, spans=_check_spans_input)
    return check(account, flywheel, config, clean)


def _check_labels_input(account, flywheel: Flywheel, config: dict, clean: dict) -> dict:
    section = config.get("DocumentClassifierInputDataConfig") or {}
    if not section.get("S3Uri"):
        raise invalid_request(
            f"{CLASSIFIER_CONFIG}.S3Uri is required for COMPREHEND_CSV data.",
            field=f"{CLASSIFIER_CONFIG}.S3Uri",
        )
    clean_section = {
        "S3Uri": check_uri(account, section["S3Uri"], f"{CLASSIFIER_CONFIG}.S3Uri", must_exist=True)
    }
    delimiter = section.get("LabelDelimiter")
    if delimiter is not None:
        if flywheel.mode != "MULTI_LABEL":
            raise invalid_request(
                "LabelDelimiter applies only to MULTI_LABEL flywheels.",
                field=f"{CLASSIFIER_CONFIG}.LabelDelimiter",
            )
        if delimiter not in DELIMITERS:
            raise validation_error(
                f"{CLASSIFIER_CONFIG}.LabelDelimiter must be one of the characters "
                + " ".join(sorted(DELIMITERS))
                + ".",
                field=f"{CLASSIFIER_CONFIG}.LabelDelimiter",
            )
        clean_section["LabelDelimiter"] = delimiter
    clean["DocumentClassifierInputDataConfig"] = clean_section
    return clean


def _check_spans_input(account, flywheel: Flywheel, config: dict, clean: dict) -> dict:
    section = config.get("EntityRecognizerInputDataConfig") or {}
    documents = section.get("Documents") or {}
    if not documents.get("S3Uri"):
        raise invalid_request(
            f"{RECOGNIZER_CONFIG}.Documents is required.", field=f"{RECOGNIZER_CONFIG}.Documents"
        )
    annotations, entity_list = section.get("Annotations"), section.get("EntityList")
    if bool(annotations) == bool(entity_list):
        raise invalid_request(
            "Give either Annotations or EntityList with the documents.",
            field=f"{RECOGNIZER_CONFIG}.Annotations",
        )
    clean_docs = {
        "S3Uri": check_uri(
            account, documents["S3Uri"], f"{RECOGNIZER_CONFIG}.Documents.S3Uri", must_exist=True
        ),
        "InputFormat": check_enum(
            documents.get("InputFormat"),
            field=f"{RECOGNIZER_CONFIG}.Documents.InputFormat",
            allowed=(ner_formats.ONE_DOC_PER_LINE, ner_formats.ONE_DOC_PER_FILE),
            default=ner_formats.ONE_DOC_PER_LINE,
        ),
    }
    clean_section = {"Documents": clean_docs}
    which = "Annotations" if annotations else "EntityList"
    clean_section[which] = {
        "S3Uri": check_uri(
            account,
            (annotations or entity_list).get("S3Uri"),
            f"{RECOGNIZER_CONFIG}.{which}.S3Uri",
            must_exist=True,
        )
    }
    clean["EntityRecognizerInputDataConfig"] = clean_section
    return clean


def dataset_create(
    *,
    account,
    flywheel_arn,
    name,
    dataset_type=None,
    description=None,
    input_data_config,
    client_request_token=None,
    tags=None,
) -> Dataset:
    """CreateDataset: record the dataset CREATING and queue its ingest into the data lake."""
    flywheel = selectors.flywheel_for(account, flywheel_arn)
    name = check_name(name, field="DatasetName")
    dataset_type = check_enum(
        dataset_type, field="DatasetType", allowed=DatasetType.values, default=DatasetType.TRAIN
    )
    description = check_length(description, field="Description", max_length=2048) or ""
    pairs = check_tags(tags)
    token = check_client_token(client_request_token)
    if token:
        existing = (
            selectors.datasets(account)
            .filter(flywheel=flywheel, client_request_token=token)
            .first()
        )
        if existing is not None:
            if existing.name != name:
                raise validation_error(
                    "ClientRequestToken was already used for a different request.",
                    field="ClientRequestToken",
                )
            return existing
    if flywheel.status != FlywheelStatus.ACTIVE:
        raise in_use(
            f"The flywheel {flywheel.arn} is {flywheel.status}; datasets are added to an ACTIVE "
            "flywheel."
        )
    config = check_input(account, flywheel, input_data_config)
    if flywheel.datasets.filter(name=name).exists():
        raise _name_taken(flywheel, name)
    created = timezone.now()
    with transaction.atomic():
        job_id = background.new_job_id()
        try:
            with transaction.atomic():
                dataset = Dataset.objects.create(
                    account=account,
                    flywheel=flywheel,
                    name=name,
                    dataset_type=dataset_type,
                    description=description,
                    input_data_config=config,
                    status=DatasetStatus.CREATING,
                    dataset_s3_uri=datalake.dataset_uri(flywheel, name, created),
                    client_request_token=token or "",
                    created_at=created,
                    rq_job_id=job_id,
                    progress_step="Waiting for a worker",
                )
        except IntegrityError:
            raise _name_taken(flywheel, name) from None
        if pairs:
            tags_set(account=account, resource_arn=dataset.arn, tags=pairs)
        background.enqueue(
            "default", "flywheel_app.jobs.dataset_ingest_job", dataset.pk, job_id=job_id
        )
    return dataset


def _name_taken(flywheel: Flywheel, name: str):
    return in_use(
        f"The flywheel {flywheel.arn} already has a dataset named '{name}'.", field="DatasetName"
    )


def dataset_describe(*, account, arn: str) -> Dataset:
    return selectors.dataset_for(account, arn)


class _Originals:
    """Every object read for a dataset, kept (name, bytes) to be written beside the normalised
    form once the whole dataset has been read and found valid."""

    def __init__(self, account_id: str):
        self.account_id = account_id
        self.files: list[tuple[str, str, bytes]] = []  # (part, name, data)

    def read(self, uri: str, part: str) -> list[tuple[str, io.BytesIO]]:
        found = []
        with training_data.objects(self.account_id, uri, training_data.new_digest()) as streams:
            for name, stream in streams:
                data = stream.read()
                self.files.append((part, name, data))
                found.append((name, io.BytesIO(data)))
        return found


def _read_classifier(originals: _Originals, flywheel: Flywheel, config: dict):
    """(texts, labels) of a classifier dataset, read with the trainer's readers."""
    mode = flywheel.mode or "MULTI_CLASS"
    texts, labels = [], []
    if config["DataFormat"] == "AUGMENTED_MANIFEST":
        for i, item in enumerate(config["AugmentedManifests"], start=1):
            for name, stream in originals.read(item["S3Uri"], f"manifest-{i}"):
                data = formats.read_classifier_manifest(
                    stream,
                    mode=mode,
                    label_attribute_names=item["AttributeNames"],
                    source_name=name,
                )
                texts += data.texts
                labels += data.labels
        return texts, labels
    section = config["DocumentClassifierInputDataConfig"]
    for name, stream in originals.read(section["S3Uri"], "documents"):
        data = formats.read_classifier_csv(
            stream, mode=mode, delimiter=section.get("LabelDelimiter", "|"), source_name=name
        )
        texts += data.texts
        labels += data.labels
    return texts, labels


def _keep_classifier(texts, labels, fixed: set[str], mode: str):
    """Drop the labels the flywheel does not have (documents left with none go too)."""
    kept_texts, kept_labels, dropped = [], [], {}
    for text, label in zip(texts, labels, strict=True):
        if mode == "MULTI_LABEL":
            keep = [x for x in label if x in fixed]
            for x in label:
                if x not in fixed:
                    dropped[x] = dropped.get(x, 0) + 1
            if keep:
                kept_texts.append(text)
                kept_labels.append(keep)
        elif label in fixed:
            kept_texts.append(text)
            kept_labels.append(label)
        else:
            dropped[label] = dropped.get(label, 0) + 1
    return kept_texts, kept_labels, dropped


def _read_recognizer(originals: _Originals, flywheel: Flywheel, config: dict):
    """(text, spans) examples of a recognizer dataset, read with the trainer's readers; spans
    of any well-formed type are kept here (the flywheel's types are applied after)."""
    if config["DataFormat"] == "AUGMENTED_MANIFEST":
        examples = []
        for i, item in enumerate(config["AugmentedManifests"], start=1):
            for name, stream in originals.read(item["S3Uri"], f"manifest-{i}"):
                examples += ner_formats.read_augmented_manifest(
                    stream, name, item["AttributeNames"]
                )
        return examples, {}
    section = config["EntityRecognizerInputDataConfig"]
    input_format = section["Documents"].get("InputFormat", ner_formats.ONE_DOC_PER_LINE)
    documents = {}
    for name, stream in originals.read(section["Documents"]["S3Uri"], "documents"):
        # Names are made unique: two folders may hold files of one name.
        unique, n = name, 1
        while unique in documents:
            n += 1
            unique = f"{n}-{name}"
        documents[unique] = ner_formats.read_documents(stream, name)
    if "Annotations" in section:
        rows, sources = [], []
        for name, stream in originals.read(section["Annotations"]["S3Uri"], "annotations"):
            rows += ner_formats.read_annotations(stream, name)
            sources.append(name)
        examples = ner_formats.build_examples(
            documents, rows, mode=input_format, source_name=", ".join(sources)
        )
        return examples, {}
    fixed = set(flywheel.labels)
    pairs, dropped = [], {}
    for name, stream in originals.read(section["EntityList"]["S3Uri"], "entity-list"):
        for text, type_ in ner_formats.read_entity_list(stream, name):
            if fixed and type_ not in fixed:
                dropped[type_] = dropped.get(type_, 0) + 1
            else:
                pairs.append((text, type_))
    texts = []
    for name, lines in documents.items():
        if input_format == ner_formats.ONE_DOC_PER_FILE:
            texts.append(("\n".join(lines), name, None))
        else:
            texts += [(line, name, i) for i, line in enumerate(lines, start=1) if line.strip()]
    for text, name, line in texts:
        ner_formats.check_document_size(text, name, line)
    return ner_formats.annotate_with_entity_list([t for t, _, _ in texts], pairs), dropped


def _keep_recognizer(examples, fixed: set[str], dropped: dict):
    if not fixed:
        return examples, dropped
    kept = []
    for text, spans in examples:
        keep = []
        for span in spans:
            if span[2] in fixed or span[2] == ner_metrics.UNKNOWN:
                keep.append(span)
            else:
                dropped[span[2]] = dropped.get(span[2], 0) + 1
        kept.append((text, keep))
    return kept, dropped


def _dropped_message(dropped: dict, kind: str) -> str:
    if not dropped:
        return ""
    spec = kinds.get(kind)
    what = spec.labels_noun
    ranked = sorted(dropped.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{name} ({count:,})" for name, count in ranked[:SHOWN])
    if len(ranked) > SHOWN:
        listed += f" and {len(ranked) - SHOWN:,} more"
    total = sum(dropped.values())
    unit = spec.label_unit
    return (
        f"Ignored {total:,} {unit}{'s' if total != 1 else ''} of {what} the flywheel does not "
        f"have: {listed}."
    )


def _ingest_labels(originals, flywheel: Flywheel, input_data_config: dict, fixed: set):
    """(data, documents, dropped labels) of a classifier dataset."""
    texts, labels = _read_classifier(originals, flywheel, input_data_config)
    dropped = {}
    if fixed:
        texts, labels, dropped = _keep_classifier(texts, labels, fixed, flywheel.mode)
    return (texts, labels), len(texts), dropped


def _ingest_spans(originals, flywheel: Flywheel, input_data_config: dict, fixed: set):
    """(data, documents, dropped entity types) of a recognizer dataset."""
    examples, dropped = _read_recognizer(originals, flywheel, input_data_config)
    data, dropped = _keep_recognizer(examples, fixed, dropped)
    return data, len(data), dropped


def dataset_ingest(*, dataset_id: int) -> None:
    """Read and validate a dataset, write its originals and normalised form into the data lake."""
    with background.tracking(Dataset, dataset_id):
        dataset = (
            Dataset.objects.select_related(
                "account", "flywheel__account", "flywheel__active_version"
            )
            .filter(pk=dataset_id, status=DatasetStatus.CREATING)
            .first()
        )
        if dataset is None:
            return
        flywheel = dataset.flywheel
        account_id = dataset.account.account_id
        originals = _Originals(account_id)
        background.report_progress(Dataset, dataset.pk, 0.1, "Reading and validating the data")
        fixed = set(flywheel.labels)
        try:
            read = kind_ops.pick(flywheel.kind, labels=_ingest_labels, spans=_ingest_spans)
            data, count, dropped = read(originals, flywheel, dataset.input_data_config, fixed)
            if not count:
                raise DataError("the dataset holds no document with a label the flywheel has")
        except (DataError, ServiceError) as exc:
            reason = exc.user_message if isinstance(exc, DataError) else exc.message
            _transition(
                dataset.pk,
                DatasetStatus.FAILED,
                message=f"The dataset could not be ingested: {reason}",
                progress_step="Failed",
                end_time=timezone.now(),
            )
            return
        background.report_progress(Dataset, dataset.pk, 0.6, "Writing into the data lake")
        # Written whole into staging first, then copied into place: a dataset that fails while
        # writing leaves nothing outside staging/.
        staging = datalake.staging_uri(flywheel, dataset.name, dataset.created_at)
        for part, name, content in originals.files:
            datalake.write(account_id, staging.join(datalake.ORIGINAL, part, name), content)
        datalake.write_normalized(
            account_id,
            staging.join(datalake.NORMALIZED),
            flywheel.kind,
            data,
            mode=flywheel.mode,
        )
        target = storage.parse_uri(dataset.dataset_s3_uri, field="DatasetS3Uri")
        datalake.copy_tree(account_id, staging, target)
        datalake.write_pools(
            account_id, flywheel, dataset.name, dataset.created_at, data, mode=flywheel.mode
        )
        storage.delete_prefix(account_id, staging)
        _transition(
            dataset.pk,
            DatasetStatus.COMPLETED,
            number_of_documents=count,
            message=_dropped_message(dropped, flywheel.kind),
            progress=1.0,
            progress_step="Completed",
            end_time=timezone.now(),
        )


def dataset_fail_dead(pk: int, reason: str) -> None:
    """The reconciler's way out for a dataset whose ingest job died."""
    _transition(pk, DatasetStatus.FAILED, message=reason, end_time=timezone.now())
