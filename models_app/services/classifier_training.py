"""Training a classifier version: read, validate, fit, evaluate, store, record."""

import json
import uuid

import numpy as np
from django.conf import settings

from models_app import kinds
from models_app.ml import artifacts, classifier, formats, metrics
from models_app.ml.formats import autosplit_indices
from models_app.models import ModelVersion
from models_app.services import base_model_choice, training_data, versions
from models_app.services.artifacts import artifact_write
from webapp.core import storage

# What the autosplit holds out, and the seed, are the kind's (models_app/kinds.py).
AUTOSPLIT_FRACTION = kinds.CLASSIFIER.autosplit_fraction
AUTOSPLIT_MAX = kinds.CLASSIFIER.autosplit_max
SEED = kinds.CLASSIFIER.seed


def _read_csv(account_id, uri, *, mode, delimiter, digest):
    parts = []
    with training_data.objects(account_id, uri, digest) as streams:
        for name, stream in streams:
            parts.append(
                formats.read_classifier_csv(
                    stream, mode=mode, delimiter=delimiter, source_name=name
                )
            )
    return _merge(parts)


def _read_manifest(account_id, item, *, mode, digest):
    parts = []
    with training_data.objects(account_id, item["S3Uri"], digest) as streams:
        for name, stream in streams:
            parts.append(
                formats.read_classifier_manifest(
                    stream,
                    mode=mode,
                    label_attribute_names=item["AttributeNames"],
                    source_name=name,
                )
            )
    return _merge(parts)


def _merge(parts):
    if len(parts) == 1:
        return parts[0]
    merged = parts[0]
    for part in parts[1:]:
        merged.texts.extend(part.texts)
        merged.labels.extend(part.labels)
        merged.lines.extend(part.lines)
        merged.warnings.extend(part.warnings)
    return merged


def read_data(version: ModelVersion, digest):
    """(training data, given test data or None) as the version's InputDataConfig says."""
    account_id = version.account.account_id
    config = version.input_data_config
    delimiter = config.get("LabelDelimiter", "|")
    if config.get("DataFormat", "COMPREHEND_CSV") == "COMPREHEND_CSV":
        train = _read_csv(
            account_id, config["S3Uri"], mode=version.mode, delimiter=delimiter, digest=digest
        )
        test = None
        if config.get("TestS3Uri"):
            test = _read_csv(
                account_id,
                config["TestS3Uri"],
                mode=version.mode,
                delimiter=delimiter,
                digest=digest,
            )
        return train, test
    by_split = {m.get("Split", "TRAIN"): m for m in config["AugmentedManifests"]}
    train = _read_manifest(account_id, by_split["TRAIN"], mode=version.mode, digest=digest)
    test = None
    if "TEST" in by_split:
        test = _read_manifest(account_id, by_split["TEST"], mode=version.mode, digest=digest)
    return train, test


def autosplit(texts, labels, *, mode: str):
    """Hold out 10% (at most 10,000) as the test set, stratified by label for multi-class."""
    train_idx, test_idx = autosplit_indices(
        labels, mode=mode, seed=SEED, fraction=AUTOSPLIT_FRACTION, most=AUTOSPLIT_MAX
    )
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    return (
        (pick(texts, train_idx), pick(labels, train_idx)),
        (pick(texts, test_idx), pick(labels, test_idx)),
    )


