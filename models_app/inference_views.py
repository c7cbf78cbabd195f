"""Console pages for endpoints (with real-time analysis) and asynchronous analysis jobs."""

import re
import uuid
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, F, FloatField, Value, When
from django.db.models.functions import Cast, Coalesce, NullIf
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from models_app import inference_forms as forms
from models_app import inference_selectors as selectors
from models_app.models import EndpointStatus, JobKind, JobStatus, ModelKind
from models_app.services import analysis_jobs, endpoints
from models_app.views import output_archive
from webapp.accounts.services.tags import tags_of
from webapp.core import storage
from webapp.core.errors import ServiceError
from webapp.core.tables import DESC, Column, table_page

ENTITY_COLOURS = 12  # the .ent-c<n> colour classes of console.css
# Which form field a service error is about, from the words of its message (first match wins).
ERROR_FIELDS = (
    ("EndpointName", "name"),
    ("endpoint named", "name"),
    ("inference units", "inference_units"),
    ("DesiredInferenceUnits", "inference_units"),
    ("Role", "data_access_role_arn"),
    ("role", "data_access_role_arn"),
    ("InputDataConfig", "input_uri"),
    ("OutputDataConfig", "output_uri"),
    ("jobName", "name"),
    ("Arn", "model_arn"),
    ("model", "model_arn"),
    ("classifier", "model_arn"),
    ("recognizer", "model_arn"),
)


def _error_field(form, exc: ServiceError) -> str | None:
    field = next((f for words, f in ERROR_FIELDS if words in exc.message), None)
    return field if field in form.fields else None


# Endpoints


def _endpoint(request, name: str):
    """An endpoint of the signed-in account, or 404 for anything else."""
    return get_object_or_404(selectors.endpoints(request.account), name=name)


ENDPOINT_COLUMNS = (
    Column("Name", "name", ("name",)),
    Column("Type", "type", ("kind",)),
    Column(
        "Model version",
        "model",
        (
            Coalesce("version__model__name", "desired_version__model__name"),
            Coalesce("version__version_name", "desired_version__version_name"),
        ),
    ),
    Column("Status", "status", ("status",)),
    Column(
        "Inference units",
        "units",
        (Coalesce("current_inference_units", "desired_inference_units"),),
        num=True,
        first=DESC,
    ),
    Column("Created", "created", ("created_at",), first=DESC),
    Column("Actions", hide_label=True),
)


@login_required
def endpoint_list(request):
    endpoints = selectors.endpoints(request.account)
    table = table_page(request, endpoints, ENDPOINT_COLUMNS, default="name")
    return render(request, "inference/endpoint_list.html", {"table": table})


