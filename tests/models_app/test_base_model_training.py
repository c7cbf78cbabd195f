"""Training with a base model: which one a run uses (tag, settings), what a version records and
says, and what happens when the base model breaks between the create call and training.

Every test installs the suite's tiny BERT (tests/base_model_factory.py) into a folder of its own
and looks at no installed package, so nothing here depends on what the machine has installed.
"""

import pytest

from models_app.models import ModelStatus, ModelVersion
from models_app.services import base_model_choice, classifiers, recognizers
from tests.base_model_factory import build_base_model
from tests.conftest import BAD_INPUTS, run_queued_jobs
from tests.trained import TYPES, role
from webapp.core.errors import ServiceError

TAG = base_model_choice.TAG
# Training is enqueued when the create call's transaction commits.
pytestmark = pytest.mark.usefixtures("transactional_db")


def _classifier(user, store, *, tags=None, name="intents"):
    uri = store(user, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    return classifiers.classifier_create(
        account=user.membership.account,
        name=name,
        input_data_config={"S3Uri": uri},
        data_access_role_arn=role(user),
        tags=tags,
    )


def _recognizer(user, store, *, tags=None, name="people"):
    docs = store(user, "ner/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(user, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    return recognizers.recognizer_create(
        account=user.membership.account,
        name=name,
        input_data_config={
            "EntityTypes": TYPES,
            "Documents": {"S3Uri": docs},
            "Annotations": {"S3Uri": ann},
        },
        data_access_role_arn=role(user),
        tags=tags,
    )


def _trained(version) -> ModelVersion:
    run_queued_jobs()
    version = ModelVersion.objects.get(pk=version.pk)
    assert version.status in ModelStatus.USABLE, version.message
    return version


def tag(value):
    return [{"Key": TAG, "Value": value}]


# Which base model a run uses.


def test_the_tag_the_setting_and_the_default_choose(base_models, settings):
    build_base_model(base_models / "another-bert", seed=1)
    assert base_model_choice.choose([]).name == "another-bert"  # the first usable, by name
    assert base_model_choice.choose([(TAG, "tiny-bert")]) == base_model_choice.Choice(
        name="tiny-bert", source="tag"
    )
    none = base_model_choice.choose([(TAG, "none")])
    assert none.name is None and none.reason == f"No base model: the tag {TAG} asks for none."
    settings.BASE_MODEL = "tiny-bert"
    assert base_model_choice.choose([]).name == "tiny-bert"
    settings.BASE_MODELS_ENABLED = False
    off = base_model_choice.choose([(TAG, "tiny-bert")])
    assert off.name is None and "turned off" in off.reason


def test_without_a_usable_base_model_nothing_is_chosen_or_said(tmp_path, settings):
    settings.BASE_MODELS_DIR = tmp_path / "absent"
    settings.BASE_MODEL_PACKAGES = []
    for tags in ([], [(TAG, "none")]):
        assert base_model_choice.choose(tags) == base_model_choice.Choice()
    # A half-copied model is installed but not usable: still nothing.
    half = build_base_model(tmp_path / "absent" / "half")
    (half / "model.safetensors").write_bytes((half / "model.safetensors").read_bytes()[:5000])
    assert base_model_choice.choose([]) == base_model_choice.Choice()


def test_a_tag_training_cannot_honour_is_refused_at_the_create_call(
    base_models, owner, store, settings
):
    half = build_base_model(base_models / "half-copied")
    (half / "model.safetensors").write_bytes((half / "model.safetensors").read_bytes()[:5000])
    for create in (_classifier, _recognizer):
        for value in ("bert-large", "half-copied"):
            with pytest.raises(ServiceError) as excinfo:
                create(owner, store, tags=tag(value))
            error = excinfo.value
            assert error.code == "ValidationException" and error.field == "Tags"
            assert error.message == (
                f"The tag {TAG}={value} cannot be honoured: no usable base model named "
                f"'{value}' is installed. Installed base models: tiny-bert. "
                "Give one of them, or none."
            )
            assert str(base_models) not in error.message
    settings.BASE_MODELS_ENABLED = False
    with pytest.raises(ServiceError) as excinfo:
        _classifier(owner, store, tags=tag("tiny-bert"))
    assert "base models are turned off on this server" in excinfo.value.message
    assert not ModelVersion.objects.exists()
    # "none" is always accepted, as is any other tag.
    _classifier(owner, store, tags=tag("none") + [{"Key": "team", "Value": "x"}])


def test_without_torch_a_named_base_model_is_refused(base_models, monkeypatch):
    from models_app.ml import encoder

    monkeypatch.setattr(encoder, "available", lambda: False)  # as without the base-models extra
    with pytest.raises(ServiceError) as excinfo:
        base_model_choice.check_tags([(TAG, "tiny-bert")])
    assert "torch is not installed" in excinfo.value.message
    base_model_choice.check_tags([(TAG, "none")])
    assert base_model_choice.choose([(TAG, "tiny-bert")]) == base_model_choice.Choice()


def test_a_flywheel_iteration_inherits_the_base_model_tag(owner):
    from webapp.accounts.services.tags import tags_set

    account = owner.membership.account
    flywheel_arn = f"arn:aws:comprehend:us-east-1:{account.account_id}:flywheel/wheel"
    version_arn = f"arn:aws:comprehend:us-east-1:{account.account_id}:document-classifier/x"
    assert base_model_choice.inherited_tags(account, flywheel_arn, version_arn) == []
    tags_set(account=account, resource_arn=version_arn, tags=[(TAG, "tiny-bert"), ("a", "b")])
    assert base_model_choice.inherited_tags(account, flywheel_arn, version_arn) == [
        (TAG, "tiny-bert")
    ]
    tags_set(account=account, resource_arn=flywheel_arn, tags=[(TAG, "none")])
    assert base_model_choice.inherited_tags(account, flywheel_arn, version_arn) == [(TAG, "none")]


# What training records and says.


def test_no_base_model_installed_trains_as_before(owner, store, tmp_path, settings):
    settings.BASE_MODELS_DIR = tmp_path / "absent"
    settings.BASE_MODEL_PACKAGES = []
    settings.CLASSIFIER_TIME_BUDGET_SECONDS = 10
    version = _trained(_classifier(owner, store))
    assert version.status == ModelStatus.TRAINED and version.message == ""
    assert "base_model" not in version.training_parameters


def test_the_tag_none_and_the_setting_off_are_recorded_but_not_in_the_message(
    base_models, owner, store, settings
):
    version = _trained(_classifier(owner, store, tags=tag("none")))
    assert version.status == ModelStatus.TRAINED and version.message == ""
    assert version.training_parameters["base_model"] == {
        "name": None,
        "used": False,
        "reason": f"No base model: the tag {TAG} asks for none.",
        "warning": None,
    }
    settings.BASE_MODELS_ENABLED = False
    version = _trained(_recognizer(owner, store))
    assert version.status == ModelStatus.TRAINED and version.message == ""
    assert version.training_parameters["base_model"]["reason"] == (
        "No base model: base models are turned off on this server."
    )


@pytest.mark.parametrize("create", [_classifier, _recognizer], ids=["classifier", "recognizer"])
def test_a_base_model_broken_after_the_create_call_is_left_out_with_a_warning(
    base_models, owner, store, create
):
    version = create(owner, store, tags=tag("tiny-bert"))
    weights = base_models / "tiny-bert" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])  # a copy that stopped half way

    version = _trained(version)

    assert version.status == ModelStatus.TRAINED_WITH_WARNING
    assert version.message.startswith("Base model 'tiny-bert': model.safetensors is truncated")
    assert "It was not used (the tag textwheel:base-model asks for it)" in version.message
    assert str(base_models) not in version.message
    entry = version.training_parameters["base_model"]
    assert entry["name"] == "tiny-bert" and entry["used"] is False
    assert entry["reason"].startswith("Not used: Base model 'tiny-bert': model.safetensors")


