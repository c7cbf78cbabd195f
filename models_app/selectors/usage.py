"""What uses a model version, and what the dashboard shows: reads, always scoped to an account."""

from dataclasses import dataclass, field

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, NullIf

from models_app.models import (
    AnalysisJob,
    CustomModel,
    Endpoint,
    EndpointStatus,
    JobStatus,
    ModelStatus,
    ModelVersion,
)

JOBS_SHOWN = 10  # of one version's jobs, on its page; the jobs list has them all


@dataclass(frozen=True)
class VersionUsage:
    """The endpoints that serve a version (or are moving to it) and the jobs that used it."""

    endpoints: list[Endpoint] = field(default_factory=list)
    jobs: list[AnalysisJob] = field(default_factory=list)  # running first, then newest
    job_count: int = 0  # all of them, when more than JOBS_SHOWN

    @property
    def active_jobs(self) -> list[AnalysisJob]:
        return [job for job in self.jobs if job.status in JobStatus.ACTIVE]

    @property
    def blocks_delete(self) -> bool:
        """Whether deleting the version is refused (as the service refuses it) for these."""
        return bool(self.endpoints or self.active_jobs)


def _first_active():
    return Case(When(status__in=JobStatus.ACTIVE, then=Value(0)), default=Value(1))


def version_usage(version: ModelVersion) -> VersionUsage:
    """What uses `version`: two queries, whatever the number of endpoints and jobs."""
    endpoints = list(
        Endpoint.objects.filter(
            Q(version=version) | Q(desired_version=version), account=version.account
        )
        .select_related("account")
        .order_by("name")
    )
    jobs = list(
        AnalysisJob.objects.filter(version=version, account=version.account)
        .select_related("account")
        .annotate(total=Window(Count("id")))
        .order_by(_first_active(), "-submit_time", "-id")[:JOBS_SHOWN]
    )
    return VersionUsage(endpoints, jobs, jobs[0].total if jobs else 0)


def versions_usage(versions) -> dict[int, VersionUsage]:
    """For a list of versions (a model's versions table): the endpoints using each and its
    running jobs, in two queries; only versions something uses have an entry."""
    by_pk = {v.pk: v for v in versions}
    if not by_pk:
        return {}
    accounts = {v.account_id for v in by_pk.values()}
    endpoints: dict[int, list[Endpoint]] = {}
    for e in (
        Endpoint.objects.filter(
            Q(version_id__in=by_pk) | Q(desired_version_id__in=by_pk), account_id__in=accounts
        )
        .select_related("account")
        .order_by("name")
    ):
        for pk in {e.version_id, e.desired_version_id} & by_pk.keys():
            endpoints.setdefault(pk, []).append(e)
    jobs: dict[int, list[AnalysisJob]] = {}
    for j in (
        AnalysisJob.objects.filter(
            version_id__in=by_pk, status__in=JobStatus.ACTIVE, account_id__in=accounts
        )
        .select_related("account")
        .order_by("-submit_time", "-id")
    ):
        jobs.setdefault(j.version_id, []).append(j)
    return {
        pk: VersionUsage(endpoints.get(pk, []), jobs.get(pk, []), len(jobs.get(pk, [])))
        for pk in endpoints.keys() | jobs.keys()
    }


def best_of_models(versions) -> dict[int, float]:
    """Of usable versions, the one with the highest F1 score in each model that has more than
    one to choose from, as {version pk: F1}; on a tie the first submitted wins."""
    usable: dict[int, list] = {}
    for v in versions:
        if v.status in ModelStatus.USABLE:
            usable.setdefault(v.model_id, []).append(v)
    best = {}
    for candidates in usable.values():
        if len(candidates) < 2:
            continue
        scored = [
            (v, (v.metrics or {}).get("F1Score"))
            for v in sorted(candidates, key=lambda v: (v.submit_time, v.pk))
        ]
        scored = [(v, f1) for v, f1 in scored if isinstance(f1, int | float)]
        if scored:
            top = max(f1 for _, f1 in scored)
            winner = next(v for v, f1 in scored if f1 == top)
            best[winner.pk] = top
    return best


# The dashboard: one query per section.

DASHBOARD_ROWS = 8


