"""Console pages for flywheels: the list, create, the flywheel's page, update and delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flywheel_app import forms, selectors
from flywheel_app.models import DatasetType, FlywheelStatus
from flywheel_app.selectors.iterations import iterations
from flywheel_app.services import flywheels
from flywheel_app.views.common import (
    F1,
    annotate_flywheel,
    annotate_iteration,
    dataset_busy,
    load_flywheel,
    said,
)
from models_app import selectors as model_selectors
from models_app.form_common import error_field
from models_app.selectors.model_copy import usable_keys
from webapp.accounts.services.tags import tags_of
from webapp.core.errors import ServiceError
from webapp.core.tables import DESC, Column, table_page

LIST_COLUMNS = (
    Column("Name", "name", ("name",)),
    Column("Type", "type", ("kind",)),
    Column(
        "Active version", "active", ("active_version__model__name", "active_version__version_name")
    ),
    Column("F1 score", "f1", (F("active_version__metrics__F1Score"),), num=True, first=DESC),
    Column("Status", "status", ("status",)),
    Column("Latest iteration"),
    Column("Created", "created", ("created_at",), first=DESC),
)


@login_required
def flywheel_list(request):
    rows = selectors.flywheels(request.account)
    table = table_page(request, rows, LIST_COLUMNS, default="name")
    latest = selectors.latest_iteration_ids(f.pk for f in table.rows)
    for flywheel in table.rows:
        annotate_flywheel(flywheel)
        flywheel.latest_iteration = latest.get(flywheel.pk, "")
    return render(request, "flywheel_app/flywheel_list.html", {"table": table})


@login_required
def flywheel_create(request):
    versions = list(model_selectors.usable_versions(request.account).filter(source_model_arn=""))
    initial = {"active_model_arn": request.GET.get("version", "")}
    form = forms.FlywheelCreateForm(
        request.POST or None,
        account_id=request.account.account_id,
        versions=versions,
        keys=usable_keys(request.account),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            flywheel = flywheels.flywheel_create(
                account=request.account, principal=request.user, **form.service_arguments()
            )
            if form.promotion_arguments()["enabled"]:
                flywheels.flywheel_promotion_set(
                    account=request.account, arn=flywheel.arn, **form.promotion_arguments()
                )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), said(exc.message))
        else:
            messages.success(
                request,
                f"Flywheel {flywheel.name} is being created; its data lake is prepared first.",
            )
            return redirect("flywheel_app:flywheel-detail", name=flywheel.name)
    context = {"form": form, "has_versions": bool(versions)}
    return render(request, "flywheel_app/flywheel_create.html", context)


def work_context(request, flywheel) -> dict:
    """The parts of a flywheel's page that change while its work runs: its status, its
    datasets and its iterations."""
    annotate_flywheel(flywheel)
    datasets = list(selectors.datasets_filtered(request.account, flywheel=flywheel))
    for dataset in datasets:
        dataset.is_busy = dataset_busy(dataset)
    runs = list(iterations(flywheel).order_by("-created_at", "-id"))
    for iteration in runs:
        annotate_iteration(iteration, flywheel)
    busy = flywheel.is_busy or any(d.is_busy for d in datasets) or any(i.is_running for i in runs)
    return {
        "flywheel": flywheel,
        "train_datasets": [d for d in datasets if d.dataset_type == DatasetType.TRAIN],
        "test_datasets": [d for d in datasets if d.dataset_type == DatasetType.TEST],
        "iterations": runs,
        "busy": busy,
        "can_run": flywheel.status == FlywheelStatus.ACTIVE and not busy,
    }


def _chart(runs) -> dict | None:
    """AverageF1Score of each iteration, oldest first: the version it started from (evaluated)
    and the one it trained, both on the iteration's test pool."""
    scored = [i for i in reversed(runs) if i.trained_metrics or i.evaluated_metrics]
    if not scored:
        return None
    return {
        "iterations": [i.iteration_id for i in scored],
        "evaluated": [(i.evaluated_metrics or {}).get(F1) for i in scored],
        "trained": [(i.trained_metrics or {}).get(F1) for i in scored],
    }


@login_required
def flywheel_detail(request, name):
    flywheel = load_flywheel(request, name)
    context = work_context(request, flywheel)
    context.update(
        tags=tags_of(request.account, flywheel.arn),
        chart=_chart(context["iterations"]),
        latest=context["iterations"][0] if context["iterations"] else None,
    )
    return render(request, "flywheel_app/flywheel_detail.html", context)


@login_required
def flywheel_work(request, name):
    """Status, datasets and iterations alone, fetched again and again while work runs."""
    flywheel = load_flywheel(request, name)
    return render(request, "flywheel_app/_flywheel_work.html", work_context(request, flywheel))


@login_required
def flywheel_update(request, name):
    flywheel = load_flywheel(request, name)
    annotate_flywheel(flywheel)
    security = flywheel.data_security_config or {}
    initial = {
        "active_model_arn": flywheel.active_version.arn if flywheel.active_version else "",
        "data_access_role_arn": flywheel.data_access_role_arn,
        "model_kms_key_id": security.get("ModelKmsKeyId", ""),
        "volume_kms_key_id": security.get("VolumeKmsKeyId", ""),
        "promote_automatically": flywheel.promotes,
    }
    for field in ("promotion_margin", "promotion_max_label_drop"):
        if getattr(flywheel, field) is not None:
            initial[field] = getattr(flywheel, field)
    form = forms.FlywheelUpdateForm(
        request.POST or None,
        versions=list(selectors.activatable_versions(request.account, flywheel)),
        keys=usable_keys(request.account),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            flywheels.flywheel_update(
                account=request.account,
                arn=flywheel.arn,
                principal=request.user,
                **form.service_arguments(),
            )
            flywheels.flywheel_promotion_set(
                account=request.account, arn=flywheel.arn, **form.promotion_arguments()
            )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), said(exc.message))
        else:
            messages.success(request, f"Flywheel {flywheel.name} was updated.")
            return redirect("flywheel_app:flywheel-detail", name=flywheel.name)
    context = {"flywheel": flywheel, "form": form}
    return render(request, "flywheel_app/flywheel_update.html", context)


@login_required
@require_POST
def flywheel_delete(request, name):
    flywheel = load_flywheel(request, name)
    try:
        flywheels.flywheel_delete(account=request.account, arn=flywheel.arn)
    except ServiceError as exc:
        messages.error(request, said(exc.message))
        return redirect("flywheel_app:flywheel-detail", name=name)
    messages.success(
        request,
        f"Flywheel {name} was deleted with its datasets; its data lake and model versions stay.",
    )
    return redirect("flywheel_app:flywheel-list")
