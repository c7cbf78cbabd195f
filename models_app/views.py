"""Console pages for custom classification: list, create, model and version details."""

import re
import uuid
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from models_app import forms, selectors
from models_app.models import ModelKind, ModelStatus
from models_app.services.classifiers import classifier_create, classifier_delete, classifier_stop
from webapp import storage
from webapp.accounts.services.tags import tags_of
from webapp.errors import ServiceError

KIND = ModelKind.CLASSIFIER
ACTIVE = (ModelStatus.SUBMITTED, ModelStatus.TRAINING, ModelStatus.STOP_REQUESTED)
USABLE = (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING)
METRICS = (
    ("Accuracy", "Accuracy"),
    ("Precision", "Precision (macro)"),
    ("Recall", "Recall (macro)"),
    ("F1Score", "F1 score (macro)"),
    ("MicroPrecision", "Precision (micro)"),
    ("MicroRecall", "Recall (micro)"),
    ("MicroF1Score", "F1 score (micro)"),
    ("HammingLoss", "Hamming loss"),
)
TREND_METRICS = ("Accuracy", "F1Score", "MicroF1Score", "Precision", "Recall")
PR_CURVE_POINTS = 200  # per label: enough for a smooth line, small enough for the page
# Which form field a service error is about, from the API field its message names (first wins).
ERROR_FIELDS = (
    ("already has", "version_name"),
    ("VersionName", "version_name"),
    ("DocumentClassifierName", "name"),
    ("AttributeNames", "attribute_name"),
    ("LabelDelimiter", "label_delimiter"),
    ("TestS3Uri", "test_uri"),
    ("AugmentedManifests.2", "test_uri"),
    ("OutputDataConfig", "output_uri"),
    ("InputDataConfig", "training_uri"),
    ("DataAccessRoleArn", "data_access_role_arn"),
    ("Mode must", "mode"),
)


def _load(selector, request, **lookup):
    """One row of the signed-in account (a model or a version), or 404 for anything else."""
    return get_object_or_404(selector(request.account, KIND), **lookup)


def _score(version):
    """The F1 score that ranks versions (only versions that can be used are ranked)."""
    return (version.metrics or {}).get("F1Score") if version.is_usable else None


def _best_pk(rows) -> int | None:
    """Of (pk, status, metrics) rows, the usable one with the highest F1; on a tie the first."""
    best = None
    for pk, status, metrics in sorted(rows, key=lambda row: row[0]):  # submit order
        f1 = (metrics or {}).get("F1Score") if status in USABLE else None
        if f1 is not None and (best is None or f1 > best[1]):
            best = (pk, f1)
    return best[0] if best else None


def _duration(version) -> str:
    if not (version.training_start_time and version.training_end_time):
        return ""
    seconds = int((version.training_end_time - version.training_start_time).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _annotate(versions, best_pk=None) -> None:
    """Add what the templates show beside the row's own fields."""
    for v in versions:
        v.label = v.version_name or f"#{v.pk}"
        v.duration = _duration(v)
        v.is_best = best_pk is not None and v.pk == best_pk
        v.is_active = v.status in ACTIVE


# Lists


@login_required
def classifier_list(request):
    filters = forms.ClassifierFilterForm(request.GET)
    status = name = ""
    if filters.is_valid():
        status, name = filters.cleaned_data["status"], filters.cleaned_data["name"].strip()
    models = selectors.models(request.account, KIND)
    has_any = models.exists()
    if name:
        models = models.filter(name__icontains=name)
    rows = []
    for model in models:
        versions = sorted(model.versions.all(), key=lambda v: (v.submit_time, v.pk))
        latest = versions[-1] if versions else None
        if latest is None or (status and latest.status != status):
            continue
        rows.append(
            {
                "model": model,
                "count": len(versions),
                "latest": latest,
                "f1": (latest.metrics or {}).get("F1Score"),
            }
        )
    context = {
        "rows": rows,
        "filters": filters,
        "has_any": has_any,
        "filtered": bool(status or name),
    }
    return render(request, "models_app/classifier_list.html", context)


@login_required
def recognizer_list(request):
    models = selectors.models(request.account, ModelKind.RECOGNIZER)
    return render(request, "models_app/recognizer_list.html", {"models": models})


# Create


def _upload_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name).strip(".")
    return name or "upload"


def _data_uri(request, form, uri_field: str, file_field: str) -> str:
    """The URI the user typed, or where their uploaded file was just stored."""
    upload = form.cleaned_data.get(file_field)
    if not upload:
        return form.cleaned_data[uri_field]
    uri = storage.S3Uri("uploads", f"{uuid.uuid4().hex}/{_upload_name(upload.name)}")
    storage.save_upload(request.account.account_id, uri, upload)
    form.remember_upload(uri_field, str(uri))
    return str(uri)


