"""Console actions on a flywheel's iterations: run one, stop it, make its version active, and
its page with the scores of both versions per label."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flywheel_app import selectors
from flywheel_app.selectors.iterations import ITERATION_ID, iterations
from flywheel_app.services import flywheels
from flywheel_app.services import iterations as iteration_services
from flywheel_app.views.common import (
    annotate_flywheel,
    annotate_iteration,
    delta_text,
    load_flywheel,
    said,
    score_text,
)
from webapp.core.errors import ServiceError

METRICS = (
    ("AverageF1Score", "F1 score (macro average)"),
    ("AveragePrecision", "Precision (macro average)"),
    ("AverageRecall", "Recall (macro average)"),
    ("AverageAccuracy", "Accuracy"),
)


def _iteration(request, flywheel, iteration_id: str):
    """An iteration of the flywheel (already loaded through the account), or 404."""
    if not ITERATION_ID.fullmatch(iteration_id):
        raise Http404("No such iteration.")
    found = iterations(flywheel).filter(iteration_id=iteration_id).first()
    if found is None:
        raise Http404("No such iteration.")
    return found


def _back(name: str):
    return redirect("flywheel_app:flywheel-detail", name=name)


@login_required
@require_POST
def iteration_start(request, name):
    """Run flywheel: start an iteration on the data added since the last one."""
    flywheel = load_flywheel(request, name)
    try:
        iteration = iteration_services.flywheel_iteration_start(
            account=request.account, flywheel_arn=flywheel.arn
        )
    except ServiceError as exc:
        messages.error(request, said(exc.message))
    else:
        messages.success(
            request,
            f"Iteration {iteration.iteration_id} started: it trains a new version and scores it "
            "against the active one.",
        )
    return _back(name)


@login_required
@require_POST
def iteration_stop(request, name, iteration_id):
    flywheel = load_flywheel(request, name)
    iteration = _iteration(request, flywheel, iteration_id)
    try:
        iteration_services.iteration_stop(
            account=request.account, flywheel_arn=flywheel.arn, iteration_id=iteration.iteration_id
        )
    except ServiceError as exc:
        messages.error(request, said(exc.message))
    else:
        messages.success(request, f"Iteration {iteration.iteration_id} is stopping.")
    return _back(name)


@login_required
@require_POST
def iteration_activate(request, name, iteration_id):
    """Make active model: the iteration's trained version becomes the flywheel's active one."""
    flywheel = load_flywheel(request, name)
    iteration = _iteration(request, flywheel, iteration_id)
    version = iteration.trained_version
    if version is None:
        messages.error(request, f"Iteration {iteration.iteration_id} trained no version.")
        return _back(name)
    try:
        flywheels.flywheel_update(
            account=request.account,
            arn=flywheel.arn,
            active_model_arn=version.arn,
            principal=request.user,
        )
    except ServiceError as exc:
        messages.error(request, said(exc.message))
    else:
        label = version.label
        messages.success(
            request,
            f"Version {label} is now the active model of {flywheel.name}; endpoints that follow "
            "the flywheel are moving to it.",
        )
    return _back(name)


@login_required
def iteration_detail(request, name, iteration_id):
    flywheel = load_flywheel(request, name)
    annotate_flywheel(flywheel)
    iteration = _iteration(request, flywheel, iteration_id)
    annotate_iteration(iteration, flywheel)
    evaluated, trained = iteration.evaluated_metrics or {}, iteration.trained_metrics or {}
    scores = []
    for key, label in METRICS:
        if key not in evaluated and key not in trained:
            continue
        before, after = evaluated.get(key), trained.get(key)
        change = after - before if before is not None and after is not None else None
        scores.append(
            {
                "label": label,
                "evaluated": score_text(before),
                "trained": score_text(after),
                "delta": delta_text(change),
                "up": change is not None and change > 0,
                "down": change is not None and change < 0,
            }
        )
    deltas = []
    for row in selectors.iteration_label_deltas(iteration):
        change = row["delta"]
        deltas.append(
            {
                **row,
                "evaluated_text": score_text(row["evaluated"]),
                "trained_text": score_text(row["trained"]),
                "delta_text": delta_text(change),
                "sort": "" if change is None else change,
                "up": change is not None and change > 0,
                "down": change is not None and change < 0,
            }
        )
    context = {"flywheel": flywheel, "iteration": iteration, "scores": scores, "deltas": deltas}
    return render(request, "flywheel_app/iteration_detail.html", context)
