"""Flywheel iterations: start, the iteration job (pool, train, evaluate), stop, and failure.

One iteration is one job on the `training` queue. It gathers the flywheel's data from its data
lake into a test pool and a training set, writes both under `model-datasets/<new version>/`,
creates the new version (same model, parent = the active version) and trains it in the same
job, then scores the active and the new version on the same pool and records both.

The test pool holds the TEST datasets, the active version's test set and, when the iteration
brings no TEST data, a seeded share of the new TRAIN documents; a text in the pool never trains,
and a text given twice trains once.
"""

import io
import json
import logging
import random
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from flywheel_app import kind_ops, selectors
from flywheel_app.models import (
    Dataset,
    DatasetStatus,
    DatasetType,
    Flywheel,
    FlywheelIteration,
    FlywheelStatus,
    IterationStatus,
    time_id,
)
from flywheel_app.selectors.iterations import iteration_for
from flywheel_app.services import datalake, promotion
from flywheel_app.services.evaluation import Pool, evaluate, gold_json, prediction_json
from flywheel_app.services.flywheels import active_version_changed
from models_app import kinds
from models_app.ml import formats, ner_formats
from models_app.ml.errors import TrainingStopped
from models_app.models import ModelStatus, ModelVersion
from models_app.services import base_model_choice, versions
from models_app.services.version_status import version_fail_dead
from webapp.core import background, storage
from webapp.core.errors import ServiceError, in_use, invalid_request
from webapp.core.validation import check_client_token

log = logging.getLogger(__name__)

QUEUE = "training"
S = IterationStatus


