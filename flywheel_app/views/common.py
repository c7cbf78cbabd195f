"""What the flywheel pages share: loading a flywheel of the account, and how versions,
scores and statuses are shown."""

import re

from django.shortcuts import get_object_or_404
from django.urls import reverse

from flywheel_app import kind_ops, selectors
from flywheel_app.models import DatasetStatus, FlywheelStatus, IterationStatus
from models_app import kinds
from webapp.core.validation import in_words

F1 = "AverageF1Score"


# The services speak the API's words ("The flywheel arn:aws:comprehend:…:flywheel/news is
# CREATING"); the flywheel pages say the same with names and plain states.
_ARN = re.compile(
    r"arn:aws:comprehend:[a-z0-9-]+:\d{12}:[a-z-]+/(?P<name>[A-Za-z0-9-]+)"
    r"(?:/(?:version|dataset)/(?P<child>[A-Za-z0-9-]+))?"
)
_STATES = {
    "is CREATING": "is still being created",
    "is UPDATING": "is being updated",
    "is DELETING": "is being deleted",
    "is FAILED": "has failed",
    "is TRAINING": "is still training",
    "is SUBMITTED": "is waiting to train",
    "is IN_ERROR": "failed to train",
    "is STOPPED": "was stopped",
    "is STOP_REQUESTED": "is stopping",
    "is ACTIVE": "is active",
    "an ACTIVE": "an active",
    "ACTIVE flywheel": "active flywheel",
    "TRAIN or TEST": "training or test",
    "a TRAIN dataset": "a training dataset",
}
_STATE_WORD = re.compile(
    r"\b(ACTIVE|COMPLETED|CREATING|DELETING|EVALUATING|FAILED|IN_ERROR|IN_SERVICE|STOPPED|"
    r"STOP_REQUESTED|SUBMITTED|TRAINED|TRAINING|UPDATING)\b"
)


def said(message: str) -> str:
    """A service's message as the flywheel pages say it: constraints in words, resources by
    name, states in plain words."""
    message = _ARN.sub(
        lambda m: f"{m['name']} · {m['child']}" if m["child"] else m["name"], in_words(message)
    )
    for api, words in _STATES.items():
        message = message.replace(api, words)
    return _STATE_WORD.sub(lambda m: m[1].lower().replace("_", " "), message)


def load_flywheel(request, name: str):
    """A flywheel of the signed-in account, or 404 for anything else (another account's too)."""
    return get_object_or_404(selectors.flywheels(request.account), name=name)


def version_url(version) -> str:
    if version is None:
        return ""
    page = kinds.get(version.model.kind).version_page
    return reverse(page, args=[version.model.name, version.pk])


def version_label(version) -> str:
    if version is None:
        return ""
    return f"{version.model.name} · {version.label}"


def score_text(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def delta_text(value) -> str:
    return "—" if value is None else f"{value:+.4f}"


def version_f1(version):
    """The F1 score a version recorded for itself (macro for classifiers)."""
    if version is None or not version.is_usable:
        return None
    return (version.metrics or {}).get("F1Score")


def annotate_flywheel(flywheel) -> None:
    spec = kinds.KINDS.get(flywheel.kind)
    flywheel.kind_name = spec.title if spec else flywheel.kind
    # The pages word labels per document one way and typed spans another.
    flywheel.is_classifier = kind_ops.pick(flywheel.kind, labels=True, spans=False)
    flywheel.active_label = version_label(flywheel.active_version)
    flywheel.active_url = version_url(flywheel.active_version)
    flywheel.active_f1 = score_text(version_f1(flywheel.active_version))
    flywheel.is_busy = flywheel.status == FlywheelStatus.CREATING


def annotate_iteration(iteration, flywheel) -> None:
    evaluated = (iteration.evaluated_metrics or {}).get(F1)
    trained = (iteration.trained_metrics or {}).get(F1)
    iteration.evaluated_label = version_label(iteration.evaluated_version)
    iteration.evaluated_url = version_url(iteration.evaluated_version)
    iteration.trained_label = version_label(iteration.trained_version)
    iteration.trained_url = version_url(iteration.trained_version)
    iteration.evaluated_f1 = score_text(evaluated)
    iteration.trained_f1 = score_text(trained)
    iteration.gain = evaluated is not None and trained is not None and trained > evaluated
    iteration.delta = delta_text(
        trained - evaluated if evaluated is not None and trained is not None else None
    )
    iteration.is_running = iteration.status in IterationStatus.ACTIVE
    iteration.can_stop = iteration.status == IterationStatus.TRAINING
    version = iteration.trained_version
    iteration.is_active_version = version is not None and version.pk == flywheel.active_version_id
    iteration.can_activate = (
        iteration.status == IterationStatus.COMPLETED
        and version is not None
        and version.is_usable
        and not iteration.is_active_version
        and flywheel.status == FlywheelStatus.ACTIVE
    )


def dataset_busy(dataset) -> bool:
    return dataset.status == DatasetStatus.CREATING