def test_a_base_model_gone_after_the_create_call_is_named_with_its_folder(
    base_models, owner, store, settings
):
    import shutil

    settings.BASE_MODEL = "tiny-bert"
    version = _classifier(owner, store)
    shutil.rmtree(base_models / "tiny-bert")
    version = _trained(version)
    assert version.status == ModelStatus.TRAINED_WITH_WARNING
    assert version.message == (
        "Base model 'tiny-bert': is not installed. It was not used (the server's BASE_MODEL "
        "setting names it); the model trained without it."
    )


def test_the_default_base_model_is_only_a_usable_one(base_models, owner, store):
    # No tag and no BASE_MODEL: with the only installed model broken, training is as before.
    weights = base_models / "tiny-bert" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    version = _trained(_classifier(owner, store))
    assert version.status == ModelStatus.TRAINED and version.message == ""
    assert "base_model" not in version.training_parameters


@pytest.mark.parametrize("create", [_classifier, _recognizer], ids=["classifier", "recognizer"])
def test_a_version_trained_with_a_base_model_records_and_says_it(base_models, owner, store, create):
    version = _trained(create(owner, store, tags=tag("tiny-bert")))

    entry = version.training_parameters["base_model"]
    assert entry["name"] == "tiny-bert"
    assert isinstance(entry["used"], bool) and entry["reason"]
    assert entry["sha256"] == base_model_choice.base_model_named("tiny-bert").sha256
    if entry.get("warning"):
        assert version.status == ModelStatus.TRAINED_WITH_WARNING
        assert entry["warning"] in version.message
    else:
        # Only information: the version stays TRAINED and its message says what was chosen.
        assert version.status == ModelStatus.TRAINED
        assert entry["reason"] in version.message and "tiny-bert" in version.message
    assert str(base_models) not in version.message