def train(version: ModelVersion) -> None:
    """The whole training run of one classifier version (called inside the tracked job)."""
    report = versions.progress_reporter(version.pk)
    should_stop = versions.StopPoller(version.pk)
    report(0.01, "Reading training data")
    digest = training_data.new_digest()
    train_data, test_data = read_data(version, digest)
    report(0.05, f"Validating {len(train_data.texts):,} documents")
    warnings = list(train_data.warnings)
    warnings += formats.validate_classifier_training(train_data, mode=version.mode, test=test_data)
    if test_data is not None:
        warnings += [w for w in test_data.warnings if w not in warnings]
    if should_stop():
        raise_stopped()

    if test_data is None:
        (train_texts, train_labels), (test_texts, test_labels) = autosplit(
            train_data.texts, train_data.labels, mode=version.mode
        )
        test_source = "AUTOSPLIT"
    else:
        train_texts, train_labels = train_data.texts, train_data.labels
        test_texts, test_labels = test_data.texts, test_data.labels
        test_source = "GIVEN"
    del train_data, test_data

    # Asked for at the create call (tag) or by the operator; a base model broken since then is
    # left out with a warning rather than failing the training.
    base_model, base_record = base_model_choice.resolve(base_model_choice.choose_for(version))
    model = classifier.fit(
        train_texts,
        train_labels,
        mode=version.mode,
        seed=SEED,
        time_budget_s=settings.CLASSIFIER_TIME_BUDGET_SECONDS,
        safety_factor=settings.TRAINING_SAFETY_FACTOR,
        safety_min_s=settings.TRAINING_SAFETY_MIN_SECONDS,
        progress=versions.progress_reporter(version.pk, 0.08, 0.85),
        should_stop=should_stop,
        **({"base_model": base_model} if base_model is not None else {}),
    )
    # The work budget decides the model; only the safety time limit depends on the machine.
    if note := classifier.safety_note(model.params):
        warnings.append(note)
    parameters = dict(model.params)
    if base_record is not None:
        parameters["base_model"] = base_record
    base_warnings, base_notes = base_model_choice.outcome(parameters)
    warnings += base_warnings
    report(0.86, f"Evaluating on {len(test_texts):,} test documents")
    scores = model.predict_scores(test_texts)
    predicted = model.predict(test_texts)
    labels = list(model.labels)
    result = metrics.classification_metrics(
        test_labels, predicted, mode=version.mode, labels=labels
    )
    per_label = result.pop("per_label")
    confusion = metrics.confusion_matrix_json(
        test_labels, predicted, mode=version.mode, labels=labels
    )
    curves = metrics.precision_recall_curves(test_labels, scores, labels=labels, mode=version.mode)
    # What the version page lists behind each cell of the confusion matrix.
    documents = metrics.evaluation_documents(
        test_texts, test_labels, predicted, scores, mode=version.mode
    )
    if should_stop():
        raise_stopped()

    report(0.93, "Saving the model")
    result.update(
        NumberOfLabels=len(labels),
        NumberOfTrainedDocuments=len(train_texts),
        NumberOfTestDocuments=len(test_texts),
    )
    data_sha256 = digest.hexdigest()
    with versions.storing_model():
        artifact_uri, sha256 = artifact_write(
            version,
            lambda directory: artifacts.save_classifier(
                model,
                directory,
                metadata={
                    "arn": version.arn,
                    "mode": version.mode,
                    "language_code": version.language_code,
                    "data_sha256": data_sha256,
                    "test_source": test_source,
                    "parameters": classifier.without_timings(model.params),
                    "metrics": result,
                },
            ),
        )

    output_uri = ""
    if version.output_data_config.get("S3Uri"):
        report(0.97, "Writing output.tar.gz")
        output_id = uuid.uuid4().hex
        base = storage.parse_uri(version.output_data_config["S3Uri"], field="OutputDataConfig")
        target = base.join(
            f"{version.account.account_id}-CLR-{output_id}", "output", "output.tar.gz"
        )
        training_data.write_tar_gz(
            version.account.account_id,
            target,
            {
                "confusion_matrix.json": json.dumps(confusion, indent=1).encode(),
            },
        )
        output_uri = str(target)

    versions.finish_trained(
        version,
        warnings=warnings,
        notes=base_notes,
        metrics=_plain(result),
        per_label_metrics=_plain(per_label),
        evaluation=_plain(
            {"confusion_matrix": confusion, "pr_curves": curves, "test_documents": documents}
        ),
        number_of_labels=len(labels),
        number_of_trained_documents=len(train_texts),
        number_of_test_documents=len(test_texts),
        training_parameters=_plain(parameters),
        test_source=test_source,
        artifact_uri=artifact_uri,
        artifact_sha256=sha256,
        data_sha256=data_sha256,
        output_uri=output_uri,
    )


def _plain(value):
    """numpy scalars and tuples inside results, turned into what JSON columns can hold."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def raise_stopped():
    from models_app.ml.errors import TrainingStopped

    raise TrainingStopped()
