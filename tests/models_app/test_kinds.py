"""The registry of model kinds says, for each stored ModelKind, everything that differs."""

import re
from pathlib import Path

from django.urls import reverse
from django.utils.module_loading import import_string

from flywheel_app import kind_ops
from flywheel_app.models import ModelType
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


def test_the_registry_says_what_flywheels_call_each_kind():
    assert {spec.flywheel_model_type for spec in kinds.KINDS.values()} == set(ModelType.values)
    for spec in kinds.KINDS.values():
        assert kinds.of_flywheel_model_type(spec.flywheel_model_type) is spec
        assert spec.data_shape in kind_ops.SHAPES
        assert spec.title == ModelKind(spec.kind).label
        assert reverse(spec.version_page, args=["m", 1])
    assert (kinds.CLASSIFIER.labels_noun, kinds.RECOGNIZER.labels_noun) == (
        "labels",
        "entity types",
    )
    assert (kinds.CLASSIFIER.takes_mode, kinds.RECOGNIZER.takes_mode) == (True, False)
    assert kind_ops.pick(ModelKind.RECOGNIZER, labels="l", spans="s") == "s"


# A comparison with a kind's value, or a condition naming one: a decision taken on the kind.
KIND_VALUE = r"(ModelKind\.(CLASSIFIER|RECOGNIZER)|JobKind\.(CLASSIFICATION|ENTITIES))"
BRANCH = re.compile(rf"[=!]=\s*{KIND_VALUE}|{KIND_VALUE}\s*[=!]=|\b(if|elif|while)\b.*{KIND_VALUE}")


def test_only_the_registry_decides_on_the_kind():
    root = Path(kinds.__file__).resolve().parent.parent
    found = []
    for app in ("models_app", "flywheel_app", "webapp"):
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts or path == Path(kinds.__file__).resolve():
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if BRANCH.search(line):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not found, "branches on the kind outside models_app/kinds.py:\n" + "\n".join(found)