class IterationFailed(Exception):
    """The iteration cannot go on; the message says why (the platform shows user_message)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.user_message = message


def _transition(pk: int, to: str, **fields) -> bool:
    return background.transition(FlywheelIteration, pk, to=to, **fields)


# Start.


def _last_completed(flywheel: Flywheel) -> FlywheelIteration | None:
    return flywheel.iterations.filter(status=S.COMPLETED).order_by("-created_at", "-id").first()


def _new_datasets(flywheel: Flywheel, since, until):
    """Datasets completed after `since` (the last completed iteration's start) and by `until`."""
    qs = flywheel.datasets.filter(status=DatasetStatus.COMPLETED, created_at__lte=until)
    if since is not None:
        qs = qs.filter(end_time__gt=since)
    return qs


def _free_id(flywheel: Flywheel, moment) -> tuple[str, object]:
    """An iteration id (UTC seconds) the flywheel has not used, and its moment."""
    taken = set(flywheel.iterations.values_list("iteration_id", flat=True))
    while time_id(moment) in taken:
        moment += timedelta(seconds=1)
    return time_id(moment), moment


def flywheel_iteration_start(
    *, account, flywheel_arn: str, client_request_token=None
) -> FlywheelIteration:
    """StartFlywheelIteration: record the iteration TRAINING and queue its job."""
    flywheel = selectors.flywheel_for(account, flywheel_arn)
    token = check_client_token(client_request_token)
    if token:
        # A retried request (botocore reuses the token) gets the iteration it already started.
        existing = flywheel.iterations.filter(client_request_token=token).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        flywheel = selectors.flywheels(account).select_for_update(of=("self",)).get(pk=flywheel.pk)
        if flywheel.status in (FlywheelStatus.CREATING, FlywheelStatus.DELETING):
            raise in_use(
                f"The flywheel {flywheel.arn} is {flywheel.status}; iterations run on an ACTIVE "
                "flywheel."
            )
        if flywheel.status != FlywheelStatus.ACTIVE:
            raise invalid_request(
                f"The flywheel {flywheel.arn} is {flywheel.status}; iterations run on an ACTIVE "
                "flywheel."
            )
        running = flywheel.iterations.filter(status__in=S.ACTIVE).first()
        if running is not None:
            raise in_use(
                f"The flywheel {flywheel.arn} already has an iteration running "
                f"({running.iteration_id}); start the next one when it ends."
            )
        creating = flywheel.datasets.filter(status=DatasetStatus.CREATING).first()
        if creating is not None:
            raise in_use(
                f"The flywheel {flywheel.arn} has a dataset being created ({creating.name}); "
                "start the iteration when it is COMPLETED."
            )
        now = timezone.now()
        last = _last_completed(flywheel)
        if not _new_datasets(flywheel, last.created_at if last else None, now).exists():
            since = f" since the last iteration ({last.iteration_id})" if last else ""
            raise invalid_request(
                f"The flywheel {flywheel.arn} has no new dataset{since}: add a TRAIN or TEST "
                "dataset and wait for it to be COMPLETED.",
                field="FlywheelArn",
            )
        if (
            flywheel.active_version_id is None
            and not flywheel.datasets.filter(
                status=DatasetStatus.COMPLETED, dataset_type=DatasetType.TRAIN
            ).exists()
        ):
            raise invalid_request(
                f"The flywheel {flywheel.arn} has no model version yet and no TRAIN dataset to "
                "train one with.",
                field="FlywheelArn",
            )
        iteration_id, created = _free_id(flywheel, now)
        job_id = background.new_job_id()
        iteration = FlywheelIteration.objects.create(
            flywheel=flywheel,
            iteration_id=iteration_id,
            status=S.TRAINING,
            evaluated_version=flywheel.active_version,
            client_request_token=token or "",
            created_at=created,
            rq_job_id=job_id,
            progress_step="Waiting for a worker",
        )
        background.enqueue(
            QUEUE, "flywheel_app.iteration_jobs.iteration_run_job", iteration.pk, job_id=job_id
        )
    return iteration


def iteration_describe(*, account, flywheel_arn: str, iteration_id) -> FlywheelIteration:
    return iteration_for(account, flywheel_arn, iteration_id)


# Stop (the console only: Comprehend has no API for it).


def iteration_stop(*, account, flywheel_arn: str, iteration_id) -> FlywheelIteration:
    """Stop an iteration that is training: its version's training stops, and it ends STOPPED."""
    iteration = iteration_for(account, flywheel_arn, iteration_id)
    if not _transition(iteration.pk, S.STOP_REQUESTED, progress_step="Stopping"):
        iteration.refresh_from_db()
        if iteration.status == S.STOP_REQUESTED:
            return iteration
        raise invalid_request(
            f"The iteration {iteration.iteration_id} is {iteration.status}; only an iteration "
            "that is training can be stopped."
        )
    iteration.refresh_from_db()
    if iteration.trained_version_id is not None:
        _stop_version(iteration.trained_version)
    elif background.cancel_waiting(iteration.rq_job_id):
        _finish_stopped(iteration.pk)
    iteration.refresh_from_db()
    return iteration


def _stop_version(version: ModelVersion) -> None:
    try:
        versions.version_stop(account=version.account, kind=version.model.kind, arn=version.arn)
    except ServiceError:
        pass  # it finished training meanwhile: the iteration evaluates it (the stop lost)


def _finish_stopped(pk: int, message: str = "The iteration was stopped.") -> bool:
    return _transition(
        pk, S.STOPPED, message=message, progress_step="Stopped", end_time=timezone.now()
    )


# Failure.


def iteration_fail_dead(pk: int, reason: str) -> None:
    """The way out of an iteration whose work died or failed: FAILED with the reason (STOPPED
    when a stop was asked for), and its version IN_ERROR unless it finished training."""
    row = FlywheelIteration.objects.filter(pk=pk).values("trained_version_id").first()
    if row is None:
        return
    if row["trained_version_id"] is not None:
        version_fail_dead(row["trained_version_id"], reason)
    if not _finish_stopped(pk):
        _transition(pk, S.FAILED, message=reason, progress_step="Failed", end_time=timezone.now())


# The job.


def _bytes(account_id: str, uri: storage.S3Uri) -> io.BytesIO:
    with storage.open_read(account_id, uri) as stream:
        return io.BytesIO(stream.read())


def _read_classifier(account_id: str, uri: storage.S3Uri, mode: str):
    data = formats.read_classifier_csv(
        _bytes(account_id, uri),
        mode=mode,
        delimiter=datalake.LABEL_DELIMITER,
        source_name=datalake.CLASSIFIER_FILE,
    )
    return list(zip(data.texts, data.labels, strict=True))


def _read_recognizer(account_id: str, files: dict):
    lines = ner_formats.read_documents(
        _bytes(account_id, files["documents"]), datalake.DOCUMENTS_FILE
    )
    rows = ner_formats.read_annotations(
        _bytes(account_id, files["annotations"]), datalake.ANNOTATIONS_FILE
    )
    return ner_formats.build_examples(
        {datalake.DOCUMENTS_FILE: lines},
        rows,
        mode=ner_formats.ONE_DOC_PER_LINE,
        source_name=datalake.ANNOTATIONS_FILE,
        max_document_bytes=None,
    )


def _read(flywheel: Flywheel, folder: str) -> list[tuple]:
    """(text, gold) pairs of a normalised folder of the data lake (a dataset, training/, test/);
    [] when it holds nothing."""
    account_id = flywheel.account.account_id
    files = datalake.normalized_files(folder, flywheel.kind)
    if not all(storage.exists(account_id, uri) for uri in files.values()):
        return []
    return kind_ops.pick(
        flywheel.kind,
        labels=lambda: _read_classifier(
            account_id, files["documents"], flywheel.mode or "MULTI_CLASS"
        ),
        spans=lambda: _read_recognizer(account_id, files),
    )()


def _version_data(flywheel: Flywheel, version: ModelVersion | None):
    """(training, test) pairs the active version has in the data lake, copying them in first
    when the version came from elsewhere (UpdateFlywheel may name any fitting version)."""
    if version is None:
        return [], []
    base = datalake.model_dataset_uri(flywheel, version)
    account_id = flywheel.account.account_id
    if not storage.exists(account_id, base.join("training")):
        try:
            datalake.datalake_seed(flywheel=flywheel, version=version)
        except datalake.SeedFailed as exc:
            raise IterationFailed(exc.user_message) from None
    return _read(flywheel, str(base.join("training"))), _read(flywheel, str(base.join("test")))


def _holdout(kind: str, mode: str, pairs: list[tuple]) -> set[int]:
    """Positions of the seeded share of new TRAIN documents that joins the test pool."""
    if len(pairs) < 2:
        return set()
    holdout = kind_ops.pick(kind, labels=_holdout_labels, spans=_holdout_spans)
    return holdout(kinds.get(kind), mode, pairs)


def _holdout_labels(spec: kinds.Kind, mode: str, pairs: list[tuple]) -> set[int]:
    _train, test = formats.autosplit_indices(
        [gold for _text, gold in pairs],
        mode=mode or "MULTI_CLASS",
        seed=spec.seed,
        fraction=spec.autosplit_fraction,
        most=spec.autosplit_max,
    )
    return set(test)


def _holdout_spans(spec: kinds.Kind, mode: str, pairs: list[tuple]) -> set[int]:
    n_test = min(spec.autosplit_max, max(1, round(len(pairs) * spec.autosplit_fraction)))
    return set(random.Random(spec.seed).sample(range(len(pairs)), n_test))


def build_data(flywheel: Flywheel, iteration: FlywheelIteration, active: ModelVersion | None):
    """(training pairs, test Pool) of an iteration, by the pool rules in the module's doc."""
    datasets = list(
        flywheel.datasets.filter(
            status=DatasetStatus.COMPLETED, created_at__lte=iteration.created_at
        ).order_by("created_at", "id")
    )
    last = _last_completed(flywheel)
    new_ids = {
        d.pk for d in datasets if last is None or (d.end_time and d.end_time > last.created_at)
    }
    active_train, active_test = _version_data(flywheel, active)

    pool, seen = Pool(), set()

    def add(pairs, source):
        for text, gold in pairs:
            if text not in seen:
                seen.add(text)
                pool.texts.append(text)
                pool.gold.append(gold)
                pool.sources.append(source)

    train_sets: list[tuple[Dataset, list]] = []
    for dataset in datasets:
        pairs = _read(flywheel, dataset.dataset_s3_uri)
        if dataset.dataset_type == DatasetType.TEST:
            add(pairs, f"dataset {dataset.name}")
        else:
            train_sets.append((dataset, pairs))
    if active is not None:
        add(active_test, f"test set of {active.arn}")
    brings_test = any(d.dataset_type == DatasetType.TEST and d.pk in new_ids for d in datasets)
    if not brings_test:
        # Only documents no version trained on are fair to both: the active version's own
        # training documents stay out of the share held out.
        known = {text for text, _ in active_train}
        for dataset, pairs in train_sets:
            if dataset.pk not in new_ids:
                continue
            fresh = [p for p in pairs if p[0] not in known and p[0] not in seen]
            chosen = _holdout(flywheel.kind, flywheel.mode, fresh)
            add([p for i, p in enumerate(fresh) if i in chosen], f"held out of {dataset.name}")

    training, trained_texts = [], set()
    for pairs in [active_train] + [pairs for _dataset, pairs in train_sets]:
        for text, gold in pairs:
            if text not in seen and text not in trained_texts:
                trained_texts.add(text)
                training.append((text, gold))
    return training, pool


def _normalized(kind: str, pairs):
    return kind_ops.pick(
        kind,
        labels=lambda: ([t for t, _ in pairs], [g for _, g in pairs]),
        spans=lambda: list(pairs),
    )()


def _input_config(flywheel: Flywheel, base: storage.S3Uri, active: ModelVersion | None) -> dict:
    train = datalake.normalized_files(str(base.join("training")), flywheel.kind)
    test = datalake.normalized_files(str(base.join("test")), flywheel.kind)
    config = kind_ops.pick(flywheel.kind, labels=_labels_input, spans=_spans_input)
    return config(flywheel, train, test, active)


def _labels_input(flywheel: Flywheel, train: dict, test: dict, active) -> dict:
    config = {
        "DataFormat": "COMPREHEND_CSV",
        "S3Uri": str(train["documents"]),
        "TestS3Uri": str(test["documents"]),
    }
    if (flywheel.mode or "MULTI_CLASS") == "MULTI_LABEL":
        config["LabelDelimiter"] = datalake.LABEL_DELIMITER
    return config


def _spans_input(flywheel: Flywheel, train: dict, test: dict, active) -> dict:
    types = flywheel.labels or [
        t["Type"]
        for t in ((active.input_data_config if active else {}) or {}).get("EntityTypes", [])
    ]
    return {
        "DataFormat": "COMPREHEND_CSV",
        "EntityTypes": [{"Type": t} for t in types],
        "Documents": {
            "S3Uri": str(train["documents"]),
            "TestS3Uri": str(test["documents"]),
            "InputFormat": ner_formats.ONE_DOC_PER_LINE,
        },
        "Annotations": {"S3Uri": str(train["annotations"]), "TestS3Uri": str(test["annotations"])},
    }


def _version_name(flywheel: Flywheel, iteration: FlywheelIteration) -> str:
    """Comprehend-Generated-v<n>-<8 hex>, n counting the flywheel's iterations."""
    number = flywheel.iterations.filter(created_at__lte=iteration.created_at).count()
    return f"Comprehend-Generated-v{number}-{uuid.uuid4().hex[:8]}"


def _spec(flywheel: Flywheel, active, model, version_name: str, base) -> versions.VersionSpec:
    security = flywheel.data_security_config or {}
    model_key = security.get("ModelKmsKeyId") or (active.model_kms_key_id if active else "")
    volume_key = security.get("VolumeKmsKeyId") or (active.volume_kms_key_id if active else "")
    keys = versions.check_keys(
        flywheel.account, model_kms_key_id=model_key or None, volume_kms_key_id=volume_key or None
    )
    return versions.VersionSpec(
        kind=flywheel.kind,
        model_name=model.name,
        version_name=version_name,
        language_code=flywheel.language_code or (active.language_code if active else "en"),
        data_access_role_arn=flywheel.data_access_role_arn,
        input_data_config=_input_config(flywheel, base, active),
        mode=(flywheel.mode or "MULTI_CLASS") if kinds.get(flywheel.kind).takes_mode else "",
        parent=active,
        flywheel_arn=flywheel.arn,
        # Each iteration trains with the base model its flywheel (or active version) asked for.
        tags=base_model_choice.inherited_tags(
            flywheel.account, flywheel.arn, active.arn if active else None
        ),
        **keys,
    )


def _write_stats(flywheel, iteration, pool: Pool, scored: list, prefix: storage.S3Uri) -> None:
    account_id = flywheel.account.account_id
    sources: dict[str, int] = {}
    for source in pool.sources:
        sources[source] = sources.get(source, 0) + 1
    summary = {
        "FlywheelArn": flywheel.arn,
        "FlywheelIterationId": iteration.iteration_id,
        "NumberOfTestDocuments": len(pool),
        "TestDocumentSources": sources,
        "Models": [
            {
                "Role": role,
                "ModelArn": s.version.arn,
                "Metrics": s.averages,
                "EvaluationMetrics": {k: v for k, v in s.details.items() if k != "per_label"},
                "PerLabelMetrics": s.details.get("per_label"),
            }
            for role, s in scored
        ],
    }
    datalake.write(
        account_id,
        prefix.join("metrics.json"),
        json.dumps(summary, indent=1, default=str).encode(),
    )
    out = io.StringIO()
    for i, text in enumerate(pool.texts):
        row = {
            "Document": i,
            "Source": pool.sources[i],
            "Text": text,
            "Gold": gold_json(flywheel.kind, pool.gold[i]),
        }
        for role, s in scored:
            row[f"{role}Prediction"] = prediction_json(flywheel.kind, s.predicted[i])
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    datalake.write(account_id, prefix.join("predictions.jsonl"), out.getvalue().encode())


def _report(pk: int, fraction: float, step: str) -> None:
    background.report_progress(FlywheelIteration, pk, fraction, step)


def _stop_requested(pk: int) -> bool:
    return FlywheelIteration.objects.filter(pk=pk, status=S.STOP_REQUESTED).exists()


def iteration_run(*, iteration_id: int) -> None:
    """The whole iteration: pool and training data, train the new version, score both."""
    with background.tracking(FlywheelIteration, iteration_id):
        iteration = (
            FlywheelIteration.objects.select_related("flywheel__account", "flywheel__model")
            .filter(pk=iteration_id, status__in=(S.TRAINING, S.STOP_REQUESTED))
            .first()
        )
        if iteration is None:
            return  # finished by someone else
        if iteration.status == S.STOP_REQUESTED:
            _finish_stopped(iteration.pk)
            return
        flywheel = iteration.flywheel
        active = iteration.evaluated_version
        if active is not None:
            active = ModelVersion.objects.select_related("model", "account").get(pk=active.pk)
        model = active.model if active is not None else flywheel.model
        if model is None:
            raise IterationFailed(
                f"The model of the flywheel {flywheel.arn} no longer exists; make a version "
                "active with UpdateFlywheel first."
            )

        _report(iteration.pk, 0.02, "Building the training data and the test pool")
        training, pool = build_data(flywheel, iteration, active)
        if not training:
            raise IterationFailed(
                "No document is left to train on: every text of the flywheel's data is in the "
                "test pool."
            )
        if not pool:
            raise IterationFailed(
                "The test pool is empty: add a TEST dataset, or TRAIN documents the active "
                "version has not trained on."
            )
        if _stop_requested(iteration.pk):
            _finish_stopped(iteration.pk)
            return

        # The version's data goes into the lake before its row exists, so its folder is named
        # from the model and the version name alone.
        version_name = _version_name(flywheel, iteration)
        base = datalake.model_dataset_uri(
            flywheel, ModelVersion(model=model, version_name=version_name)
        )
        spec = _spec(flywheel, active, model, version_name, base)
        _report(
            iteration.pk,
            0.05,
            f"Writing {len(training):,} training and {len(pool):,} test documents",
        )
        account_id = flywheel.account.account_id
        datalake.write_normalized(
            account_id,
            base.join("training"),
            flywheel.kind,
            _normalized(flywheel.kind, training),
            mode=spec.mode,
        )
        datalake.write_normalized(
            account_id,
            base.join("test"),
            flywheel.kind,
            _normalized(flywheel.kind, list(zip(pool.texts, pool.gold, strict=True))),
            mode=spec.mode,
        )
        with transaction.atomic():
            version = versions.version_create(
                account=flywheel.account, spec=spec, job_id=iteration.rq_job_id
            )
            FlywheelIteration.objects.filter(pk=iteration.pk).update(trained_version=version)
        if _stop_requested(iteration.pk):
            _stop_version(version)

        _report(iteration.pk, 0.1, f"Training {spec.version_name}")
        try:
            versions.version_train(version_id=version.pk, trainer=kinds.get(flywheel.kind).train)
        except TrainingStopped:
            pass  # the version is STOPPED; the iteration follows below
        except Exception as exc:  # the version is IN_ERROR with the reason; so is the iteration
            raise IterationFailed(
                f"The new version {version.arn} did not train: {background.failure_reason(exc)}"
            ) from exc
        version = ModelVersion.objects.select_related("model", "account").get(pk=version.pk)
        if version.status == ModelStatus.STOPPED:
            _transition(iteration.pk, S.STOP_REQUESTED)
            _finish_stopped(iteration.pk, "The iteration was stopped while its version trained.")
            return
        if version.status not in ModelStatus.USABLE:
            raise IterationFailed(
                f"The new version {version.arn} did not train ({version.status}): "
                f"{version.message or 'no reason was recorded'}"
            )

        if not _transition(iteration.pk, S.EVALUATING, progress=0.8, progress_step="Evaluating"):
            return  # failed by the reconciler meanwhile
        _report(iteration.pk, 0.8, f"Scoring both versions on {len(pool):,} test documents")
        scored = []
        if active is not None:
            scored.append(("Evaluated", evaluate(active, pool, mode=spec.mode)))
        scored.append(("Trained", evaluate(version, pool, mode=spec.mode)))
        prefix = base.join("model-stats")
        _write_stats(flywheel, iteration, pool, scored, prefix)
        results = dict(scored)

        with transaction.atomic():
            done = _transition(
                iteration.pk,
                S.COMPLETED,
                evaluated_metrics=results["Evaluated"].averages if active is not None else None,
                trained_metrics=results["Trained"].averages,
                evaluation_manifest_s3_prefix=str(prefix) + "/",
                message="",
                progress=1.0,
                progress_step="Completed",
                end_time=timezone.now(),
            )
            if done and active is None:
                _activate_first(flywheel.pk, version)
            elif done:
                reason = promotion.iteration_promote(
                    flywheel_id=flywheel.pk,
                    evaluated=results["Evaluated"],
                    trained=results["Trained"],
                )
                if reason:
                    FlywheelIteration.objects.filter(pk=iteration.pk).update(message=reason)


def _activate_first(flywheel_id: int, version: ModelVersion) -> None:
    """A flywheel with no active version (a new model's) takes its first trained one."""
    changed = Flywheel.objects.filter(pk=flywheel_id, active_version__isnull=True).update(
        active_version=version, model=version.model, updated_at=timezone.now()
    )
    if changed:
        active_version_changed(Flywheel.objects.select_related("account").get(pk=flywheel_id))


# Versions a flywheel keeps.


def version_flywheel_check(version: ModelVersion) -> None:
    """Refuse deleting a version a flywheel serves or one of its iterations names."""
    flywheel = Flywheel.objects.filter(active_version=version).select_related("account").first()
    if flywheel is not None:
        raise in_use(
            f"The model {version.arn} is the active version of the flywheel {flywheel.arn}; "
            "make another version active (UpdateFlywheel) or delete the flywheel first."
        )
    iteration = (
        FlywheelIteration.objects.filter(Q(trained_version=version) | Q(evaluated_version=version))
        .select_related("flywheel__account")
        .first()
    )
    if iteration is not None:
        raise in_use(
            f"The model {version.arn} is recorded by the iteration {iteration.iteration_id} of "
            f"the flywheel {iteration.flywheel.arn}; delete the flywheel first."
        )
