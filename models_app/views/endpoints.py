"""Console pages for endpoints, with real-time analysis."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from models_app import forms, kinds, selectors
from models_app.form_common import error_field, version_label
from models_app.models import EndpointStatus
from models_app.services import endpoints
from webapp.accounts.services.tags import tags_of
from webapp.core.errors import ServiceError
from webapp.core.tables import DESC, Column, table_page

ENTITY_COLOURS = 12  # the .ent-c<n> colour classes of console.css


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
        (Coalesce("current_units", "desired_units"),),
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
    return render(request, "models_app/endpoint_list.html", {"table": table})


@login_required
def endpoint_create(request):
    versions = list(selectors.usable_versions(request.account))
    initial = {"model_arn": request.GET.get("model", "")}
    # Flywheels with a version to serve (flywheel_app's rows, read through their relation).
    flywheels = request.account.flywheels.filter(status="ACTIVE", active_version__isnull=False)
    form = forms.EndpointCreateForm(
        request.POST or None,
        versions=versions,
        flywheels=flywheels.order_by("name"),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = endpoints.endpoint_create(
                account=request.account,
                name=data["name"],
                model_arn=data["model_arn"],
                desired_units=data["inference_units"],
                data_access_role_arn=data["data_access_role_arn"] or None,
                tags=data["tags"],
            )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), exc.message)
        else:
            messages.success(
                request, f"Endpoint {endpoint.name} is being created; it loads its model first."
            )
            return redirect("inference:endpoint-detail", name=endpoint.name)
    return render(
        request, "models_app/endpoint_create.html", {"form": form, "has_versions": bool(versions)}
    )


def _annotate(endpoint):
    endpoint.is_busy = endpoint.status in EndpointStatus.ACTIVE
    endpoint.serves = endpoint.status in EndpointStatus.SERVING
    endpoint.model_version = endpoint.version or endpoint.desired_version
    for version in (endpoint.version, endpoint.desired_version):
        if version is not None:
            version.label_text = version_label(version)
    return endpoint


@login_required
def endpoint_detail(request, name):
    endpoint = _annotate(_endpoint(request, name))
    context = {"endpoint": endpoint, "tags": tags_of(request.account, endpoint.arn)}
    return render(request, "models_app/endpoint_detail.html", context)


@login_required
def endpoint_status(request, name):
    """The status panel alone, fetched again and again while the endpoint loads a model."""
    endpoint = _annotate(_endpoint(request, name))
    return render(request, "models_app/_endpoint_status.html", {"endpoint": endpoint})


@login_required
def endpoint_update(request, name):
    endpoint = _annotate(_endpoint(request, name))
    versions = list(selectors.usable_versions(request.account, endpoint.kind))
    current = endpoint.model_version
    initial = {
        "model_arn": current.arn if current else "",
        "inference_units": endpoint.desired_units,
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
                desired_units=data["inference_units"],
                desired_data_access_role_arn=data["data_access_role_arn"] or None,
            )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), exc.message)
        else:
            messages.success(
                request,
                f"Endpoint {endpoint.name} is updating; it serves its current model until the "
                "new one is loaded.",
            )
            return redirect("inference:endpoint-detail", name=endpoint.name)
    return render(request, "models_app/endpoint_update.html", {"form": form, "endpoint": endpoint})


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


def _names(links) -> str:
    """Links (text, url) listed as "a", "a and b" or "a, b and c"."""
    parts = [format_html('<a href="{}">{}</a>', url, text) for text, url in links]
    if len(parts) < 2:
        return format_html_join("", "{}", ((p,) for p in parts))
    return format_html(
        "{} and {}", format_html_join(", ", "{}", ((p,) for p in parts[:-1])), parts[-1]
    )


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def delete_warning(usage, *, past_jobs: bool = True) -> str:
    """What a version's delete dialog says first of what uses it (plain text; "" for nothing):
    the endpoints and running jobs that refuse the delete, else the jobs that used it."""
    warnings = []
    if usage.endpoints:
        names = _listed([e.name for e in usage.endpoints])
        one = len(usage.endpoints) == 1
        warnings.append(
            f"This version is used by the endpoint{'' if one else 's'} {names}; deleting it is "
            f"refused while {'that endpoint uses' if one else 'those endpoints use'} it."
        )
    if usage.active_jobs:
        names = _listed([j.job_name or j.job_id for j in usage.active_jobs])
        one = len(usage.active_jobs) == 1
        warnings.append(
            f"The analysis job{'' if one else 's'} {names} {'is' if one else 'are'} still "
            f"running with it; deleting it is refused until {'it ends' if one else 'they end'}."
        )
    done = [j for j in usage.jobs if j not in usage.active_jobs]
    if past_jobs and done and not warnings:
        names = _listed([j.job_name or j.job_id for j in done])
        more = usage.job_count - len(usage.jobs)
        names += f" and {more} more" if more > 0 else ""
        warnings.append(
            f"The analysis job{'' if len(done) == 1 and more <= 0 else 's'} {names} used this "
            "version; their output stays, but they will name a version that no longer exists."
        )
    return " ".join(warnings)


def usage_context(version) -> dict:
    """For a version's page: what uses it (`usage`) and what its delete dialog warns of first
    (`delete_warning`)."""
    usage = selectors.version_usage(version)
    return {"usage": usage, "delete_warning": delete_warning(usage)}


def annotate_delete_warnings(versions) -> None:
    """For a versions table: each version's `delete_warning` (of endpoints and running jobs)."""
    usages = selectors.versions_usage(versions)
    for v in versions:
        usage = usages.get(v.pk)
        v.delete_warning = delete_warning(usage, past_jobs=False) if usage else ""


def version_refusal(version, exc: ServiceError) -> str:
    """The console's words for a refused version deletion: the endpoints (or the running job)
    that use it, by name with a link to each, where the API names them by ARN."""
    if exc.code != "ResourceInUseException":
        return exc.message
    usage = selectors.version_usage(version)
    label = version_label(version)
    if usage.endpoints:
        links = [
            (e.name, reverse("inference:endpoint-detail", args=[e.name])) for e in usage.endpoints
        ]
        one = len(links) == 1
        return format_html(
            "Version {} is used by the {} {}, so it cannot be deleted: delete {} or update {} to "
            "another version first.",
            label,
            "endpoint" if one else "endpoints",
            _names(links),
            "that endpoint" if one else "those endpoints",
            "it" if one else "them",
        )
    if usage.active_jobs:
        links = [
            (j.job_name or j.job_id, reverse("inference:job-detail", args=[j.job_id]))
            for j in usage.active_jobs
        ]
        one = len(links) == 1
        return format_html(
            "Version {} is used by the {} {}, which {} not finished, so it cannot be deleted: "
            "wait for {} to finish or stop {} first.",
            label,
            "analysis job" if one else "analysis jobs",
            _names(links),
            "has" if one else "have",
            "it" if one else "them",
            "it" if one else "them",
        )
    return exc.message


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
            if kinds.get(endpoint.kind).serves == "classify":
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
    return render(request, "models_app/endpoint_analyze.html", context)
