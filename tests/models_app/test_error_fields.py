"""Service errors name the request member they are about; each console form shows them on the
field that holds that member, through its own dictionary, and the API never shows the name."""

import json

import pytest
from django.urls import reverse

from models_app.form_common import error_field
from models_app.forms import (
    ClassifierCreateForm,
    EndpointCreateForm,
    EndpointUpdateForm,
    JobCreateForm,
    RecognizerCreateForm,
)
from models_app.models import AnalysisJob, Endpoint, EndpointStatus, ModelKind, ModelVersion
from tests import factories
from tests.models_app import test_recognizer_views as recognizer_pages
from tests.models_app import test_views as classifier_pages
from tests.models_app.pages import field_error, text
from tests.trained import role
from webapp.api import protocol
from webapp.core.errors import ServiceError, validation_error

# Longer than the 953 characters an output location may have (its output path must fit in 1,024),
# yet a well-formed URI that the forms' own checks accept.
LONG_OUTPUT = "s3://output/" + "a" * (1024 - len("s3://output/"))
FORMS = {
    "classifier": lambda: ClassifierCreateForm(account_id="111122223333"),
    "recognizer": lambda: RecognizerCreateForm(account_id="111122223333"),
    "endpoint": lambda: EndpointCreateForm(versions=[]),
    "endpoint update": lambda: EndpointUpdateForm(versions=[], kind=ModelKind.CLASSIFIER),
    "job": lambda: JobCreateForm(versions=[], account_id="111122223333"),
}


@pytest.mark.parametrize("name", FORMS)
def test_every_entry_of_a_forms_dictionary_is_a_field_of_that_form(name):
    form = FORMS[name]()
    assert form.API_FIELDS
    missing = {api: field for api, field in form.API_FIELDS.items() if field not in form.fields}
    assert not missing


def test_the_field_decides_not_the_words_of_the_message():
    form = FORMS["job"]()
    # The old search of the message text put this on the model (it says "model"), or nowhere.
    message = "The model s3://InputDataConfig/ is about OutputDataConfig."
    assert error_field(form, validation_error(message, field="JobName")) == "name"
    assert error_field(form, validation_error(message)) is None
    assert error_field(form, validation_error(message, field="VpcConfig")) is None


def test_the_api_answer_does_not_carry_the_field():
    with_field = ServiceError("ValidationException", "Bad.", 400, field="VersionName")
    plain = ServiceError("ValidationException", "Bad.", 400)
    assert with_field.http_status == 400 and with_field.field == "VersionName"
    answer = protocol.error_response(with_field)
    assert answer.content == protocol.error_response(plain).content
    assert json.loads(answer.content) == {"__type": "ValidationException", "message": "Bad."}


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"training_uri": "s3://data/missing.csv"}, "training_uri", "No objects found at"),
        (
            {"test_source": "GIVEN", "test_uri": "s3://data/missing-test.csv"},
            "test_uri",
            "(InputDataConfig.TestS3Uri)",
        ),
        ({"language_code": "ja"}, "language_code", "'ja' is not one of them"),
        ({"output_uri": LONG_OUTPUT}, "output_uri", "Use at most 953 characters."),
    ],
)
def test_classifier_service_errors_land_on_their_field(client, owner, overrides, field, message):
    classifier_pages.put(owner, "train.csv")
    client.force_login(owner)
    resp = client.post(
        reverse("models_app:classifier-create"), classifier_pages.form_data(**overrides)
    )
    assert resp.status_code == 200
    assert message in field_error(text(resp), field)
    assert not ModelVersion.objects.exists()


