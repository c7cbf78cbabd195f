"""Pages that lead on: what uses a version, buttons that start from a model, and the dashboard."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from models_app.models import ModelKind, ModelVersion
from tests.browser.conftest import open_version, shot, sign_up
from tests.conftest import BAD_INPUTS, run_queued_jobs
from tests.trained import role, trained
from webapp.core import storage

pytestmark = pytest.mark.browser

WAIT_MS = 120_000  # a real worker loads models and runs jobs on a busy machine
DOCS = b"wake me up at seven tomorrow\ni would like a table for four tonight\nunlock my account\n"


def start_job(client, user, version, name: str, uri: str) -> str:
    return client.start_document_classification_job(
        JobName=name,
        DocumentClassifierArn=version.arn,
        InputDataConfig={"S3Uri": uri, "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": "s3://output/"},
        DataAccessRoleArn=role(user),
    )["JobId"]


def wait_for(page: Page, url: str, badge: str) -> None:
    """Open a page that follows its own status and wait until its badge reads `badge`."""
    page.goto(url)
    expect(page.locator(".status-line .badge")).to_have_text(badge, timeout=WAIT_MS)


def test_a_version_page_says_what_uses_it_and_a_refused_delete_names_the_endpoint(
    page: Page, start_worker, api, store
):
    """The version page lists the endpoint serving it and the job that used it; the delete
    dialog warns first, and the refusal names the endpoint with a link (the API keeps ARNs)."""
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    client = api(owner)
    version = trained(ModelKind.CLASSIFIER, client, owner, store, name="intents", version_name="v1")
    start_worker()
    client.create_endpoint(
        EndpointName="intents-live", ModelArn=version.arn, DesiredInferenceUnits=1
    )
    job_id = start_job(client, owner, version, "inbox-intents", store(owner, "inbox/a.txt", DOCS))
    wait_for(page, "/inference/endpoints/intents-live/", "In service")
    wait_for(page, f"/inference/jobs/{job_id}/", "Completed")

    open_version(page, "intents", "v1")
    usage = page.get_by_test_id("version-usage")
    expect(usage.get_by_role("heading", name="Endpoints and analysis jobs")).to_be_visible()
    endpoint_row = usage.get_by_test_id("usage-endpoints").get_by_role("row").nth(1)
    expect(endpoint_row.get_by_role("link", name="intents-live")).to_be_visible()
    expect(endpoint_row).to_contain_text("In service")
    expect(endpoint_row).to_contain_text("Serves it")
    job_row = usage.get_by_test_id("usage-jobs").get_by_role("row").nth(1)
    expect(job_row.get_by_role("link", name="inbox-intents")).to_be_visible()
    expect(job_row).to_contain_text("Completed")
    shot(page, "version-usage")

    dialog = page.get_by_test_id("confirm-dialog")
    page.get_by_role("button", name="Delete version").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "This version is used by the endpoint intents-live; deleting it is refused while that "
        "endpoint uses it."
    )
    expect(dialog).to_contain_text("Delete version v1 of intents?")
    shot(page, "delete-warning")
    dialog.get_by_role("button", name="Confirm").click()

    refusal = page.locator(".messages .alert")
    expect(refusal).to_have_count(1)
    expect(refusal).to_have_text(
        "Version intents · v1 is used by the endpoint intents-live, so it cannot be deleted: "
        "delete that endpoint or update it to another version first."
    )
    expect(refusal).not_to_contain_text("arn:")
    expect(page.get_by_role("heading", name="intents · version v1")).to_be_visible()
    shot(page, "delete-refused")
    assert ModelVersion.objects.filter(pk=version.pk).exists()

    # The API keeps its own words: the endpoint by its ARN.
    with pytest.raises(client.exceptions.ResourceInUseException) as refused:
        client.delete_document_classifier(DocumentClassifierArn=version.arn)
    assert ":document-classifier-endpoint/intents-live" in str(refused.value)

    refusal.get_by_role("link", name="intents-live").click()
    expect(page.get_by_role("heading", name="intents-live", exact=True)).to_be_visible()
    page.get_by_test_id("endpoint-props").get_by_role("link", name="intents · v1").click()
    expect(page.get_by_role("heading", name="intents · version v1")).to_be_visible()


def test_create_endpoint_and_job_start_from_the_model_and_link_back_to_the_version(
    page: Page, api, store, tmp_path
):
    """The model page's buttons open the endpoint and job forms with its best version chosen
    (the form marks it); the endpoint and job pages link back to that version by name."""
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    client = api(owner)
    v1 = trained(ModelKind.CLASSIFIER, client, owner, store, name="intents", version_name="v1")
    v2 = trained(ModelKind.CLASSIFIER, client, owner, store, name="intents", version_name="v2")
    # v2 is the newer one but scored lower: the buttons must choose v1, the best.
    f1 = v1.metrics["F1Score"]
    ModelVersion.objects.filter(pk=v2.pk).update(metrics={**v2.metrics, "F1Score": f1 - 0.1})

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom classification"
    ).click()
    page.get_by_role("link", name="intents", exact=True).click()
    expect(page.get_by_role("heading", name="intents", exact=True)).to_be_visible()
    page.get_by_role("link", name="Create endpoint").click()

    expect(page.get_by_role("heading", name="Create endpoint")).to_be_visible()
    choice = page.get_by_label("Model version")
    expect(choice).to_have_value(v1.arn)
    best = f"intents · v1 (best F1 {f1:.4f})"
    expect(choice.locator("option:checked")).to_have_text(best)
    expect(choice.locator(f'option[value="{v2.arn}"]')).to_have_text("intents · v2")
    page.get_by_label("Endpoint name").fill("intents-live")
    shot(page, "endpoint-form-prefilled")
    page.get_by_role("button", name="Create endpoint").click()

    expect(page.get_by_role("heading", name="intents-live", exact=True)).to_be_visible()
    props = page.get_by_test_id("endpoint-props")
    expect(props).to_contain_text(v1.arn)
    shot(page, "endpoint-links-version")
    props.get_by_role("link", name="intents · v1").click()

    expect(page.get_by_role("heading", name="intents · version v1")).to_be_visible()
    usage = page.get_by_test_id("version-usage")
    expect(usage.get_by_role("link", name="intents-live")).to_be_visible()
    usage.get_by_role("link", name="Start analysis job").click()

    expect(page.get_by_role("heading", name="Create analysis job")).to_be_visible()
    expect(page.get_by_label("Custom classification")).to_be_checked()
    expect(page.get_by_label("Model version")).to_have_value(v1.arn)
    docs = tmp_path / "inbox.txt"
    docs.write_bytes(DOCS)
    page.get_by_label("Job name").fill("inbox-intents")
    page.get_by_label("…or upload a file").set_input_files(docs)
    shot(page, "job-form-prefilled")
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_role("heading", name="inbox-intents")).to_be_visible()
    link = page.get_by_test_id("job-props").get_by_role("link", name="intents · v1")
    expect(link).to_be_visible()
    shot(page, "job-links-version")
    link.click()
    expect(page.get_by_role("heading", name="intents · version v1")).to_be_visible()
    expect(
        page.get_by_test_id("usage-jobs").get_by_role("link", name="inbox-intents")
    ).to_be_visible()


def test_the_dashboard_shows_models_endpoints_jobs_and_failures_with_their_reason(
    page: Page, start_worker, api, store
):
    """A new account's dashboard leads to a first classifier; later it shows the trained model
    with its score, the endpoint in service, a completed job, and what failed, and why."""
    user = sign_up(page)
    owner = get_user_model().objects.get(username=user["username"])
    client = api(owner)
    page.goto("/")
    expect(page.get_by_test_id("dashboard-models-empty")).to_contain_text("No models yet.")
    expect(page.get_by_test_id("dashboard-failures-none")).to_be_visible()
    shot(page, "empty")
    page.get_by_role("link", name="Create your first classifier").click()
    expect(page.get_by_role("heading", name=re.compile("^Create"))).to_be_visible()

    version = trained(ModelKind.CLASSIFIER, client, owner, store, name="intents", version_name="v1")
    people = trained(ModelKind.RECOGNIZER, client, owner, store, name="people", version_name="v1")
    client.create_document_classifier(
        DocumentClassifierName="tickets",
        VersionName="v1",
        DataAccessRoleArn=role(owner),
        InputDataConfig={
            "S3Uri": store(owner, "train/one.csv", BAD_INPUTS / "classifier-one-label.csv")
        },
        LanguageCode="en",
    )
    run_queued_jobs()  # fails at once: one label is nothing to tell apart
    failed_version = ModelVersion.objects.get(model__name="tickets")
    assert failed_version.status == "IN_ERROR" and failed_version.message
    client.create_endpoint(
        EndpointName="intents-live", ModelArn=version.arn, DesiredInferenceUnits=1
    )
    done = start_job(client, owner, version, "inbox-intents", store(owner, "inbox/a.txt", DOCS))
    archive = store(owner, "archive/old.txt", DOCS)
    failed = start_job(client, owner, version, "archive-intents", "s3://data/archive/")
    # Its input is removed before a worker takes the job: the job fails, and says why.
    storage.delete_prefix(user["account_id"], storage.parse_uri(archive, field="S3Uri"))
    start_worker()
    wait_for(page, "/inference/endpoints/intents-live/", "In service")
    wait_for(page, f"/inference/jobs/{done}/", "Completed")
    wait_for(page, f"/inference/jobs/{failed}/", "Failed")

    page.goto("/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    models = page.get_by_test_id("dashboard-model-row")
    expect(models).to_have_count(3)
    recognizer = models.filter(has=page.get_by_role("link", name="people", exact=True))
    expect(recognizer.get_by_role("cell").nth(1)).to_have_text("Entity recognizer")
    expect(recognizer.get_by_role("cell").nth(4)).to_have_text(
        f"{people.metrics['F1Score'] * 100:.2f}%"
    )
    expect(page.get_by_role("link", name="All entity recognizers (1)")).to_be_visible()
    intents = models.filter(has=page.get_by_role("link", name="intents", exact=True))
    expect(intents.get_by_role("cell").nth(3)).to_have_text("Trained")
    expect(intents.get_by_role("cell").nth(4)).to_have_text(f"{version.metrics['F1Score']:.4f}")
    tickets = models.filter(has=page.get_by_role("link", name="tickets", exact=True))
    expect(tickets.get_by_role("cell").nth(3)).to_have_text("In error")
    expect(tickets.get_by_role("cell").nth(4)).to_have_text("—")

    endpoint = page.get_by_test_id("dashboard-endpoint-row")
    expect(endpoint).to_have_count(1)
    expect(endpoint.get_by_role("link", name="intents-live", exact=True)).to_be_visible()
    expect(endpoint).to_contain_text("In service")
    expect(endpoint.get_by_role("link", name="Analyse text with intents-live")).to_be_visible()

    jobs = page.get_by_test_id("dashboard-job-row")
    expect(jobs).to_have_count(2)
    expect(jobs.filter(has_text="inbox-intents")).to_contain_text("Completed")
    expect(jobs.filter(has_text="inbox-intents")).to_contain_text("3 of 3")

    failures = page.get_by_test_id("dashboard-failure")
    expect(failures).to_have_count(2)
    job_failure = failures.filter(has_text="archive-intents")
    expect(job_failure).to_contain_text("Classification job")
    expect(job_failure).to_contain_text("No objects found at s3://data/archive/.")
    expect(job_failure).not_to_contain_text("InputDataConfig")
    version_failure = failures.filter(has_text="tickets · v1")
    expect(version_failure).to_contain_text("Classifier version")
    expect(version_failure).to_contain_text(failed_version.message[:40])
    shot(page, "dashboard")

    version_failure.get_by_role("link", name="tickets · v1").click()
    expect(page.get_by_role("heading", name="tickets · version v1")).to_be_visible()
    page.go_back()
    job_failure.get_by_role("link", name="archive-intents").click()
    expect(page.get_by_role("heading", name="archive-intents")).to_be_visible()