def test_a_web_process_keeps_torch_to_its_share_of_the_cores(
    base_models, owner, store, settings, monkeypatch
):
    import functools

    import torch

    from models_app.ml import classifier, encoder
    from models_app.services import serving

    # The tiny BERT helps no real data: the blend with its embeddings is forced, so the served
    # model loads an encoder (which sets torch to every core).
    monkeypatch.setattr(classifier, "fit", functools.partial(classifier.fit, embedding_share=0.5))
    version = _trained(_classifier(owner, store, tags=tag("tiny-bert")))
    assert version.training_parameters["base_model"]["used"] is True
    before = torch.get_num_threads()
    try:
        settings.SERVING_TORCH_THREADS = 0  # the default: the cores shared among the processes
        assert serving.torch_threads_for_web(workers=encoder.threads() * 2) == 1
        serving.clear()
        served = serving.get(version)
        assert torch.get_num_threads() == 1
        assert served.classify(["set an alarm for seven"])[0]
        settings.SERVING_TORCH_THREADS = 3
        assert serving.torch_threads_for_web(workers=1) == 3
        assert torch.get_num_threads() == 3
    finally:
        encoder.limit_threads(None)
        torch.set_num_threads(before)
        serving.clear()


def test_a_worker_job_runs_torch_on_the_threads_its_setting_gives(settings):
    import os

    import torch

    from models_app import jobs
    from models_app.ml import encoder

    before = torch.get_num_threads()
    try:
        settings.WORKER_TORCH_THREADS = 3
        jobs.analysis_task_job(task_id=0)  # no such task: the job only takes its threads
        assert encoder.threads() == 3 and torch.get_num_threads() == 3
        settings.WORKER_TORCH_THREADS = 0  # the default: every core the worker may use
        jobs.analysis_task_job(task_id=0)
        assert encoder.threads() == len(os.sched_getaffinity(0)) == torch.get_num_threads()
    finally:
        encoder.limit_threads(None)
        torch.set_num_threads(before)


def test_a_flywheel_iteration_trains_with_its_flywheels_base_model_tag(base_models, owner):
    from flywheel_app.models import FlywheelIteration
    from flywheel_app.services import flywheels, iterations
    from tests.flywheel_app.test_iterations import LABELS, LAKE, add_dataset, csv_rows

    account = owner.membership.account
    create = dict(
        account=account,
        name="wheel",
        data_access_role_arn=role(owner),
        data_lake_s3_uri=LAKE,
        model_type="DOCUMENT_CLASSIFIER",
        task_config={
            "LanguageCode": "en",
            "DocumentClassificationConfig": {"Mode": "MULTI_CLASS"},
        },
    )
    with pytest.raises(ServiceError) as excinfo:
        flywheels.flywheel_create(**create, tags=tag("bert-large"))
    assert excinfo.value.code == "ValidationException" and "bert-large" in excinfo.value.message

    flywheel = flywheels.flywheel_create(**create, tags=tag("none"))
    run_queued_jobs()
    add_dataset(owner, flywheel, "first", csv_rows(LABELS, "three-intents.csv"))
    run_queued_jobs()
    iteration = iterations.flywheel_iteration_start(account=account, flywheel_arn=flywheel.arn)
    run_queued_jobs()
    version = FlywheelIteration.objects.get(pk=iteration.pk).trained_version
    assert version is not None and version.status in ModelStatus.USABLE, version.message
    assert base_model_choice.tags_of(account, version.arn) == [(TAG, "none")]
    assert version.training_parameters["base_model"]["reason"] == (
        f"No base model: the tag {TAG} asks for none."
    )
