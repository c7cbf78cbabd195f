"""Console pages for endpoints and analysis jobs, and that another account gets 404 on each."""

import io
import tarfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from models_app.models import AnalysisJob, Endpoint, EndpointStatus, JobStatus, ModelKind
from models_app.services import analysis_jobs
from tests import factories
from tests.conftest import PASSWORD, run_queued_jobs
from tests.trained import role, trained


@pytest.fixture
def signed_in(client, owner):
    client.login(username="owner", password=PASSWORD)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    from django.test import Client

    other = Client()
    other.login(username="outsider", password=PASSWORD)
    return other


def make_endpoint(user, version, name="ep", status=EndpointStatus.IN_SERVICE):
    return Endpoint.objects.create(
        account=user.membership.account,
        kind=version.model.kind,
        name=name,
        status=status,
        version=version if status != EndpointStatus.CREATING else None,
        desired_version=version,
        current_units=1,
    )


def test_the_nav_and_empty_lists(signed_in):
    page = signed_in.get(reverse("inference:endpoint-list")).content.decode()
    assert "No endpoints yet" in page and 'href="/inference/jobs/"' in page
    page = signed_in.get(reverse("inference:job-list")).content.decode()
    assert "No analysis jobs yet" in page


def test_create_an_endpoint_from_the_form(signed_in, owner):
    version = factories.version(owner, name="intents", version_name="v1")
    factories.version(owner, name="people", kind=ModelKind.RECOGNIZER)
    page = signed_in.get(reverse("inference:endpoint-create")).content.decode()
    assert "Custom classifiers" in page and "Custom entity recognizers" in page
    assert f'value="{version.arn}"' in page
    resp = signed_in.post(
        reverse("inference:endpoint-create"),
        {
            "name": "support-ep",
            "model_arn": version.arn,
            "inference_units": 2,
            "data_access_role_arn": "",
            "tag_key_0": "team",
            "tag_value_0": "support",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    endpoint = Endpoint.objects.get(name="support-ep")
    assert endpoint.status == EndpointStatus.CREATING and endpoint.desired_units == 2
    page = signed_in.get(resp["Location"]).content.decode()
    assert "Creating" in page and "data-poll-url" in page and "team" in page
    # A taken name is shown on the form, with what was typed kept.
    resp = signed_in.post(
        reverse("inference:endpoint-create"),
        {"name": "support-ep", "model_arn": version.arn, "inference_units": 1},
    )
    assert resp.status_code == 200 and "already exists" in resp.content.decode()
    resp = signed_in.post(
        reverse("inference:endpoint-create"),
        {"name": "bad_name!", "model_arn": version.arn, "inference_units": 1},
    )
    assert "letters, digits and hyphens" in resp.content.decode()


def test_endpoint_pages_update_and_delete(signed_in, owner):
    v1 = factories.version(owner, name="intents", version_name="v1")
    v2 = factories.version(owner, name="intents", version_name="v2")
    endpoint = make_endpoint(owner, v1, name="ep")
    page = signed_in.get(reverse("inference:endpoint-list")).content.decode()
    assert "In service" in page and "intents · v1" in page
    page = signed_in.get(reverse("inference:endpoint-detail", args=["ep"])).content.decode()
    assert endpoint.arn in page and "Analyse text" in page and "data-confirm" in page
    status = signed_in.get(reverse("inference:endpoint-status", args=["ep"])).content.decode()
    assert "data-poll-done" in status
    page = signed_in.get(reverse("inference:endpoint-update", args=["ep"])).content.decode()
    assert f'value="{v2.arn}"' in page
    resp = signed_in.post(
        reverse("inference:endpoint-update", args=["ep"]),
        {"model_arn": v2.arn, "inference_units": 3, "data_access_role_arn": ""},
    )
    assert resp.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.status == EndpointStatus.UPDATING and endpoint.desired_version == v2
    status = signed_in.get(reverse("inference:endpoint-status", args=["ep"])).content.decode()
    assert "Updating" in status and "data-poll-done" not in status
    resp = signed_in.post(reverse("inference:endpoint-delete", args=["ep"]), follow=True)
    assert "Endpoint ep was deleted." in resp.content.decode()
    assert not Endpoint.objects.exists()


def test_deleting_a_version_in_use_names_the_endpoint(signed_in, owner):
    from models_app.services.classifiers import classifier_delete
    from webapp.core.errors import ServiceError

    version = factories.version(owner, name="intents", version_name="v1")
    make_endpoint(owner, version, name="busy-ep")
    with pytest.raises(ServiceError) as excinfo:
        classifier_delete(account=owner.membership.account, arn=version.arn)
    assert excinfo.value.code == "ResourceInUseException" and "busy-ep" in excinfo.value.message


def test_real_time_analysis_page(api, owner, store, transactional_db):
    from django.test import Client

    version = trained(
        ModelKind.RECOGNIZER, api(owner), owner, store, name="people", version_name="v1"
    )
    make_endpoint(owner, version, name="people-ep")
    browser = Client()
    browser.login(username="owner", password=PASSWORD)
    url = reverse("inference:endpoint-analyze", args=["people-ep"])
    page = browser.get(url).content.decode()
    assert "data-byte-limit" in page and "js/inference.js" in page
    text = "EU rejects German call to boycott British lamb . Peter Blackburn <b>"
    page = browser.post(url, {"text": text}).content.decode()
    assert 'data-testid="highlighted"' in page and '<mark class="ent' in page
    assert "&lt;b&gt;" in page and "<b>" not in page.split('data-testid="highlighted"')[1][:2000]
    page = browser.post(url, {"text": "é" * 5001}).content.decode()
    assert "The text is 10,002 bytes of UTF-8; the limit is 10,000 bytes." in page


def test_classification_results_show_score_bars(signed_in, owner, monkeypatch):
    from models_app.services import endpoints

    version = factories.version(owner, name="intents", version_name="v1")
    make_endpoint(owner, version, name="intents-ep")
    monkeypatch.setattr(
        endpoints,
        "classify_document",
        lambda **kw: {
            "Classes": [{"Name": "billing", "Score": 0.91}, {"Name": "other", "Score": 0.05}]
        },
    )
    page = signed_in.post(
        reverse("inference:endpoint-analyze", args=["intents-ep"]), {"text": "my bill"}
    ).content.decode()
    assert page.count('data-testid="score-row"') == 2
    assert "width: 91%" in page and "billing" in page


def test_jobs_create_with_upload_progress_output_and_stop(api, owner, store, transactional_db):
    from django.test import Client

    version = trained(
        ModelKind.RECOGNIZER, api(owner), owner, store, name="people", version_name="v1"
    )
    browser = Client()
    browser.login(username="owner", password=PASSWORD)
    page = browser.get(reverse("inference:job-create")).content.decode()
    assert "s3://output/" in page and "data-job-form" in page
    upload = SimpleUploadedFile("docs.txt", b"Peter Blackburn\nBRUSSELS 1996-08-22\n")
    resp = browser.post(
        reverse("inference:job-create"),
        {
            "name": "from the console",
            "kind": "entities",
            "model_arn": version.arn,
            "input_file": upload,
            "input_uri": "",
            "input_format": "ONE_DOC_PER_LINE",
            "output_uri": "s3://output/",
            "data_access_role_arn": role(owner),
            "tag_key_0": "team",
            "tag_value_0": "nlp",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:3000]
    job = AnalysisJob.objects.get()
    assert job.input_data_config["S3Uri"].startswith("s3://uploads/")
    detail = reverse("inference:job-detail", args=[job.job_id])
    page = browser.get(detail).content.decode()
    assert "Submitted" in page and "data-poll-url" in page and "Stop job" in page
    run_queued_jobs()
    progress = browser.get(reverse("inference:job-progress", args=[job.job_id])).content.decode()
    assert "Completed" in progress and "data-poll-done" in progress and "2 of 2" in progress
    page = browser.get(detail).content.decode()
    assert "Download output.tar.gz" in page
    resp = browser.get(reverse("inference:job-output", args=[job.job_id]))
    data = b"".join(resp.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert len(tar.extractfile("predictions.jsonl").read().splitlines()) == 2
    listing = browser.get(reverse("inference:job-list") + "?kind=entities&status=COMPLETED")
    assert "from the console" in listing.content.decode()
    listing = browser.get(reverse("inference:job-list") + "?status=FAILED").content.decode()
    assert "No jobs match" in listing

    # A classification job is stopped from the console (Comprehend's API cannot stop one).
    classifier = factories.version(owner, name="intents", version_name="v1")
    stoppable = analysis_jobs.job_start(
        account=owner.membership.account,
        kind="classification",
        model_arn=classifier.arn,
        input_data_config={"S3Uri": job.input_data_config["S3Uri"]},
        output_data_config={"S3Uri": "s3://output/"},
        data_access_role_arn=role(owner),
    )
    resp = browser.post(reverse("inference:job-stop", args=[stoppable.job_id]), follow=True)
    assert "was stopped" in resp.content.decode()
    stoppable.refresh_from_db()
    assert stoppable.status == JobStatus.STOPPED


def test_job_form_errors(signed_in, owner):
    classifier = factories.version(owner, name="intents", version_name="v1")
    resp = signed_in.post(
        reverse("inference:job-create"),
        {
            "kind": "entities",
            "model_arn": classifier.arn,
            "input_uri": "s3://data/nothing/",
            "input_format": "ONE_DOC_PER_LINE",
            "output_uri": "s3://output/",
            "data_access_role_arn": role(owner),
        },
    )
    page = resp.content.decode()
    assert resp.status_code == 200 and "Choose an entity recognizer for this" in page
    resp = signed_in.post(
        reverse("inference:job-create"),
        {
            "kind": "classification",
            "model_arn": classifier.arn,
            "input_uri": "s3://data/nothing/",
            "input_format": "ONE_DOC_PER_LINE",
            "output_uri": "s3://output/",
            "data_access_role_arn": role(owner),
        },
    )
    assert "No objects found" in resp.content.decode()
    assert not AnalysisJob.objects.exists()


def test_another_account_gets_404_everywhere(signed_in, outsider_client, owner, store):
    version = factories.version(owner, name="intents", version_name="v1")
    make_endpoint(owner, version, name="private-ep")
    uri = store(owner, "in/x.txt", b"hello\n")
    job = analysis_jobs.job_start(
        account=owner.membership.account,
        kind="classification",
        model_arn=version.arn,
        input_data_config={"S3Uri": uri},
        output_data_config={"S3Uri": "s3://output/"},
        data_access_role_arn=role(owner),
    )
    gets = [
        reverse("inference:endpoint-detail", args=["private-ep"]),
        reverse("inference:endpoint-status", args=["private-ep"]),
        reverse("inference:endpoint-update", args=["private-ep"]),
        reverse("inference:endpoint-analyze", args=["private-ep"]),
        reverse("inference:job-detail", args=[job.job_id]),
        reverse("inference:job-progress", args=[job.job_id]),
        reverse("inference:job-output", args=[job.job_id]),
    ]
    for url in gets:
        assert outsider_client.get(url).status_code == 404, url
    posts = [
        reverse("inference:endpoint-delete", args=["private-ep"]),
        reverse("inference:endpoint-analyze", args=["private-ep"]),
        reverse("inference:job-stop", args=[job.job_id]),
    ]
    for url in posts:
        assert outsider_client.post(url, {"text": "x"}).status_code == 404, url
    assert (
        "private-ep" not in outsider_client.get(reverse("inference:endpoint-list")).content.decode()
    )
    assert job.job_id not in outsider_client.get(reverse("inference:job-list")).content.decode()
    # The new-endpoint form offers only the account's own versions.
    assert (
        version.arn
        not in outsider_client.get(reverse("inference:endpoint-create")).content.decode()
    )
    assert Endpoint.objects.filter(name="private-ep").exists()
    assert AnalysisJob.objects.get().status == JobStatus.SUBMITTED
