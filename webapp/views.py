import re

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from webapp.api.gateway import api


@csrf_exempt
def root(request):
    """POST / goes to the API gateway (as boto3 sends it); anything else is the console."""
    if request.method == "POST":
        return api(request)
    return _home(request)


@login_required
def _home(request):
    """The dashboard: what a user comes back for, each section one query through selectors."""
    from models_app import kinds, selectors
    from models_app.form_common import version_label
    from models_app.models import version_label as model_version_label

    account = request.account
    models = list(selectors.dashboard_models(account))
    # Every model is listed when fewer than a full section came back: kinds not seen have none.
    complete = len(models) < selectors.DASHBOARD_ROWS
    totals = {kind: 0 for kind in kinds.KINDS} if complete else {}
    for model in models:
        model.score = _score_text(model.kind, model.latest_f1)
        model.version_text = model_version_label(model.latest_name, model.latest_time)
        totals[model.kind] = model.kind_total
    endpoints = list(selectors.dashboard_endpoints(account))
    for endpoint in endpoints:
        endpoint.model_version = endpoint.version or endpoint.desired_version
        if endpoint.model_version is not None:
            endpoint.model_label = version_label(endpoint.model_version)
    jobs = list(selectors.dashboard_jobs(account))
    for job in jobs:
        job.model_label = version_label(job.version) if job.version else ""
        job.noun = kinds.of_job(job.kind).job_noun.capitalize()
    failures = selectors.dashboard_failures(account)
    for failure in failures:
        failure["url"] = _failure_url(failure)
        failure["noun"] = _failure_noun(failure)
        failure["reason"] = _plain(failure["reason"])
    context = {
        "models": models,
        "totals": totals,
        "endpoints": endpoints,
        "jobs": jobs,
        "failures": failures,
    }
    return render(request, "home.html", context)


def _score_text(kind: str, f1) -> str:
    """A model's F1 score as its own pages show it (recognizers in percent, as Comprehend)."""
    if f1 is None:
        return "—"
    return f"{f1 * 100:.2f}%" if kind == "recognizer" else f"{f1:.4f}"


# "(InputDataConfig.S3Uri)": the request member a message names, for API callers.
_MEMBER = re.compile(
    r"\s*\((?:[A-Z][A-Za-z0-9]*\.)*[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\)(?=[.;:,]?(\s|$))"
)


def _plain(message: str) -> str:
    """A stored Message as the dashboard says it: without the API member names it mentions."""
    return _MEMBER.sub("", message or "")


def _failure_url(failure: dict) -> str:
    if failure["what"] == "version":
        name = f"models_app:{failure['kind']}-version-detail"
        return reverse(name, args=[failure["name"], int(failure["ref"])])
    if failure["what"] == "job":
        return reverse("inference:job-detail", args=[failure["ref"]])
    return reverse("inference:endpoint-detail", args=[failure["ref"]])


def _failure_noun(failure: dict) -> str:
    from models_app import kinds

    if failure["what"] == "version":
        return f"{kinds.get(failure['kind']).noun.capitalize()} version"
    if failure["what"] == "job":
        return kinds.of_job(failure["kind"]).job_noun.capitalize()
    return "Endpoint"


def health(request):
    """Liveness for load balancers and the run script: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
