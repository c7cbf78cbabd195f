"""Training an entity recognizer version: read, validate, fit, evaluate, store, record."""

import random

from django.conf import settings

from models_app import kinds
from models_app.ml import ner_artifacts, ner_formats, ner_metrics, recognizer
from models_app.ml.errors import DataError
from models_app.models import ModelVersion
from models_app.services import base_model_choice, training_data, versions
from models_app.services.artifacts import artifact_write

# What the autosplit holds out, and the seed, are the kind's (models_app/kinds.py).
AUTOSPLIT_FRACTION = kinds.RECOGNIZER.autosplit_fraction
AUTOSPLIT_MAX = kinds.RECOGNIZER.autosplit_max
SEED = kinds.RECOGNIZER.seed


def _documents(account_id, uri, digest) -> dict[str, list[str]]:
    documents = {}
    with training_data.objects(account_id, uri, digest) as streams:
        for name, stream in streams:
            documents[name] = ner_formats.read_documents(stream, name)
    return documents


def _annotations(account_id, uri, digest) -> tuple[list, str]:
    rows, names = [], []
    with training_data.objects(account_id, uri, digest) as streams:
        for name, stream in streams:
            rows.extend(ner_formats.read_annotations(stream, name))
            names.append(name)
    return rows, ", ".join(names)


def _texts(documents: dict[str, list[str]], input_format: str) -> list[tuple[str, str, int]]:
    """(text, file, line) of every document, as the input format splits them."""
    out = []
    for name, lines in documents.items():
        if input_format == ner_formats.ONE_DOC_PER_FILE:
            out.append(("\n".join(lines), name, 1))
        else:
            out.extend((line, name, i) for i, line in enumerate(lines, start=1) if line.strip())
    return out


def read_examples(version: ModelVersion, digest):
    """(training examples, given test examples or None) as the InputDataConfig says."""
    account_id = version.account.account_id
    config = version.input_data_config
    types = [t["Type"] for t in config["EntityTypes"]]
    if config.get("DataFormat") == "AUGMENTED_MANIFEST":
        found = {}
        for item in config["AugmentedManifests"]:
            examples = []
            with training_data.objects(account_id, item["S3Uri"], digest) as streams:
                for name, stream in streams:
                    examples += ner_formats.read_augmented_manifest(
                        stream, name, item["AttributeNames"]
                    )
            found[item.get("Split", "TRAIN")] = examples
        return found["TRAIN"], found.get("TEST")

    documents_config = config["Documents"]
    input_format = documents_config.get("InputFormat", ner_formats.ONE_DOC_PER_LINE)
    documents = _documents(account_id, documents_config["S3Uri"], digest)
    if "Annotations" in config:
        rows, source = _annotations(account_id, config["Annotations"]["S3Uri"], digest)
        train = ner_formats.build_examples(
            documents, rows, mode=input_format, source_name=source, entity_types=types
        )
        test = None
        if config["Annotations"].get("TestS3Uri"):
            test_docs = _documents(account_id, documents_config["TestS3Uri"], digest)
            test_rows, test_source = _annotations(
                account_id, config["Annotations"]["TestS3Uri"], digest
            )
            test = ner_formats.build_examples(
                test_docs,
                test_rows,
                mode=input_format,
                source_name=test_source,
                entity_types=types,
                max_document_bytes=None,
            )
        return train, test

    pairs = []
    with training_data.objects(account_id, config["EntityList"]["S3Uri"], digest) as streams:
        for name, stream in streams:
            for text, type_ in ner_formats.read_entity_list(stream, name):
                if type_ not in types:
                    raise DataError(
                        f"the entity list uses the type {type_}, which is not among the "
                        f"recognizer's entity types ({', '.join(types)})",
                        file=name,
                    )
                pairs.append((text, type_))
    texts = _texts(documents, input_format)
    for text, name, line in texts:
        ner_formats.check_document_size(text, name, line)
    return ner_formats.annotate_with_entity_list([t for t, _, _ in texts], pairs), None


