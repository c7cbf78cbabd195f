"""Console pages for asynchronous analysis jobs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, F, FloatField, Value, When
from django.db.models.functions import Cast, Coalesce, NullIf
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from models_app import forms, kinds, selectors
from models_app.form_common import error_field, store_upload, version_label
from models_app.models import JobStatus
from models_app.services import analysis_jobs
from models_app.views.versions import output_archive
from webapp.accounts.services.tags import tags_of
from webapp.core.errors import ServiceError
from webapp.core.tables import DESC, Column, table_page

ENTITY_COLOURS = 12  # the .ent-c<n> colour classes of console.css


def _job(request, job_id: str):
    """A job of the signed-in account, through the jobs' access gate, or 404 for anything else."""
    try:
        return selectors.job_for(request.account, job_id)
    except ServiceError:
        raise Http404 from None


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
            version_label(job.version)
            if job.version
            else job.model_arn.split(":", 5)[-1].split("/", 1)[-1]
        )
    context = {
        "table": table,
        "filters": filters,
        "has_any": has_any,
        "filtered": bool(kind or status),
    }
    return render(request, "models_app/job_list.html", context)


@login_required
def job_create(request):
    versions = list(selectors.usable_versions(request.account))
    initial = {}
    if request.GET.get("model"):
        initial["model_arn"] = request.GET["model"]
        spec = kinds.of_arn(request.GET["model"])
        if spec is not None:
            initial["kind"] = spec.job_kind
    # Flywheels with a version to use (flywheel_app's rows, read through their relation).
    flywheels = request.account.flywheels.filter(status="ACTIVE", active_version__isnull=False)
    form = forms.JobCreateForm(
        request.POST or None,
        request.FILES or None,
        versions=versions,
        account_id=request.account.account_id,
        flywheels=flywheels.order_by("name"),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            uri = data["input_uri"]
            if data.get("input_file"):
                upload = data["input_file"]
                uri = store_upload(request.account.account_id, upload)
                form.remember_upload(uri)
            job = analysis_jobs.job_start(
                account=request.account,
                kind=data["kind"],
                job_name=data["name"] or None,
                **(
                    {"flywheel_arn": data["model_arn"]}
                    if data["model_arn"] in form.flywheel_kinds
                    else {"model_arn": data["model_arn"]}
                ),
                input_data_config={"S3Uri": uri, "InputFormat": data["input_format"]},
                output_data_config={"S3Uri": data["output_uri"]},
                data_access_role_arn=data["data_access_role_arn"],
                tags=data["tags"],
            )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), exc.message)
        else:
            messages.success(request, f"Job {job.job_name or job.job_id} was submitted.")
            return redirect("inference:job-detail", job_id=job.job_id)
    return render(
        request, "models_app/job_create.html", {"form": form, "has_versions": bool(versions)}
    )


@login_required
def job_detail(request, job_id):
    job = _job(request, job_id)
    context = {
        "job": job,
        "tags": tags_of(request.account, job.arn),
        "version_label_text": version_label(job.version) if job.version else "",
    }
    return render(request, "models_app/job_detail.html", context)


@login_required
def job_progress(request, job_id):
    """The progress panel alone, fetched again and again while the job runs."""
    return render(request, "models_app/_job_progress.html", {"job": _job(request, job_id)})


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