def test_a_taken_version_name_lands_on_the_version_name(client, owner):
    classifier_pages.put(owner, "train.csv")
    factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    resp = client.post(reverse("models_app:classifier-create"), classifier_pages.form_data())
    assert "already has version 'v1'" in field_error(text(resp), "version_name")


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"documents_uri": "s3://data/missing.txt"}, "documents_uri", "Documents.S3Uri"),
        ({"annotations_uri": "s3://data/missing.csv"}, "annotations_uri", "Annotations.S3Uri"),
        (
            {"training_type": "ENTITY_LIST", "entity_list_uri": "s3://data/missing.csv"},
            "entity_list_uri",
            "EntityList.S3Uri",
        ),
        (
            {
                "test_source": "GIVEN",
                "test_documents_uri": "s3://data/missing-docs.txt",
                "test_annotations_uri": "s3://data/ner/ann.csv",
            },
            "test_documents_uri",
            "Documents.TestS3Uri",
        ),
        (
            {
                "test_source": "GIVEN",
                "test_documents_uri": "s3://data/ner/docs/recognizer-docs.txt",
                "test_annotations_uri": "s3://data/missing.csv",
            },
            "test_annotations_uri",
            "Annotations.TestS3Uri",
        ),
        (
            {
                "data_format": "AUGMENTED_MANIFEST",
                "manifest_uri": "s3://data/missing.manifest",
                "attribute_name": "ner",
            },
            "manifest_uri",
            "AugmentedManifests.1.S3Uri",
        ),
        (
            {
                "data_format": "AUGMENTED_MANIFEST",
                "manifest_uri": "s3://data/ner/ann.csv",
                "attribute_name": "ner",
                "test_source": "GIVEN",
                "test_manifest_uri": "s3://data/missing.manifest",
            },
            "test_manifest_uri",
            "AugmentedManifests.2.S3Uri",
        ),
        ({"entity_types": ["PERSON", "person name"]}, "entity_types", "upper-case"),
    ],
)
def test_recognizer_service_errors_land_on_their_field(client, owner, overrides, field, message):
    recognizer_pages.put_training_data(owner)
    client.force_login(owner)
    resp = client.post(
        reverse("models_app:recognizer-create"), recognizer_pages.form_data(**overrides)
    )
    assert resp.status_code == 200
    assert message in field_error(text(resp), field)
    assert not ModelVersion.objects.exists()


def test_endpoint_service_errors_land_on_their_field(client, owner):
    version = factories.version(owner, name="intents", version_name="v1")
    Endpoint.objects.create(
        account=owner.membership.account,
        kind=ModelKind.CLASSIFIER,
        name="taken",
        status=EndpointStatus.UPDATING,
        version=version,
        desired_version=version,
        current_units=1,
    )
    client.force_login(owner)
    resp = client.post(
        reverse("inference:endpoint-create"),
        {"name": "taken", "model_arn": version.arn, "inference_units": 1},
    )
    assert "An endpoint named taken already exists." in field_error(text(resp), "name")
    # A busy endpoint refuses the update as a whole: no field of the form is the reason.
    resp = client.post(
        reverse("inference:endpoint-update", args=["taken"]),
        {"model_arn": version.arn, "inference_units": 2, "data_access_role_arn": ""},
    )
    body = text(resp)
    assert resp.status_code == 200 and "it can be updated when it is IN_SERVICE" in body
    assert not any(field_error(body, name) for name in EndpointUpdateForm.API_FIELDS.values())


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "bad#name"}, "name", "Use letters, digits, spaces and the characters"),
        ({"input_uri": "s3://data/nothing/"}, "input_uri", "No objects found"),
        ({"output_uri": LONG_OUTPUT}, "output_uri", "Use at most 953 characters."),
    ],
)
def test_job_service_errors_land_on_their_field(client, owner, overrides, field, message):
    version = factories.version(owner, name="intents", version_name="v1")
    classifier_pages.put(owner, "in/docs.txt", b"one document\nanother\n")
    client.force_login(owner)
    data = {
        "name": "",
        "kind": "classification",
        "model_arn": version.arn,
        "input_uri": "s3://data/in/docs.txt",
        "input_format": "ONE_DOC_PER_LINE",
        "output_uri": "s3://output/",
        "data_access_role_arn": role(owner),
        **overrides,
    }
    resp = client.post(reverse("inference:job-create"), data)
    assert resp.status_code == 200
    assert message in field_error(text(resp), field)
    assert not AnalysisJob.objects.exists()