def autosplit(examples):
    """Hold out 10% of the documents (at most 10,000) as the test set, seeded."""
    n_test = min(AUTOSPLIT_MAX, max(1, round(len(examples) * AUTOSPLIT_FRACTION)))
    chosen = set(random.Random(SEED).sample(range(len(examples)), n_test))
    train = [e for i, e in enumerate(examples) if i not in chosen]
    test = [e for i, e in enumerate(examples) if i in chosen]
    return train, test


def train(version: ModelVersion) -> None:
    """The whole training run of one recognizer version (called inside the tracked job)."""
    report = versions.progress_reporter(version.pk)
    should_stop = versions.StopPoller(version.pk)
    report(0.01, "Reading documents and annotations")
    digest = training_data.new_digest()
    train_examples, test_examples = read_examples(version, digest)
    types = [t["Type"] for t in version.input_data_config["EntityTypes"]]
    report(0.05, f"Validating {len(train_examples):,} documents")
    ner_formats.check_training_examples(train_examples, types)
    test_source = "GIVEN"
    if test_examples is None:
        train_examples, test_examples = autosplit(train_examples)
        test_source = "AUTOSPLIT"
    train_mentions = ner_metrics.count_mentions(spans for _, spans in train_examples)

    # Asked for at the create call (tag) or by the operator; a base model broken since then is
    # left out with a warning rather than failing the training.
    base_model, base_record = base_model_choice.resolve(base_model_choice.choose_for(version))
    model = recognizer.fit(
        [t for t, _ in train_examples],
        [s for _, s in train_examples],
        entity_types=types,
        language=version.language_code,
        seed=SEED,
        time_budget_s=settings.RECOGNIZER_TIME_BUDGET_SECONDS,
        safety_factor=settings.TRAINING_SAFETY_FACTOR,
        safety_min_s=settings.TRAINING_SAFETY_MIN_SECONDS,
        progress=versions.progress_reporter(version.pk, 0.08, 0.9),
        should_stop=should_stop,
        **({"base_model": base_model} if base_model is not None else {}),
    )
    # The work budget decides the epochs; only the safety time limit depends on the machine.
    warnings = [note] if (note := recognizer.safety_note(model.params)) else []
    parameters = dict(model.params)
    if base_record is not None:
        parameters["base_model"] = base_record
    base_warnings, base_notes = base_model_choice.outcome(parameters)
    warnings += base_warnings
    report(0.91, f"Evaluating on {len(test_examples):,} test documents")
    predicted = model.entities([t for t, _ in test_examples])
    result = ner_metrics.evaluate(
        [s for _, s in test_examples],
        predicted,
        entity_types=types,
        train_mentions=train_mentions,
    )
    per_type = [
        {
            "type": row["Type"],
            "precision": row["EvaluationMetrics"]["Precision"],
            "recall": row["EvaluationMetrics"]["Recall"],
            "f1": row["EvaluationMetrics"]["F1Score"],
            "train_mentions": row.get("NumberOfTrainMentions", 0),
        }
        for row in result["EntityTypes"]
    ]
    scores = {k: result[k] for k in ("Precision", "Recall", "F1Score")}
    report(0.96, "Saving the model")
    data_sha256 = digest.hexdigest()
    with versions.storing_model():
        artifact_uri, sha256 = artifact_write(
            version,
            lambda directory: ner_artifacts.save_recognizer(
                model,
                directory,
                scores=scores,
                extra={
                    "arn": version.arn,
                    "data_sha256": data_sha256,
                    "test_source": test_source,
                    "per_type": per_type,
                },
            ),
        )
    versions.finish_trained(
        version,
        warnings=warnings,
        notes=base_notes,
        metrics=scores,
        per_label_metrics=per_type,
        evaluation={"entity_types": result["EntityTypes"]},
        number_of_labels=len(types),
        number_of_trained_documents=len(train_examples),
        number_of_test_documents=len(test_examples),
        training_parameters=parameters,
        test_source=test_source,
        artifact_uri=artifact_uri,
        artifact_sha256=sha256,
        data_sha256=data_sha256,
    )
