"""The access gates: one per resource, and another account's resource answers like a missing one."""

import uuid

import pytest

from models_app import selectors
from models_app.models import AnalysisJob, Endpoint, EndpointStatus, JobKind, ModelKind
from models_app.services import endpoints as endpoint_services
from tests import factories
from webapp.core import resources
from webapp.core.errors import ServiceError


def _answer(call):
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value.code, caught.value.message


def _endpoint(user, version, name="ep"):
    return Endpoint.objects.create(
        account=user.membership.account,
        kind=ModelKind.CLASSIFIER,
        name=name,
        status=EndpointStatus.IN_SERVICE,
        version=version,
        desired_version=version,
        current_units=1,
    )


def _job(user, version):
    return AnalysisJob.objects.create(
        account=user.membership.account,
        job_id=uuid.uuid4().hex,
        kind=JobKind.CLASSIFICATION,
        job_name="job",
        version=version,
        model_arn=version.arn,
        output_uri="s3://out/output.tar.gz",
    )


def test_a_version_of_another_account_answers_like_a_missing_one(owner, outsider):
    theirs = factories.version(owner, name="news", version_name="v1")
    mine = outsider.membership.account
    missing = theirs.arn.replace(theirs.account.account_id, mine.account_id).replace("v1", "v9")
    other = _answer(lambda: selectors.version_for(mine, theirs.arn, principal=outsider))
    absent = _answer(lambda: selectors.version_for(mine, missing, principal=outsider))
    assert other == ("ResourceNotFoundException", f"The classifier {theirs.arn} was not found.")
    assert absent == ("ResourceNotFoundException", f"The classifier {missing} was not found.")
    # The owner reaches it, by kind or by the ARN's resource type alone.
    account = owner.membership.account
    assert selectors.version_for(account, theirs.arn, principal=owner) == theirs
    assert selectors.version_for(account, theirs.arn, kind=ModelKind.CLASSIFIER) == theirs
    code, message = _answer(
        lambda: selectors.version_for(account, theirs.arn, kind=ModelKind.RECOGNIZER)
    )
    assert code == "ValidationException" and "EntityRecognizerArn" in message


def test_an_endpoint_and_a_job_of_another_account_answer_like_missing_ones(owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    endpoint, job = _endpoint(owner, version), _job(owner, version)
    mine = outsider.membership.account
    missing_endpoint = endpoint.arn.replace(owner.membership.account.account_id, mine.account_id)
    assert _answer(lambda: selectors.endpoint_for(mine, endpoint.arn)) == (
        "ResourceNotFoundException",
        f"The endpoint {endpoint.arn} was not found.",
    )
    assert _answer(lambda: selectors.endpoint_for(mine, missing_endpoint)) == (
        "ResourceNotFoundException",
        f"The endpoint {missing_endpoint} was not found.",
    )
    assert _answer(lambda: selectors.job_for(mine, job.job_id)) == (
        "JobNotFoundException",
        f"Could not find the job {job.job_id}.",
    )
    assert _answer(lambda: selectors.job_for(mine, job.arn)) == (
        "ResourceNotFoundException",
        f"The classification job {job.arn} was not found.",
    )
    account = owner.membership.account
    assert selectors.endpoint_for(account, endpoint.arn) == endpoint
    assert selectors.job_for(account, job.job_id) == job
    assert selectors.job_for(account, job.arn, kind=JobKind.CLASSIFICATION) == job


def test_tags_and_services_reach_resources_through_the_gates(owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    endpoint, job = _endpoint(owner, version), _job(owner, version)
    account, mine = owner.membership.account, outsider.membership.account
    for row in (version, endpoint, job):
        assert resources.resolve_any(account, row.arn) == row
        code, message = _answer(lambda row=row: resources.resolve_any(mine, row.arn))
        assert code == "ResourceNotFoundException" and message.endswith(" was not found.")
    served = endpoint_services.version_to_serve(
        account, version.arn, field="ModelArn", principal=owner
    )
    assert served == version
    assert _answer(
        lambda: endpoint_services.version_to_serve(
            mine, version.arn, field="ModelArn", principal=outsider
        )
    ) == ("ResourceNotFoundException", f"The classifier {version.arn} was not found.")


def test_a_short_job_id_that_begins_like_an_arn_is_still_a_job_id(owner):
    account = owner.membership.account
    assert _answer(lambda: selectors.job_for(account, "arn:abc")) == (
        "JobNotFoundException",
        "Could not find the job arn:abc.",
    )