def _error_field(exc: ServiceError) -> str | None:
    if exc.code == "UnsupportedLanguageException":
        return "language_code"
    return next((field for text, field in ERROR_FIELDS if text in exc.message), None)


def _submit(request, form, parent):
    """Create the version the form describes; None (with the error on the form) if refused."""
    data = form.cleaned_data
    try:
        training = _data_uri(request, form, "training_uri", "training_file")
        test = None
        if data["test_source"] == "GIVEN":
            test = _data_uri(request, form, "test_uri", "test_file")
        return classifier_create(
            account=request.account,
            name=data["name"],
            version_name=data["version_name"],
            language_code=data["language_code"],
            mode=data["mode"],
            input_data_config=forms.input_data_config(data, training, test),
            output_data_config={"S3Uri": data["output_uri"]} if data["output_uri"] else None,
            data_access_role_arn=data["data_access_role_arn"],
            tags=data["tags"],
            parent=parent,
        )
    except ServiceError as exc:
        form.add_error(_error_field(exc), exc.message)
        return None


@login_required
def classifier_new(request):
    """Create a classifier, or a new version of one: ?from=<version id> repeats that version's
    settings, ?model=<name> starts from the defaults."""
    parent = model = None
    if "from" in request.GET:
        if not request.GET["from"].isdigit():
            raise Http404("No such version.")
        parent = _load(selectors.versions, request, pk=request.GET["from"])
        model = parent.model
    elif "model" in request.GET:
        model = _load(selectors.models, request, name=request.GET["model"])
    initial, tags = {}, []
    if parent is not None:
        initial, tags = forms.initial_from_version(parent, tags_of(request.account, parent.arn))
    form = forms.ClassifierCreateForm(
        request.POST or None,
        request.FILES or None,
        account_id=request.account.account_id,
        tags=tags,
        fixed_name=model.name if model else None,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        version = _submit(request, form, parent)
        if version is not None:
            what = f"Version {version.version_name}" if version.version_name else "The version"
            messages.success(request, f"{what} of {version.model.name} was submitted for training.")
            return redirect("models_app:classifier-detail", name=version.model.name)
    return render(
        request,
        "models_app/classifier_create.html",
        {"form": form, "parent": parent, "model": model},
    )


# A model and its versions


def _versions_context(request, model):
    order = "best" if request.GET.get("order") == "best" else "newest"
    versions = list(selectors.versions(request.account, KIND).filter(model=model))
    _annotate(versions, _best_pk((v.pk, v.status, v.metrics) for v in versions))
    if order == "best":
        # Scored versions by F1 (highest first), then the rest; sorting is stable, so ties stay
        # newest first.
        versions.sort(key=lambda v: -_score(v) if _score(v) is not None else 1)
    return {
        "model": model,
        "versions": versions,
        "order": order,
        "any_active": any(v.is_active for v in versions),
    }


def _trend(versions) -> dict | None:
    """Each metric across the scored versions, in the order they were submitted."""
    scored = sorted((v for v in versions if v.metrics), key=lambda v: (v.submit_time, v.pk))
    if not scored:
        return None
    return {
        "versions": [v.label for v in scored],
        "metrics": {key: [v.metrics.get(key) for v in scored] for key in TREND_METRICS},
    }


@login_required
def classifier_detail(request, name):
    model = _load(selectors.models, request, name=name)
    context = _versions_context(request, model)
    context["trend"] = _trend(context["versions"])
    context["latest"] = max(context["versions"], key=lambda v: (v.submit_time, v.pk), default=None)
    return render(request, "models_app/classifier_detail.html", context)


@login_required
def classifier_versions(request, name):
    """The versions table alone, fetched again and again by the page while versions train."""
    model = _load(selectors.models, request, name=name)
    return render(request, "models_app/_versions_table.html", _versions_context(request, model))


# One version


def _label_counts(labels, matrices, per_label) -> dict:
    """Per-label true positives, false positives and false negatives of a multi-label run.

    Each label's entry is a {tp, fp, fn} dict or a 2x2 matrix; a matrix is read as scikit-learn
    writes it ([[TN, FP], [FN, TP]]) unless the label's support says the rows are the other way.
    """
    support = {row.get("label"): row.get("support") for row in per_label or []}
    if isinstance(matrices, dict):
        matrices = [matrices.get(label) for label in labels]
    counts = {"labels": [], "tp": [], "fp": [], "fn": []}
    for label, entry in zip(labels, matrices or [], strict=False):
        if isinstance(entry, dict):
            entry = {k.lower(): v for k, v in entry.items()}
            tp, fp, fn = entry.get("tp"), entry.get("fp"), entry.get("fn")
        elif isinstance(entry, list) and len(entry) == 2 and all(len(r) == 2 for r in entry):
            (tn, fp), (fn, tp) = entry
            if support.get(label) not in (None, fn + tp) and support[label] == tn + fp:
                (tp, fn), (fp, tn) = entry
        else:
            continue
        counts["labels"].append(label)
        for key, value in (("tp", tp), ("fp", fp), ("fn", fn)):
            counts[key].append(value)
    return counts if counts["labels"] else {}


def _confusion_chart(version) -> dict | None:
    """Comprehend's confusion_matrix.json as a heatmap (multi-class) or per-label bars."""
    cm = (version.evaluation or {}).get("confusion_matrix")
    if not isinstance(cm, dict):
        return None
    labels = cm.get("labels") or cm.get("all_labels") or []
    matrix = cm.get("confusion_matrix")
    multi_label = cm.get("type") == "multi_label" or version.mode == "MULTI_LABEL"
    if not multi_label:
        square = (
            isinstance(matrix, list)
            and len(matrix) == len(labels) > 0
            and all(isinstance(row, list) and len(row) == len(labels) for row in matrix)
        )
        return {"kind": "heatmap", "labels": labels, "z": matrix} if square else None
    counts = _label_counts(labels, matrix, version.per_label_metrics)
    return {"kind": "bars", **counts} if counts else None


def _thin(n: int, most: int) -> list[int]:
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _pr_curves(version) -> dict | None:
    curves = (version.evaluation or {}).get("pr_curves")
    if not isinstance(curves, dict):
        return None
    out = {}
    for label, curve in curves.items():
        precision, recall = curve.get("precision") or [], curve.get("recall") or []
        thresholds = curve.get("thresholds") or []
        keep = _thin(min(len(precision), len(recall)), PR_CURVE_POINTS)
        out[label] = {
            "precision": [precision[i] for i in keep],
            "recall": [recall[i] for i in keep],
            "thresholds": [thresholds[i] if i < len(thresholds) else None for i in keep],
        }
    return out or None


def _parameters(params) -> list[tuple[str, str]]:
    if not isinstance(params, dict):
        return []
    return [(key, params[key]) for key in sorted(params)]


@login_required
def classifier_version_detail(request, name, version_id):
    version = _load(selectors.versions, request, model__name=name, pk=version_id)
    siblings = selectors.versions(request.account, KIND).filter(model=version.model)
    _annotate([version], _best_pk(siblings.values_list("pk", "status", "metrics")))
    metrics = version.metrics or {}
    context = {
        "version": version,
        "model": version.model,
        "metrics": [(label, metrics.get(key)) for key, label in METRICS if key in metrics],
        "confusion": _confusion_chart(version),
        "pr_curves": _pr_curves(version),
        "parameters": _parameters(version.training_parameters),
        "tags": tags_of(request.account, version.arn),
    }
    return render(request, "models_app/classifier_version_detail.html", context)


@login_required
def classifier_version_status(request, name, version_id):
    """The status panel alone, fetched again and again by the page while the version trains."""
    version = _load(selectors.versions, request, model__name=name, pk=version_id)
    _annotate([version])
    return render(request, "models_app/_version_status.html", {"version": version})


@login_required
def classifier_version_output(request, name, version_id):
    """Stream the version's output.tar.gz from the account's store."""
    version = _load(selectors.versions, request, model__name=name, pk=version_id)
    if not version.output_uri:
        raise Http404("This version has no output.")
    try:
        uri = storage.parse_uri(version.output_uri, field="OutputDataConfig.S3Uri")
        stream = storage.open_read(request.account.account_id, uri)
    except ServiceError:
        raise Http404("The output file is gone.") from None
    return FileResponse(
        stream, as_attachment=True, filename="output.tar.gz", content_type="application/gzip"
    )


def _back(request, version):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(
        "models_app:classifier-version-detail", name=version.model.name, version_id=version.pk
    )


@login_required
@require_POST
def classifier_version_stop(request, name, version_id):
    version = _load(selectors.versions, request, model__name=name, pk=version_id)
    _annotate([version])
    try:
        stopped = classifier_stop(account=request.account, arn=version.arn)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        done = "was stopped" if stopped.status == ModelStatus.STOPPED else "is stopping"
        messages.success(request, f"Training of version {version.label} {done}.")
    return _back(request, version)


@login_required
@require_POST
def classifier_version_delete(request, name, version_id):
    version = _load(selectors.versions, request, model__name=name, pk=version_id)
    _annotate([version])
    try:
        classifier_delete(account=request.account, arn=version.arn)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back(request, version)
    messages.success(request, f"Version {version.label} of {name} was deleted.")
    if selectors.models(request.account, KIND).filter(name=name).exists():
        return redirect("models_app:classifier-detail", name=name)
    return redirect(reverse("models_app:classifier-list"))