def dashboard_models(account, limit: int = DASHBOARD_ROWS) -> QuerySet:
    """The account's models, most recently trained first, each with its latest version's pk,
    name, status and F1 score, and how many models of its kind there are."""
    latest = ModelVersion.objects.filter(model=OuterRef("pk")).order_by("-submit_time", "-pk")
    f1 = Cast(KeyTextTransform("F1Score", "metrics"), FloatField())
    return (
        CustomModel.objects.filter(account=account)
        .annotate(
            latest_pk=Subquery(latest.values("pk")[:1]),
            latest_name=Subquery(latest.values("version_name")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
            latest_source=Subquery(latest.values("source_model_arn")[:1]),
            latest_f1=Subquery(latest.annotate(f1=f1).values("f1")[:1]),
            latest_time=Subquery(latest.values("submit_time")[:1]),
            kind_total=Window(Count("id"), partition_by=[F("kind")]),
        )
        .filter(latest_pk__isnull=False)
        .order_by(F("latest_time").desc(nulls_last=True), "name")[:limit]
    )


def dashboard_endpoints(account, limit: int = DASHBOARD_ROWS) -> QuerySet:
    """Endpoints that answer calls or are getting ready to, by name."""
    serving = (*EndpointStatus.SERVING, EndpointStatus.CREATING)
    return (
        Endpoint.objects.filter(account=account, status__in=serving)
        .select_related("account", "version__model", "desired_version__model")
        .order_by("name")[:limit]
    )


def dashboard_jobs(account, limit: int = DASHBOARD_ROWS) -> QuerySet:
    """Running jobs, then the most recent others."""
    return (
        AnalysisJob.objects.filter(account=account)
        .select_related("account", "version__model")
        .order_by(_first_active(), "-submit_time", "-id")[:limit]
    )


def _failure_columns(what: str, **columns) -> dict:
    """The same columns, as expressions of one type each, for every table failures come from.

    They are named failure_<key>, since a union needs one name per column and "name" or
    "kind" would clash with the tables' own fields."""
    types = {"ref": CharField(), "kind": CharField(), "name": CharField(), "at": DateTimeField()}
    out = {"failure_what": Value(what, output_field=CharField())}
    for key, expression in columns.items():
        if key in types:
            expression = Cast(expression, types[key])
        out[f"failure_{key}"] = expression
    return out


FAILURE_FIELDS = ("what", "kind", "name", "sub", "ref", "reason", "at")
_COLUMNS = tuple(f"failure_{key}" for key in FAILURE_FIELDS)


def dashboard_failures(account, limit: int = DASHBOARD_ROWS) -> list[dict]:
    """The latest versions in error, failed jobs and failed endpoints, newest first, in one
    query, as dicts of FAILURE_FIELDS: what ("version", "job", "endpoint"), kind, name (of the
    model, job or endpoint), sub (the version's name), ref (what its page is found by: the
    version's pk, the JobId, the endpoint's name), reason (its Message) and at."""
    versions = (
        ModelVersion.objects.filter(account=account, status=ModelStatus.IN_ERROR)
        .annotate(
            **_failure_columns(
                "version",
                kind=F("model__kind"),
                name=F("model__name"),
                sub=F("version_name"),
                ref=F("pk"),
                reason=F("message"),
                at=Coalesce("end_time", "training_end_time", "submit_time"),
            )
        )
        .values(*_COLUMNS)
    )
    jobs = (
        AnalysisJob.objects.filter(account=account, status=JobStatus.FAILED)
        .annotate(
            **_failure_columns(
                "job",
                kind=F("kind"),
                name=Coalesce(NullIf("job_name", Value("")), "job_id"),
                sub=Value("", output_field=CharField()),
                ref=F("job_id"),
                reason=F("message"),
                at=Coalesce("end_time", "submit_time"),
            )
        )
        .values(*_COLUMNS)
    )
    endpoints = (
        Endpoint.objects.filter(account=account, status=EndpointStatus.FAILED)
        .annotate(
            **_failure_columns(
                "endpoint",
                kind=F("kind"),
                name=F("name"),
                sub=Value("", output_field=CharField()),
                ref=F("name"),
                reason=F("message"),
                at=F("updated_at"),
            )
        )
        .values(*_COLUMNS)
    )
    rows = versions.union(jobs, endpoints, all=True).order_by("-failure_at")[:limit]
    return [{key: row[f"failure_{key}"] for key in FAILURE_FIELDS} for row in rows]
