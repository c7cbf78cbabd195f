"""The registry of model kinds says, for each stored ModelKind, everything that differs."""

from django.utils.module_loading import import_string

from models_app import kinds
from models_app.models import (
    ARN_TYPES,
    ENDPOINT_ARN_TYPES,
    JOB_ARN_TYPES,
    JOB_MODEL_KINDS,
    ModelKind,
)
from models_app.services import classifier_training, recognizer_training


def test_every_stored_kind_has_one_entry_that_agrees_with_the_stored_arn_types():
    assert set(kinds.KINDS) == set(ModelKind.values)
    for value, spec in kinds.KINDS.items():
        assert spec.kind == value
        assert spec.arn_type == ARN_TYPES[value]
        assert spec.endpoint_arn_type == ENDPOINT_ARN_TYPES[value]
        assert JOB_MODEL_KINDS[spec.job_kind] == value
        assert spec.job_arn_type == JOB_ARN_TYPES[spec.job_kind]
        assert kinds.of_arn_type(spec.arn_type) is spec
        assert kinds.of_endpoint_arn_type(spec.endpoint_arn_type) is spec
        assert kinds.of_job(spec.job_kind) is spec


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
