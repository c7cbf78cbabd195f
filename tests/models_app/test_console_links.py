"""What uses a version, the refusal that names it, prefilled forms and the dashboard's reads."""

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from models_app import selectors
from models_app.models import (
    AnalysisJob,
    Endpoint,
    EndpointStatus,
    JobKind,
    JobStatus,
    ModelKind,
    ModelStatus,
)
from models_app.services import classifiers
from models_app.services.endpoints import version_in_use_check
from tests import factories
from webapp.core.errors import ServiceError


def endpoint(user, version, name, status=EndpointStatus.IN_SERVICE, message=""):
    return Endpoint.objects.create(
        account=user.membership.account,
        kind=version.model.kind,
        name=name,
        status=status,
        message=message,
        version=version,
        desired_version=version,
        current_units=1,
    )


def job(user, version, name, status=JobStatus.COMPLETED, message=""):
    return AnalysisJob.objects.create(
        account=user.membership.account,
        job_id=uuid.uuid4().hex,
        kind=JobKind.CLASSIFICATION,
        job_name=name,
        version=version,
        model_arn=version.arn,
        output_uri="s3://out/output.tar.gz",
        status=status,
        message=message,
        documents_total=3,
        documents_done=3 if status == JobStatus.COMPLETED else 0,
    )


def scored(user, name, version_name, f1, status=ModelStatus.TRAINED, **fields):
    return factories.version(
        user, name=name, version_name=version_name, status=status, metrics={"F1Score": f1}, **fields
    )


def test_a_version_page_lists_what_uses_it_and_warns_before_deleting(client, owner, outsider):
    version = scored(owner, "intents", "v1", 0.9)
    endpoint(owner, version, "intents-live")
    job(owner, version, "inbox", JobStatus.COMPLETED)
    job(owner, version, "nightly", JobStatus.IN_PROGRESS)
    other = scored(outsider, "intents", "v1", 0.9)
    endpoint(outsider, other, "theirs")
    client.force_login(owner)
    url = reverse("models_app:classifier-version-detail", args=["intents", version.pk])
    body = client.get(url).content.decode()
    assert 'href="/inference/endpoints/intents-live/"' in body and "theirs" not in body
    assert ">inbox</a>" in body and ">nightly</a>" in body
    assert body.index(">nightly</a>") < body.index(">inbox</a>")  # running jobs first
    assert (
        "This version is used by the endpoint intents-live; deleting it is refused while that "
        "endpoint uses it. The analysis job nightly is still running with it; deleting it is "
        "refused until it ends. Delete version v1 of intents?"
    ) in body
    create = f"{reverse('inference:endpoint-create')}?model="
    assert create in body and f"{reverse('inference:job-create')}?model=" in body


def test_a_version_nothing_uses_says_so(client, owner):
    version = scored(owner, "intents", "v1", 0.9)
    client.force_login(owner)
    url = reverse("models_app:classifier-version-detail", args=["intents", version.pk])
    body = client.get(url).content.decode()
    assert "No endpoint serves this version and no analysis job has used it yet." in body
    assert 'data-confirm="Delete version v1 of intents?' in body


def test_the_console_refusal_names_the_endpoint_and_the_api_keeps_the_arns(client, owner):
    version = scored(owner, "intents", "v1", 0.9)
    live = endpoint(owner, version, "intents-live")
    try:
        classifiers.classifier_delete(account=owner.membership.account, arn=version.arn)
    except ServiceError as exc:
        assert exc.code == "ResourceInUseException" and live.arn in exc.message
    else:
        raise AssertionError("the delete was not refused")
    client.force_login(owner)
    url = reverse("models_app:classifier-version-delete", args=["intents", version.pk])
    body = client.post(url, follow=True).content.decode()
    assert (
        'Version intents · v1 is used by the endpoint <a href="/inference/endpoints/intents-live/">'
        "intents-live</a>, so it cannot be deleted"
    ) in body
    assert live.arn not in body.split("messages", 1)[1].split("</div>", 1)[0]


def test_a_running_job_is_named_when_it_alone_refuses(client, owner):
    version = scored(owner, "intents", "v1", 0.9)
    running = job(owner, version, "nightly", JobStatus.IN_PROGRESS)
    client.force_login(owner)
    url = reverse("models_app:classifier-version-delete", args=["intents", version.pk])
    body = client.post(url, follow=True).content.decode()
    assert (
        f'used by the analysis job <a href="/inference/jobs/{running.job_id}/">nightly</a>, which '
        "has not finished"
    ) in body
    try:
        version_in_use_check(version)
    except ServiceError as exc:
        assert running.job_id in exc.message


