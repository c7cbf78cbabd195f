"""The registry of model kinds says, for each stored ModelKind, everything that differs."""

from django.utils.module_loading import import_string

from models_app import kinds
from models_app.models import AnalysisJob, CustomModel, Endpoint, ModelKind
from models_app.services import classifier_training, recognizer_training
from webapp.accounts.models import Account
from webapp.core import arns


def test_every_stored_kind_has_one_entry_and_its_rows_are_named_by_it():
    assert set(kinds.KINDS) == set(ModelKind.values)
    assert {spec.job_kind for spec in kinds.KINDS.values()} == set(kinds.JobKind.values)
    for value, spec in kinds.KINDS.items():
        assert spec.kind == value
        assert kinds.of_arn_type(spec.arn_type) is spec
        assert kinds.of_endpoint_arn_type(spec.endpoint_arn_type) is spec
        assert kinds.of_job(spec.job_kind) is spec
        assert kinds.of_job_arn_type(spec.job_arn_type) is spec
        # The stored rows build their ARNs from the registry, and the ARN grammar knows them.
        account = Account(account_id="123456789012")
        assert CustomModel(account=account, kind=value, name="m").arn.endswith(
            f":123456789012:{spec.arn_type}/m"
        )
        assert Endpoint(account=account, kind=value, name="e").arn.endswith(
            f":123456789012:{spec.endpoint_arn_type}/e"
        )
        assert AnalysisJob(account=account, kind=spec.job_kind, job_id="j").arn.endswith(
            f":123456789012:{spec.job_arn_type}/j"
        )
        assert arns.RESOURCE_TYPES[spec.arn_type] == spec.noun
        version = arns.build(spec.arn_type, "123456789012", "m", version="1")
        assert arns.parse(version, field="Arn").version == "1"
        assert kinds.of_arn(version) is spec
    assert kinds.of_arn("not an arn") is None


def test_the_registry_names_the_trainers_and_loaders_and_the_trainers_split_by_it():
    assert import_string(kinds.CLASSIFIER.trainer) is classifier_training.train
    assert import_string(kinds.RECOGNIZER.trainer) is recognizer_training.train
    for spec in kinds.KINDS.values():
        assert callable(import_string(spec.loader))
    for module, spec in (
        (classifier_training, kinds.CLASSIFIER),
        (recognizer_training, kinds.RECOGNIZER),
    ):
        assert (module.AUTOSPLIT_FRACTION, module.AUTOSPLIT_MAX, module.SEED) == (
            spec.autosplit_fraction,
            spec.autosplit_max,
            spec.seed,
        )
