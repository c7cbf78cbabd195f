"""The endpoint services, called directly: create, update, delete and deploy."""

import pytest

from models_app.models import Endpoint, EndpointStatus, ModelKind, ModelStatus
from models_app.services import endpoints
from tests import factories
from tests.conftest import run_queued_jobs
from tests.trained import trained
from webapp.accounts.models import Tag
from webapp.core.errors import ServiceError
from webapp.core.models import OutboxEntry


def _create(user, version, **overrides):
    arguments = {
        "account": user.membership.account,
        "name": "support",
        "model_arn": version.arn,
        "desired_units": 1,
    }
    arguments.update(overrides)
    return endpoints.endpoint_create(**arguments)


def test_create_records_a_creating_endpoint_with_its_deploy_job(db, owner):
    version = factories.version(owner)
    endpoint = _create(owner, version, tags=[{"Key": "stage", "Value": "prod"}])
    assert endpoint.status == EndpointStatus.CREATING
    assert endpoint.desired_version == version and endpoint.version is None
    assert OutboxEntry.objects.filter(job_id=endpoint.rq_job_id).exists()  # pushed on commit
    assert Tag.objects.filter(resource_arn=endpoint.arn, key="stage").exists()


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"name": "not valid!"}, "ValidationException"),
        ({"desired_units": 0}, "ValidationException"),
        ({"flywheel_arn": "arn:aws:comprehend:us-east-1:123456789012:flywheel/f"}, None),
    ],
)
def test_bad_requests_create_nothing(db, owner, overrides, code):
    version = factories.version(owner)
    with pytest.raises(ServiceError) as excinfo:
        _create(owner, version, **overrides)
    if code:
        assert excinfo.value.code == code
    else:  # both a model and a flywheel
        assert excinfo.value.code == "InvalidRequestException"
    assert not Endpoint.objects.exists() and not OutboxEntry.objects.exists()


def test_a_version_that_is_not_trained_cannot_be_served(db, owner):
    version = factories.version(owner, status=ModelStatus.TRAINING)
    with pytest.raises(ServiceError) as excinfo:
        _create(owner, version)
    assert excinfo.value.code == "ResourceUnavailableException"


def test_a_taken_name_is_in_use(db, owner):
    version = factories.version(owner)
    _create(owner, version)
    with pytest.raises(ServiceError) as excinfo:
        _create(owner, version)
    assert excinfo.value.code == "ResourceInUseException"
    assert Endpoint.objects.count() == 1


def test_another_accounts_version_and_endpoint_are_not_found(db, owner, outsider):
    version = factories.version(owner)
    with pytest.raises(ServiceError) as excinfo:
        _create(outsider, version)
    assert excinfo.value.code == "ResourceNotFoundException"
    endpoint = _create(owner, version)
    for call in (
        lambda: endpoints.endpoint_describe(account=outsider.membership.account, arn=endpoint.arn),
        lambda: endpoints.endpoint_delete(account=outsider.membership.account, arn=endpoint.arn),
    ):
        with pytest.raises(ServiceError) as excinfo:
            call()
        assert excinfo.value.code == "ResourceNotFoundException"
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_update_waits_for_in_service_and_keeps_to_one_kind(db, owner):
    version = factories.version(owner)
    endpoint = _create(owner, version)
    account = owner.membership.account
    with pytest.raises(ServiceError) as excinfo:
        endpoints.endpoint_update(account=account, arn=endpoint.arn, desired_units=2)
    assert excinfo.value.code == "ResourceInUseException"
    Endpoint.objects.filter(pk=endpoint.pk).update(
        status=EndpointStatus.IN_SERVICE, version=version
    )
    recognizer = factories.version(owner, name="people", kind=ModelKind.RECOGNIZER)
    with pytest.raises(ServiceError) as excinfo:
        endpoints.endpoint_update(
            account=account, arn=endpoint.arn, desired_model_arn=recognizer.arn
        )
    assert excinfo.value.code == "InvalidRequestException"
    updated = endpoints.endpoint_update(account=account, arn=endpoint.arn, desired_units=2)
    assert updated.status == EndpointStatus.UPDATING
    assert updated.desired_units == 2 and updated.version == version


def test_delete_takes_the_endpoint_and_its_tags(db, owner):
    endpoint = _create(owner, factories.version(owner), tags=[{"Key": "k", "Value": "v"}])
    endpoints.endpoint_delete(account=owner.membership.account, arn=endpoint.arn)
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert not Tag.objects.filter(resource_arn=endpoint.arn).exists()


def test_deploy_loads_the_model_and_the_endpoint_answers(transactional_db, api, owner, store):
    version = trained(
        ModelKind.CLASSIFIER, api(owner), owner, store, name="intents", version_name="v1"
    )
    endpoint = _create(owner, version)
    run_queued_jobs()
    endpoint.refresh_from_db()
    assert endpoint.status == EndpointStatus.IN_SERVICE, endpoint.message
    assert endpoint.version == version
    answer = endpoints.classify_document(
        account=owner.membership.account, endpoint_arn=endpoint.arn, text="how do I reset it"
    )
    assert answer["Classes"] and 0.0 <= answer["Classes"][0]["Score"] <= 1.0
