"""Base models through boto3: the tag textwheel:base-model on the create calls, what Describe
says of the base model, and model copy of a version trained with one.

The suite's tiny BERT is installed into a folder of the test's own; no installed package is looked
at, so nothing here depends on what the machine has installed.
"""

import functools
import shutil

import pytest
from botocore.exceptions import ClientError

from models_app.ml import classifier, recognizer
from models_app.models import ModelVersion
from models_app.services import base_model_choice, serving
from tests import trained
from tests.api.test_model_copy import account_id, endpoint, import_and_copy, share, utterances
from tests.conftest import BAD_INPUTS, run_queued_jobs
from tests.trained import role

pytestmark = pytest.mark.usefixtures("transactional_db")
TAG = base_model_choice.TAG


def _tag(value) -> dict:
    return {"Tags": [{"Key": TAG, "Value": value}]} if value is not None else {}


def create_classifier(client, user, store, *, value=None, name="intents"):
    return trained.create_classifier(client, user, store, name, **_tag(value))


def create_recognizer(client, user, store, *, value=None, name="people"):
    return trained.create_recognizer(client, user, store, name, **_tag(value))


def describe(client, arn: str) -> dict:
    if ":entity-recognizer/" in arn:
        return client.describe_entity_recognizer(EntityRecognizerArn=arn)[
            "EntityRecognizerProperties"
        ]
    return client.describe_document_classifier(DocumentClassifierArn=arn)[
        "DocumentClassifierProperties"
    ]


def test_a_tag_naming_a_model_that_is_not_installed_is_refused(api, owner, store, base_models):
    client = api(owner)
    for create in (create_classifier, create_recognizer):
        with pytest.raises(ClientError) as excinfo:
            create(client, owner, store, value="bert-base-cased")
        error = excinfo.value.response["Error"]
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Code"] == "ValidationException"
        assert error["Message"] == (
            f"The tag {TAG}=bert-base-cased cannot be honoured: no usable base model named "
            "'bert-base-cased' is installed. Installed base models: tiny-bert. "
            "Give one of them, or none."
        )
    assert client.list_document_classifiers()["DocumentClassifierPropertiesList"] == []
    # The tags of an accepted call pass through unchanged.
    arn = create_classifier(client, owner, store, value="none")
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": TAG, "Value": "none"}]


def test_the_tag_none_trains_without_a_base_model_and_says_nothing(api, owner, store, base_models):
    client = api(owner)
    arn = create_classifier(client, owner, store, value="none")
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "TRAINED" and "Message" not in props


def test_describe_names_the_folder_and_file_of_a_base_model_broken_before_training(
    api, owner, store, base_models
):
    client = api(owner)
    arn = create_recognizer(client, owner, store, value="tiny-bert")
    weights = base_models / "tiny-bert" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "TRAINED_WITH_WARNING"
    assert props["Message"].startswith(
        "Base model 'tiny-bert': model.safetensors is truncated (its header"
    )
    assert "the model trained without it" in props["Message"]
    assert str(base_models) not in props["Message"]


@pytest.mark.parametrize("create", [create_classifier, create_recognizer])
def test_describe_says_which_base_model_was_considered(api, owner, store, base_models, create):
    client = api(owner)
    arn = create(client, owner, store, value="tiny-bert")
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] in ("TRAINED", "TRAINED_WITH_WARNING"), props.get("Message")
    assert "tiny-bert" in props["Message"]
    if props["Status"] == "TRAINED":  # information only: what was chosen and why
        assert props["Message"].startswith(("Used tiny-bert", "Base model tiny-bert"))


def test_a_recognizer_trained_with_a_base_model_copies_and_answers_the_same(
    api, owner, outsider, store, base_models, monkeypatch
):
    # The tiny BERT rarely earns a place in the ensemble on validation, so its share is fixed
    # (the trainer's switch for tests): the copy then carries and serves the tagger too.
    monkeypatch.setattr(
        recognizer, "fit", functools.partial(recognizer.fit, transformer_weight=0.5)
    )
    a, b = api(owner), api(outsider)
    source = create_recognizer(a, owner, store, value="tiny-bert")
    run_queued_jobs()
    assert describe(a, source)["Status"] in ("TRAINED", "TRAINED_WITH_WARNING")
    version = ModelVersion.objects.get(model__name="people", account__account_id=account_id(owner))
    assert version.training_parameters["base_model"]["used"] is True
    assert version.training_parameters["transformer_weight"] == 0.5
    share(a, source, f"arn:aws:iam::{account_id(outsider)}:root")
    copy = import_and_copy(b, source, ModelName="borrowed", DataAccessRoleArn=role(outsider))
    assert describe(b, copy)["Status"] == "TRAINED", describe(b, copy).get("Message")

    a_ep, b_ep = endpoint(a, source, "a-people"), endpoint(b, copy, "b-people")
    lines = (BAD_INPUTS / "recognizer-docs.txt").read_text("utf-8").splitlines()
    texts = [line for line in lines if line.strip()][:40]
    answers_a = [a.detect_entities(Text=t, EndpointArn=a_ep)["Entities"] for t in texts]
    answers_b = [b.detect_entities(Text=t, EndpointArn=b_ep)["Entities"] for t in texts]
    assert answers_a == answers_b
    # Loaded again from its own files (a new process) with the base model gone from the machine,
    # the copy still answers the same: it carries what it needs of the base model.
    shutil.rmtree(base_models)
    serving.clear()
    assert [b.detect_entities(Text=t, EndpointArn=b_ep)["Entities"] for t in texts] == answers_a


def test_a_classifier_trained_with_a_base_model_copies_and_answers_the_same(
    api, owner, outsider, store, base_models, monkeypatch
):
    # The suite's tiny BERT helps no real data, so the blend with its embeddings is forced (the
    # trainer's switch for tests): the copy then carries and serves the transformer's part too.
    monkeypatch.setattr(classifier, "fit", functools.partial(classifier.fit, embedding_share=0.5))
    a, b = api(owner), api(outsider)
    source = create_classifier(a, owner, store, value="tiny-bert")
    run_queued_jobs()
    assert describe(a, source)["Status"] in ("TRAINED", "TRAINED_WITH_WARNING")
    version = ModelVersion.objects.get(model__name="intents", account__account_id=account_id(owner))
    assert version.training_parameters["base_model"]["used"] is True
    assert describe(a, source)["Message"].startswith("Used tiny-bert")
    share(a, source, account_id(outsider))
    copy = import_and_copy(b, source)
    assert describe(b, copy)["Status"] == "TRAINED", describe(b, copy).get("Message")
    # The copy's page says which base model it holds, and why, as the source's does.
    copied = ModelVersion.objects.get(source_version=version)
    assert copied.training_parameters == {"base_model": version.training_parameters["base_model"]}

    a_ep, b_ep = endpoint(a, source, "a-intents"), endpoint(b, copy, "b-intents")
    texts = utterances(40)
    answers_a = [a.classify_document(Text=t, EndpointArn=a_ep)["Classes"] for t in texts]
    answers_b = [b.classify_document(Text=t, EndpointArn=b_ep)["Classes"] for t in texts]
    assert answers_a == answers_b and all(answers_a)
    shutil.rmtree(base_models)  # the copy carries what it needs of the base model
    serving.clear()
    assert [b.classify_document(Text=t, EndpointArn=b_ep)["Classes"] for t in texts] == answers_a
