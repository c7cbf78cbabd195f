"""Flywheel services called directly: the status tables, the access gates, the active-version
resolver endpoints and jobs use, and the reconciler's way out for dead creation and ingest jobs."""

import io

import pytest

from flywheel_app import selectors
from flywheel_app.models import (
    Dataset,
    DatasetStatus,
    Flywheel,
    FlywheelIteration,
    FlywheelStatus,
    IterationStatus,
)
from flywheel_app.services import datasets, flywheels
from models_app.models import CustomModel, ModelKind
from models_app.services.endpoints import flywheel_version_to_serve
from tests import factories
from tests.conftest import BAD_INPUTS, run_queued_jobs
from webapp.core import background, storage
from webapp.core.errors import ServiceError

# Written out rather than read from the code, so that a changed table fails here.
F, D, T = FlywheelStatus, DatasetStatus, IterationStatus
MOVES = {
    Flywheel: {F.ACTIVE: {F.CREATING}, F.FAILED: {F.CREATING}, F.DELETING: {F.ACTIVE, F.FAILED}},
    Dataset: {D.COMPLETED: {D.CREATING}, D.FAILED: {D.CREATING}},
    FlywheelIteration: {
        T.EVALUATING: {T.TRAINING, T.STOP_REQUESTED},
        T.COMPLETED: {T.EVALUATING},
        T.FAILED: {T.TRAINING, T.EVALUATING, T.STOP_REQUESTED},
        T.STOP_REQUESTED: {T.TRAINING},
        T.STOPPED: {T.STOP_REQUESTED},
    },
}
STATUSES = {Flywheel: F, Dataset: D, FlywheelIteration: T}


def role(user) -> str:
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def seeded_version(user, name="intents"):
    account_id = user.membership.account.account_id
    uri = storage.S3Uri("data", "train/ok.csv")
    storage.save_upload(
        account_id, uri, io.BytesIO((BAD_INPUTS / "classifier-ok-3-labels.csv").read_bytes())
    )
    return factories.version(
        user, name=name, input_data_config={"DataFormat": "COMPREHEND_CSV", "S3Uri": str(uri)}
    )


def new_flywheel(user, name="fw", **kw) -> Flywheel:
    if "active_model_arn" not in kw and "model_type" not in kw:
        kw["active_model_arn"] = seeded_version(user).arn
    return flywheels.flywheel_create(
        account=user.membership.account,
        name=name,
        data_access_role_arn=role(user),
        data_lake_s3_uri="s3://lake/fw",
        **kw,
    )


def test_every_status_change_follows_its_table(transactional_db, owner):
    fw = new_flywheel(owner)
    ds = Dataset.objects.create(account=fw.account, flywheel=fw, name="d")
    it = FlywheelIteration.objects.create(flywheel=fw, iteration_id="20240101T000000Z")
    rows = {Flywheel: fw, Dataset: ds, FlywheelIteration: it}
    for model, moves in MOVES.items():
        assert {to: set(frm) for to, frm in STATUSES[model].ALLOWED_FROM.items()} == moves
        row = rows[model]
        for to, allowed in moves.items():
            for status in STATUSES[model].values:
                model.objects.filter(pk=row.pk).update(status=status)
                moved = background.transition(model, row.pk, to=STATUSES[model](to))
                assert moved == (status in allowed), (model.__name__, status, to)


def test_the_gates_answer_another_accounts_flywheel_as_missing(transactional_db, owner, outsider):
    fw = new_flywheel(owner)
    ds = Dataset.objects.create(account=fw.account, flywheel=fw, name="d")
    account = owner.membership.account
    assert selectors.flywheel_for(account, fw.arn) == fw
    assert selectors.dataset_for(account, ds.arn) == ds
    assert selectors.flywheel_lookup(account, ds.arn, field="ResourceArn") == ds
    for gate, arn in (
        (selectors.flywheel_for, fw.arn),
        (selectors.dataset_for, ds.arn),
        (selectors.flywheel_lookup, fw.arn),
    ):
        with pytest.raises(ServiceError) as excinfo:
            gate(outsider.membership.account, arn, field="Arn")
        assert excinfo.value.code == "ResourceNotFoundException"
    # A dataset ARN is not a flywheel's, nor the other way round.
    for gate, arn in ((selectors.flywheel_for, ds.arn), (selectors.dataset_for, fw.arn)):
        with pytest.raises(ServiceError) as excinfo:
            gate(account, arn)
        assert excinfo.value.code == "ValidationException"


def test_endpoints_and_jobs_resolve_the_active_version(transactional_db, owner, outsider):
    fw = new_flywheel(owner)
    account = owner.membership.account
    assert flywheel_version_to_serve(account, fw.arn, field="FlywheelArn") == fw.active_version
    with pytest.raises(ServiceError) as excinfo:
        flywheel_version_to_serve(outsider.membership.account, fw.arn, field="FlywheelArn")
    assert excinfo.value.code == "ResourceNotFoundException"
    fresh = new_flywheel(
        owner,
        name="fresh",
        model_type="DOCUMENT_CLASSIFIER",
        task_config={"LanguageCode": "en", "DocumentClassificationConfig": {"Mode": "MULTI_CLASS"}},
    )
    assert flywheels.active_version_of(account, fresh.arn) is None
    assert CustomModel.objects.filter(name="fresh", kind=ModelKind.CLASSIFIER).exists()
    with pytest.raises(ServiceError):
        flywheel_version_to_serve(account, fresh.arn, field="FlywheelArn")


def test_the_reconciler_fails_dead_creation_and_ingest(transactional_db, owner):
    # Their jobs are in no queue (as after Redis was cleared): the reconciler fails both rows.
    fw = new_flywheel(owner)
    Flywheel.objects.filter(pk=fw.pk).update(rq_job_id=background.new_job_id())
    ds = Dataset.objects.create(
        account=fw.account, flywheel=fw, name="d", rq_job_id=background.new_job_id()
    )
    assert background.reconcile() == 2
    fw.refresh_from_db()
    ds.refresh_from_db()
    assert fw.status == FlywheelStatus.FAILED and "lost" in fw.message
    assert ds.status == DatasetStatus.FAILED and "lost" in ds.message


def test_jobs_leave_finished_rows_alone(transactional_db, owner):
    fw = new_flywheel(owner)
    Flywheel.objects.filter(pk=fw.pk).update(status=FlywheelStatus.FAILED, message="kept")
    run_queued_jobs()
    fw.refresh_from_db()
    assert (fw.status, fw.message) == (FlywheelStatus.FAILED, "kept")
    datasets.dataset_ingest(dataset_id=0)  # a dataset deleted while its job waited


def test_the_update_hook_runs_in_the_transaction_of_a_new_active_version(
    transactional_db, owner, monkeypatch
):
    fw = new_flywheel(owner)
    run_queued_jobs()
    seen = []
    monkeypatch.setattr(
        flywheels,
        "active_version_changed",
        lambda flywheel: seen.append((flywheel.active_version_id, flywheel.status)),
    )
    other = factories.version(owner, name="other", per_label_metrics=None)
    account = owner.membership.account
    flywheels.flywheel_update(account=account, arn=fw.arn, active_model_arn=other.arn)
    flywheels.flywheel_update(account=account, arn=fw.arn, active_model_arn=other.arn)
    assert seen == [(other.pk, FlywheelStatus.ACTIVE)]  # only when the version changes