def test_the_endpoint_form_preselects_and_marks_the_best_version(client, owner):
    v1 = scored(owner, "intents", "v1", 0.91)
    v2 = scored(owner, "intents", "v2", 0.94)
    scored(owner, "intents", "v3", 0.99, status=ModelStatus.IN_ERROR)  # not usable: never best
    alone = scored(owner, "spam", "v1", 0.5)  # no other version to be better than
    client.force_login(owner)
    body = client.get(reverse("inference:endpoint-create"), {"model": v1.arn}).content.decode()
    assert f'<option value="{v1.arn}" selected>intents · v1</option>' in body
    assert f'<option value="{v2.arn}">intents · v2 (best F1 0.9400)</option>' in body
    assert f'<option value="{alone.arn}">spam · v1</option>' in body
    body = client.get(reverse("inference:job-create"), {"model": v2.arn}).content.decode()
    assert f'<option value="{v2.arn}" selected>intents · v2 (best F1 0.9400)</option>' in body
    for junk in ("nonsense", "arn:aws:comprehend:us-east-1:000000000000:document-classifier/x"):
        assert client.get(reverse("inference:endpoint-create"), {"model": junk}).status_code == 200
        assert client.get(reverse("inference:job-create"), {"model": junk}).status_code == 200


def test_the_model_page_starts_an_endpoint_or_a_job_from_its_best_version(client, owner):
    best = scored(owner, "intents", "v1", 0.95)
    scored(owner, "intents", "v2", 0.90)
    client.force_login(owner)
    body = client.get(reverse("models_app:classifier-detail", args=["intents"])).content.decode()
    quoted = best.arn.replace(":", "%3A").replace("/", "%2F")
    assert f'href="/inference/endpoints/create/?model={quoted}"' in body
    assert f'href="/inference/jobs/create/?model={quoted}"' in body


def test_endpoint_and_job_pages_link_to_their_version_by_name(client, owner):
    version = scored(owner, "intents", "v1", 0.9)
    endpoint(owner, version, "intents-live")
    done = job(owner, version, "inbox")
    client.force_login(owner)
    link = f'href="{reverse("models_app:classifier-version-detail", args=["intents", version.pk])}"'
    body = client.get(reverse("inference:endpoint-detail", args=["intents-live"])).content.decode()
    assert link in body and ">intents · v1</a>" in body
    body = client.get(reverse("inference:job-detail", args=[done.job_id])).content.decode()
    assert link in body and ">intents · v1</a>" in body


def test_the_dashboard_reads_each_section_in_one_query(client, owner, outsider):
    for i in range(5):
        version = scored(owner, f"model{i}", "v1", 0.8 + i / 100)
        endpoint(owner, version, f"ep{i}")
        job(owner, version, f"job{i}")
    people = scored(owner, "people", "v1", 0.7, kind=ModelKind.RECOGNIZER)
    scored(owner, "broken", "v1", None, status=ModelStatus.IN_ERROR, message="Only one label.")
    job(owner, people, "bad-job", JobStatus.FAILED, message="No objects found at s3://x/.")
    endpoint(owner, people, "bad-ep", EndpointStatus.FAILED, message="The model did not load.")
    theirs = scored(outsider, "secret", "v1", 0.9)
    job(outsider, theirs, "secret-job", JobStatus.FAILED, message="theirs")
    account = owner.membership.account
    with CaptureQueriesContext(connection) as queries:
        models = list(selectors.dashboard_models(account))
        endpoints = list(selectors.dashboard_endpoints(account))
        jobs = list(selectors.dashboard_jobs(account))
        failures = selectors.dashboard_failures(account)
        for e in endpoints:
            assert e.version.model.name
        for j in jobs:
            assert j.version.model.name
    assert len(queries) == 4
    assert {m.kind_total for m in models if m.kind == ModelKind.CLASSIFIER} == {6}
    assert [m.kind_total for m in models if m.kind == ModelKind.RECOGNIZER] == [1]
    assert [e.name for e in endpoints] == [f"ep{i}" for i in range(5)]  # not the failed one
    assert {f["what"]: (f["name"], f["reason"]) for f in failures} == {
        "version": ("broken", "Only one label."),
        "job": ("bad-job", "No objects found at s3://x/."),
        "endpoint": ("bad-ep", "The model did not load."),
    }
    client.force_login(owner)
    body = client.get("/").content.decode()
    assert "Only one label." in body and "secret" not in body and "theirs" not in body
    assert 'href="/inference/jobs/' in body and "Entity recognizer version" not in body
    assert "Classifier version" in body and "Classification job" in body


def test_a_new_account_is_led_to_its_first_classifier(client, owner):
    client.force_login(owner)
    body = client.get("/").content.decode()
    assert f'href="{reverse("models_app:classifier-create")}">Create your first classifier' in body
    assert "No endpoint is in service." in body and "No analysis jobs yet." in body


def test_the_versions_table_warns_before_deleting_a_version_in_use(client, owner):
    used = scored(owner, "intents", "v1", 0.9)
    free = scored(owner, "intents", "v2", 0.8)
    endpoint(owner, used, "intents-live")
    job(owner, free, "done-job")  # a finished job does not refuse the delete
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("models_app:classifier-versions", args=["intents"]))
    body = body.content.decode()
    assert (
        'data-confirm="This version is used by the endpoint intents-live; deleting it is refused '
        "while that endpoint uses it. Delete version v1 of intents?"
    ) in body
    assert 'data-confirm="Delete version v2 of intents?' in body
    # Two queries for the whole table (endpoints, running jobs), not two per version.
    assert sum("models_app_endpoint" in q["sql"] for q in queries.captured_queries) == 1
