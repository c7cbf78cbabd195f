"""Console pages for flywheels: the list, create (errors at their fields), the flywheel's page
with its datasets and iterations, update, delete, Run flywheel, Make active model, the iteration
page with per-label changes, and an outsider who gets 404 everywhere."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from flywheel_app.models import (
    Dataset,
    DatasetStatus,
    Flywheel,
    FlywheelIteration,
    FlywheelStatus,
    IterationStatus,
)
from flywheel_app.services import flywheels
from models_app.models import AnalysisJob, Endpoint, ModelKind
from tests import factories
from tests.api.test_flywheels import LABELS, classifier_v1
from tests.conftest import DATA, run_queued_jobs
from tests.models_app.pages import field_error, json_block, text
from webapp.accounts.services.keys import key_create

pytestmark = pytest.mark.usefixtures("transactional_db")


def role(user) -> str:
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def url(name: str, *args) -> str:
    return reverse(f"flywheel_app:{name}", args=args)


def create_form(user, **changes) -> dict:
    data = {
        "name": "intents-fw",
        "source": "VERSION",
        "active_model_arn": "",
        "model_type": "DOCUMENT_CLASSIFIER",
        "language_code": "en",
        "mode": "MULTI_CLASS",
        "labels": "",
        "entity_types": "",
        "data_lake_s3_uri": "s3://lake/fw",
        "data_access_role_arn": role(user),
        "model_kms_key_id": "",
        "volume_kms_key_id": "",
        "data_lake_kms_key_id": "",
    }
    data.update(changes)
    return data


def active_flywheel(owner, version, name="intents-fw") -> Flywheel:
    flywheel = flywheels.flywheel_create(
        account=owner.membership.account,
        name=name,
        data_access_role_arn=role(owner),
        data_lake_s3_uri="s3://lake/fw",
        active_model_arn=version.arn,
    )
    run_queued_jobs()
    flywheel.refresh_from_db()
    assert flywheel.status == FlywheelStatus.ACTIVE, flywheel.message
    return flywheel


def clinc_upload(name="new.csv") -> SimpleUploadedFile:
    """CLINC150's test slice: 30 rows of the flywheel's three intents among 1,470 others."""
    return SimpleUploadedFile(name, (DATA / "clinc150" / "test.csv").read_bytes())


def dataset_form(**changes) -> dict:
    data = {
        "name": "new-rows",
        "dataset_type": "TRAIN",
        "description": "",
        "data_format": "COMPREHEND_CSV",
        "documents_uri": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def v1(api, owner, store):
    return classifier_v1(api(owner), owner, store)


def test_it_lists_flywheels_with_their_active_version_and_status(client, owner, v1):
    client.force_login(owner)
    body = text(client.get(url("flywheel-list")))
    assert "No flywheels yet." in body and "Create new flywheel" in body
    active_flywheel(owner, v1)
    body = text(client.get(url("flywheel-list")))
    row = re.search(r'<tr data-testid="flywheel-row">(.*?)</tr>', body, re.S).group(1)
    assert "intents-fw" in row and "Document classifier" in row
    assert "intents · v1" in row and ">Active</span>" in row
    assert f"{v1.metrics['F1Score']:.4f}" in row
    # The navigation leads here, marked as the current section.
    assert re.search(r'href="/flywheels/" class="active" aria-current="true">Flywheels</a>', body)


def test_it_creates_a_flywheel_from_a_version_and_shows_its_page(client, owner, v1):
    client.force_login(owner)
    body = text(client.get(url("flywheel-create")))
    assert f'<option value="{v1.arn}">intents · v1</option>' in body
    assert f'value="arn:aws:iam::{owner.membership.account.account_id}:role/' in body
    key = key_create(account=owner.membership.account, user=owner, description="fw key")
    assert f"fw key ({key.key_id})" in text(client.get(url("flywheel-create")))
    resp = client.post(
        url("flywheel-create"),
        create_form(
            owner,
            active_model_arn=v1.arn,
            model_kms_key_id=key.key_id,
            tag_key_0="team",
            tag_value_0="nlp",
        ),
    )
    assert resp.status_code == 302 and resp["Location"] == url("flywheel-detail", "intents-fw")
    flywheel = Flywheel.objects.get(name="intents-fw")
    assert flywheel.active_version == v1
    assert flywheel.data_security_config == {"ModelKmsKeyId": key.key_id}
    body = text(client.get(resp["Location"]))
    assert "is being created" in body and ">Creating</span>" in body
    assert f'data-poll-url="{url("flywheel-work", "intents-fw")}"' in body
    run_queued_jobs()
    body = text(client.get(resp["Location"]))
    assert ">Active</span>" in body and "data-poll-done" in body
    assert flywheel.arn in body and "team" in body and "nlp" in body
    labels = re.search(r"<dt>Labels</dt><dd>(.*?)</dd>", body).group(1)
    assert labels == ", ".join(LABELS)
    assert "No iterations yet." in body and "The chart appears" in body


def test_create_errors_land_at_their_fields(client, owner, v1):
    client.force_login(owner)
    active_flywheel(owner, v1)
    cases = [
        (create_form(owner, active_model_arn=v1.arn), "name", "already exists"),
        (create_form(owner, name="bad name!"), "name", "letters, digits and hyphens"),
        (create_form(owner, name="x"), "active_model_arn", "Choose the version"),
        (
            create_form(owner, name="x", active_model_arn=v1.arn, data_lake_s3_uri="nowhere"),
            "data_lake_s3_uri",
            "s3://",
        ),
        (
            create_form(owner, name="x", active_model_arn=v1.arn, data_access_role_arn="me"),
            "data_access_role_arn",
            "role",
        ),
        (
            create_form(owner, name="x", source="NEW", model_type="ENTITY_RECOGNIZER"),
            "entity_types",
            "Add at least one entity type",
        ),
        (
            create_form(
                owner, name="x", source="NEW", model_type="ENTITY_RECOGNIZER", entity_types="person"
            ),
            "entity_types",
            "",
        ),
        (
            create_form(owner, name="x", source="NEW", labels="a\na"),
            "labels",
            "a is listed twice",
        ),
    ]
    for data, field, words in cases:
        body = text(client.post(url("flywheel-create"), data))
        error = field_error(body, field)
        assert error and words in error, (field, body[:0] or error)
    assert Flywheel.objects.count() == 1


def test_a_new_model_flywheel_is_created_from_its_task(client, owner):
    client.force_login(owner)
    resp = client.post(
        url("flywheel-create"),
        create_form(
            owner,
            name="fresh",
            source="NEW",
            model_type="ENTITY_RECOGNIZER",
            entity_types="PERSON\nLOCATION",
        ),
    )
    assert resp.status_code == 302
    flywheel = Flywheel.objects.get(name="fresh")
    assert flywheel.kind == ModelKind.RECOGNIZER and flywheel.labels == ["LOCATION", "PERSON"]
    run_queued_jobs()
    body = text(client.get(resp["Location"]))
    assert "None yet: the first iteration trains and activates version 1" in body
    assert "<dt>Entity types</dt><dd>LOCATION, PERSON</dd>" in body


def test_a_dataset_is_uploaded_ingested_and_listed(client, owner, v1):
    flywheel = active_flywheel(owner, v1)
    client.force_login(owner)
    page = url("dataset-create", flywheel.name)
    body = text(client.get(page))
    assert "Create dataset for intents-fw" in body and "accept_reservations" in body
    body = text(client.post(page, dataset_form()))
    assert "Give an S3 URI or upload a file" in field_error(body, "documents_uri")
    body = text(client.post(page, dataset_form(documents_uri="s3://data/none.csv")))
    assert "does not exist" in field_error(body, "documents_uri") or "no objects" in (
        field_error(body, "documents_uri").lower()
    )
    resp = client.post(page, {**dataset_form(), "documents_file": clinc_upload()})
    assert resp.status_code == 302
    dataset = Dataset.objects.get(name="new-rows")
    assert dataset.status == DatasetStatus.CREATING
    body = text(client.get(url("flywheel-work", flywheel.name)))
    assert "data-poll-done" not in body and "new-rows" in body
    run_queued_jobs()
    body = text(client.get(url("flywheel-detail", flywheel.name)))
    row = re.search(
        r'data-testid="train-datasets".*?<tr data-testid="dataset-row">(.*?)</tr>', body, re.S
    ).group(1)
    assert ">Completed</span>" in row and ">30<" in row and "Ignored" in row
    # The name is taken now: said at the field.
    body = text(client.post(page, {**dataset_form(), "documents_file": clinc_upload()}))
    assert "already has a dataset named" in field_error(body, "name")


def test_run_make_active_and_the_iteration_page(client, owner, v1, store):
    flywheel = active_flywheel(owner, v1)
    client.force_login(owner)
    detail = url("flywheel-detail", flywheel.name)
    resp = client.post(url("iteration-start", flywheel.name), follow=True)
    assert "has no new dataset" in text(resp)
    client.post(
        url("dataset-create", flywheel.name), {**dataset_form(), "documents_file": clinc_upload()}
    )
    run_queued_jobs()
    resp = client.post(url("iteration-start", flywheel.name), follow=True)
    iteration = FlywheelIteration.objects.get(flywheel=flywheel)
    assert f"Iteration {iteration.iteration_id} started" in text(resp)
    assert 'data-testid="iteration-row"' in text(resp) and ">Training</span>" in text(resp)
    run_queued_jobs()
    iteration.refresh_from_db()
    assert iteration.status == IterationStatus.COMPLETED, iteration.message
    body = text(client.get(detail))
    row = re.search(r'<tr data-testid="iteration-row"[^>]*>(.*?)</tr>', body, re.S).group(1)
    assert ">Completed</span>" in row and "intents · v1" in row
    assert iteration.trained_version.version_name in row and "Make active model" in row
    chart = json_block(body, "flywheel-chart-data")
    assert chart["iterations"] == [iteration.iteration_id]
    assert chart["trained"] == [iteration.trained_metrics["AverageF1Score"]]
    assert chart["evaluated"] == [iteration.evaluated_metrics["AverageF1Score"]]
    assert "js/flywheels.js" in body

    page = text(client.get(url("iteration-detail", flywheel.name, iteration.iteration_id)))
    assert "F1 score (macro average)" in page and "Accuracy" in page
    deltas = re.findall(r'<tr data-testid="label-delta-row"><td>([^<]+)</td>', page)
    assert sorted(deltas) == sorted(LABELS)

    resp = client.post(
        url("iteration-activate", flywheel.name, iteration.iteration_id), follow=True
    )
    assert "is now the active model" in text(resp)
    flywheel.refresh_from_db()
    assert flywheel.active_version == iteration.trained_version
    assert 'data-testid="active-badge"' in text(resp)
    # Activating it again changes nothing and offers no button.
    assert "Make active model</button>" not in text(resp)


def test_update_and_its_errors(client, owner, v1):
    flywheel = active_flywheel(owner, v1)
    other = factories.version(owner, name="news", version_name="v1", kind=ModelKind.RECOGNIZER)
    client.force_login(owner)
    page = url("flywheel-update", flywheel.name)
    body = text(client.get(page))
    assert f'<option value="{v1.arn}" selected>intents · v1</option>' in body
    assert other.arn not in body  # another kind of model is not offered
    body = text(client.post(page, {"active_model_arn": v1.arn, "data_access_role_arn": "x"}))
    assert field_error(body, "data_access_role_arn")
    body = text(client.post(page, {"active_model_arn": other.arn, "data_access_role_arn": ""}))
    assert field_error(body, "active_model_arn")  # not a choice of this flywheel
    new_role = f"arn:aws:iam::{owner.membership.account.account_id}:role/Other"
    resp = client.post(page, {"active_model_arn": v1.arn, "data_access_role_arn": new_role})
    assert resp.status_code == 302
    flywheel.refresh_from_db()
    assert flywheel.data_access_role_arn == new_role


def test_delete_shows_refusals_then_deletes(client, owner, v1):
    flywheel = active_flywheel(owner, v1)
    Dataset.objects.create(account=flywheel.account, flywheel=flywheel, name="busy")
    client.force_login(owner)
    resp = client.post(url("flywheel-delete", flywheel.name), follow=True)
    assert "has a dataset being created (busy)" in text(resp)
    assert Flywheel.objects.filter(pk=flywheel.pk).exists()
    Dataset.objects.filter(name="busy").update(status=DatasetStatus.FAILED)
    resp = client.post(url("flywheel-delete", flywheel.name), follow=True)
    assert "was deleted" in text(resp) and not Flywheel.objects.filter(pk=flywheel.pk).exists()


def test_model_pages_badge_the_active_version_and_endpoints_follow_flywheels(
    client, owner, outsider, v1
):
    flywheel = active_flywheel(owner, v1)
    client.force_login(owner)
    badge = f'href="{url("flywheel-detail", flywheel.name)}">Active in flywheel intents-fw</a>'
    model_page = reverse("models_app:classifier-detail", args=["intents"])
    assert badge in text(client.get(model_page))
    version_page = reverse("models_app:classifier-version-detail", args=["intents", v1.pk])
    assert badge in text(client.get(version_page))
    create = reverse("inference:endpoint-create")
    assert f"{create}?model=" in text(client.get(url("flywheel-detail", flywheel.name)))
    body = text(client.get(create, {"model": flywheel.arn}))
    option = f'<option value="{flywheel.arn}" selected>intents-fw (follows'
    assert '<optgroup label="Flywheels">' in body and option in body
    resp = client.post(
        create, {"name": "intents-live", "model_arn": flywheel.arn, "inference_units": 1}
    )
    assert resp.status_code == 302
    endpoint = Endpoint.objects.get(name="intents-live")
    assert endpoint.flywheel_arn == flywheel.arn and endpoint.desired_version == v1
    # A job given the flywheel runs with the version active when it starts.
    job_page = reverse("inference:job-create")
    assert f'<option value="{flywheel.arn}">intents-fw (the flywheel' in text(client.get(job_page))
    job = {
        "kind": "entities",
        "model_arn": flywheel.arn,
        "input_file": SimpleUploadedFile("docs.txt", b"wake me up at six\n"),
        "input_uri": "",
        "input_format": "ONE_DOC_PER_LINE",
        "output_uri": "s3://output/",
        "data_access_role_arn": role(owner),
    }
    body = text(client.post(job_page, job))
    assert "Choose an entity recognizer" in field_error(body, "model_arn")
    job["kind"] = "classification"
    job["input_file"] = SimpleUploadedFile("docs.txt", b"wake me up at six\n")
    assert client.post(job_page, job).status_code == 302
    started = AnalysisJob.objects.get(account=owner.membership.account)
    assert started.flywheel_arn == flywheel.arn and started.model_arn == v1.arn
    # Another account's forms offer none of them.
    client.force_login(outsider)
    assert flywheel.arn not in text(client.get(create))
    assert flywheel.arn not in text(client.get(job_page))


def test_an_outsider_gets_404_everywhere(client, owner, outsider, v1):
    flywheel = active_flywheel(owner, v1)
    iteration = FlywheelIteration.objects.create(
        flywheel=flywheel, iteration_id="20240101T000000Z", status=IterationStatus.FAILED
    )
    client.force_login(outsider)
    name, it = flywheel.name, iteration.iteration_id
    for page in (
        url("flywheel-detail", name),
        url("flywheel-work", name),
        url("flywheel-update", name),
        url("dataset-create", name),
        url("iteration-detail", name, it),
    ):
        assert client.get(page).status_code == 404, page
    for action in (
        url("flywheel-delete", name),
        url("iteration-start", name),
        url("iteration-stop", name, it),
        url("iteration-activate", name, it),
    ):
        assert client.post(action).status_code == 404, action
    assert name not in text(client.get(url("flywheel-list")))
    assert Flywheel.objects.filter(pk=flywheel.pk).exists()
    # The owner's own bad iteration id is a 404 too, not an error page.
    client.force_login(owner)
    assert client.get(url("iteration-detail", name, "not-an-id")).status_code == 404
