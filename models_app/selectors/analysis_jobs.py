"""Reads of analysis jobs, always scoped to an account."""

from datetime import datetime

from django.db.models import QuerySet

from models_app import kinds
from models_app.models import AnalysisJob, JobStatus, ModelVersion
from models_app.selectors.versions import one_filter
from webapp.core import arns
from webapp.core.errors import job_not_found

MAX_JOB_ID = 32  # Comprehend's limit on JobId


def jobs(account, kind: str | None = None) -> QuerySet:
    qs = AnalysisJob.objects.filter(account=account).select_related(
        "account", "version__model", "version__account"
    )
    return qs if kind is None else qs.filter(kind=kind)


def jobs_filtered(
    account,
    kind: str | None,
    *,
    name: str | None = None,
    status: str | None = None,
    submitted_before: datetime | None = None,
    submitted_after: datetime | None = None,
) -> QuerySet:
    """List jobs with at most one of Comprehend's filters set."""
    conditions = {
        "job_name": name,
        "status": status,
        "submit_time__lt": submitted_before,
        "submit_time__gt": submitted_after,
    }
    qs = one_filter(
        jobs(account, kind), conditions, "JobName, JobStatus, SubmitTimeBefore or SubmitTimeAfter"
    )
    return qs.order_by("-submit_time", "-id")


def job_for(account, job_id_or_arn, *, kind: str | None = None) -> AnalysisJob:
    """The access gate for analysis jobs, by JobId or by job ARN.

    A JobId the account has not got answers JobNotFoundException, and a job ARN
    ResourceNotFoundException (as TagResource does), also for another account's job.
    """
    value = str(job_id_or_arn) if job_id_or_arn else ""
    # A JobId has at most 32 characters and every job ARN has more, so they never mix up: a
    # short JobId that happens to begin with "arn:" is still looked up as an id.
    if value.startswith("arn:") and len(value) > MAX_JOB_ID:
        return arns.resolve(
            account,
            value,
            field="ResourceArn",
            expected=kinds.of_job(kind).job_arn_type if kind else kinds.job_arn_types(),
            queryset_for=lambda arn: jobs(
                account, kinds.of_job_arn_type(arn.resource_type).job_kind
            ).filter(job_id=arn.name),
        )
    job = jobs(account, kind).filter(job_id=value).first() if value else None
    if job is None:
        raise job_not_found(f"Could not find the job {job_id_or_arn}.")
    return job


def job_lookup(account, value: str, *, field: str):
    """For the resource registry (tags): the job an ARN names, through the gate."""
    return job_for(account, value)


def active_jobs_using(version: ModelVersion) -> QuerySet:
    return AnalysisJob.objects.filter(version=version, status__in=JobStatus.ACTIVE)