@login_required
def endpoint_create(request):
    versions = list(selectors.usable_versions(request.account))
    initial = {"model_arn": request.GET.get("model", "")}
    form = forms.EndpointCreateForm(request.POST or None, versions=versions, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = endpoints.endpoint_create(
                account=request.account,
                name=data["name"],
                model_arn=data["model_arn"],
                desired_inference_units=data["inference_units"],
                data_access_role_arn=data["data_access_role_arn"] or None,
                tags=data["tags"],
            )
        except ServiceError as exc:
            form.add_error(_error_field(form, exc), exc.message)
        else:
            messages.success(
                request, f"Endpoint {endpoint.name} is being created; it loads its model first."
            )
            return redirect("inference:endpoint-detail", name=endpoint.name)
    return render(
        request, "inference/endpoint_create.html", {"form": form, "has_versions": bool(versions)}
    )


def _annotate(endpoint):
    endpoint.is_busy = endpoint.status in (EndpointStatus.CREATING, EndpointStatus.UPDATING)
    endpoint.serves = endpoint.status in (EndpointStatus.IN_SERVICE, EndpointStatus.UPDATING)
    endpoint.model_version = endpoint.version or endpoint.desired_version
    return endpoint


@login_required
def endpoint_detail(request, name):
    endpoint = _annotate(_endpoint(request, name))
    context = {"endpoint": endpoint, "tags": tags_of(request.account, endpoint.arn)}
    return render(request, "inference/endpoint_detail.html", context)


@login_required
def endpoint_status(request, name):
    """The status panel alone, fetched again and again while the endpoint loads a model."""
    endpoint = _annotate(_endpoint(request, name))
    return render(request, "inference/_endpoint_status.html", {"endpoint": endpoint})


@login_required
def endpoint_update(request, name):
    endpoint = _annotate(_endpoint(request, name))
    versions = list(selectors.usable_versions(request.account, endpoint.kind))
    current = endpoint.model_version
    initial = {
        "model_arn": current.arn if current else "",
        "inference_units": endpoint.desired_inference_units,
        "data_access_role_arn": endpoint.desired_data_access_role_arn,
    }
    form = forms.EndpointUpdateForm(
        request.POST or None, versions=versions, kind=endpoint.kind, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoints.endpoint_update(
                account=request.account,
                arn=endpoint.arn,
                desired_model_arn=data["model_arn"],
                desired_inference_units=data["inference_units"],
                desired_data_access_role_arn=data["data_access_role_arn"] or None,
            )
        except ServiceError as exc:
            form.add_error(_error_field(form, exc), exc.message)
        else:
            messages.success(
                request,
                f"Endpoint {endpoint.name} is updating; it serves its current model until the "
                "new one is loaded.",
            )
            return redirect("inference:endpoint-detail", name=endpoint.name)
    return render(request, "inference/endpoint_update.html", {"form": form, "endpoint": endpoint})


@login_required
@require_POST
def endpoint_delete(request, name):
    endpoint = _endpoint(request, name)
    try:
        endpoints.endpoint_delete(account=request.account, arn=endpoint.arn)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("inference:endpoint-detail", name=name)
    messages.success(request, f"Endpoint {name} was deleted.")
    return redirect("inference:endpoint-list")


def _highlighted(text: str, entities: list[dict]) -> tuple[list[dict], dict]:
    """The text cut into plain runs and entity runs, and a colour number per entity type."""
    types = sorted({e["Type"] for e in entities})
    colours = {t: i % ENTITY_COLOURS for i, t in enumerate(types)}
    runs, position = [], 0
    for entity in sorted(entities, key=lambda e: (e["BeginOffset"], -e["EndOffset"])):
        begin, end = entity["BeginOffset"], entity["EndOffset"]
        if begin < position:
            continue  # overlapping spans cannot be drawn inline; the table lists them all
        if begin > position:
            runs.append({"text": text[position:begin]})
        runs.append({"text": text[begin:end], "entity": entity, "colour": colours[entity["Type"]]})
        position = end
    if position < len(text):
        runs.append({"text": text[position:]})
    return runs, colours


@login_required
def endpoint_analyze(request, name):
    """Real-time analysis: type text, see classes or labels with scores, or entities inline."""
    endpoint = _annotate(_endpoint(request, name))
    form = forms.AnalyzeForm(request.POST or None)
    context = {"endpoint": endpoint, "form": form}
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        try:
            if endpoint.kind == ModelKind.CLASSIFIER:
                result = endpoints.classify_document(
                    account=request.account, endpoint_arn=endpoint.arn, text=text
                )
                context["classes"] = result.get("Classes")
                context["labels"] = result.get("Labels")
            else:
                found = endpoints.detect_entities(
                    account=request.account, endpoint_arn=endpoint.arn, text=text
                )
                context["entities"] = found
                context["runs"], context["colours"] = _highlighted(text, found)
            context["analysed"] = True
        except ServiceError as exc:
            form.add_error("text", exc.message)
    return render(request, "inference/endpoint_analyze.html", context)


# Analysis jobs


def _job(request, job_id: str):
    """A job of the signed-in account, or 404 for anything else."""
    return get_object_or_404(selectors.jobs(request.account), job_id=job_id)


# How much of a job is done, as its `fraction` says, for sorting in the database.
_JOB_PROGRESS = Case(
    When(status=JobStatus.COMPLETED, then=Value(1.0)),
    When(
        documents_total__gt=0,
        then=Cast(F("documents_done") + F("documents_failed"), FloatField()) / F("documents_total"),
    ),
    default=Value(0.0),
    output_field=FloatField(),
)
JOB_COLUMNS = (
    Column("Name", "name", (Coalesce(NullIf("job_name", Value("")), "job_id"),)),
    Column("Type", "type", ("kind",)),
    Column("Model version", "model", ("model_arn",)),
    Column("Status", "status", ("status",)),
    Column("Progress", "progress", (_JOB_PROGRESS,), first=DESC),
    Column("Documents", "documents", ("documents_total",), num=True, first=DESC),
    Column("Submitted", "submitted", ("submit_time",), first=DESC),
)


@login_required
def job_list(request):
    filters = forms.JobFilterForm(request.GET)
    jobs = selectors.jobs(request.account)
    has_any = jobs.exists()
    kind = status = ""
    if filters.is_valid():
        kind, status = filters.cleaned_data["kind"], filters.cleaned_data["status"]
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        jobs = jobs.filter(status=status)
    table = table_page(request, jobs, JOB_COLUMNS, default="submitted")
    for job in table.rows:
        # The version may be gone (deleted after the job); its ARN still names it.
        job.model_label = (
            forms.version_label(job.version)
            if job.version
            else job.model_arn.split(":", 5)[-1].split("/", 1)[-1]
        )
    context = {
        "table": table,
        "filters": filters,
        "has_any": has_any,
        "filtered": bool(kind or status),
    }
    return render(request, "inference/job_list.html", context)


def _upload_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name).strip(".")
    return name or "upload"


@login_required
def job_create(request):
    versions = list(selectors.usable_versions(request.account))
    initial = {}
    if request.GET.get("model"):
        initial["model_arn"] = request.GET["model"]
        if ":entity-recognizer/" in request.GET["model"]:
            initial["kind"] = JobKind.ENTITIES
    form = forms.JobCreateForm(
        request.POST or None,
        request.FILES or None,
        versions=versions,
        account_id=request.account.account_id,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            uri = data["input_uri"]
            if data.get("input_file"):
                upload = data["input_file"]
                stored = storage.S3Uri("uploads", f"{uuid.uuid4().hex}/{_upload_name(upload.name)}")
                storage.save_upload(request.account.account_id, stored, upload)
                uri = str(stored)
                form.remember_upload(uri)
            job = analysis_jobs.job_start(
                account=request.account,
                kind=data["kind"],
                job_name=data["name"] or None,
                model_arn=data["model_arn"],
                input_data_config={"S3Uri": uri, "InputFormat": data["input_format"]},
                output_data_config={"S3Uri": data["output_uri"]},
                data_access_role_arn=data["data_access_role_arn"],
                tags=data["tags"],
            )
        except ServiceError as exc:
            form.add_error(_error_field(form, exc), exc.message)
        else:
            messages.success(request, f"Job {job.job_name or job.job_id} was submitted.")
            return redirect("inference:job-detail", job_id=job.job_id)
    return render(
        request, "inference/job_create.html", {"form": form, "has_versions": bool(versions)}
    )


@login_required
def job_detail(request, job_id):
    job = _job(request, job_id)
    context = {"job": job, "tags": tags_of(request.account, job.arn)}
    return render(request, "inference/job_detail.html", context)


@login_required
def job_progress(request, job_id):
    """The progress panel alone, fetched again and again while the job runs."""
    return render(request, "inference/_job_progress.html", {"job": _job(request, job_id)})


@login_required
def job_output(request, job_id):
    """Stream the job's output.tar.gz from the account's store."""
    job = _job(request, job_id)
    if job.status != JobStatus.COMPLETED:
        raise Http404("This job has no output yet.")
    return output_archive(request, job.output_uri)


@login_required
@require_POST
def job_stop(request, job_id):
    """Stop a job; the console can stop classification jobs too (the API cannot)."""
    job = _job(request, job_id)
    try:
        stopped = analysis_jobs.job_stop(account=request.account, kind=None, job_id=job.job_id)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        done = "was stopped" if stopped.status == JobStatus.STOPPED else "is stopping"
        messages.success(request, f"Job {job.job_name or job.job_id} {done}.")
    return redirect("inference:job-detail", job_id=job.job_id)
