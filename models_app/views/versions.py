"""Console pages for custom models: one set of views for classifiers and entity recognizers.

Every view takes the model `kind` from its URL; what differs between the kinds (the create form,
the scores shown, the evaluation sections) is described by a `Kind` in KINDS.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from models_app import forms, presenters, selectors
from models_app.form_common import error_field, store_upload
from models_app.models import ModelKind, ModelStatus, version_label
from models_app.selectors import model_copy as model_copy_selectors
from models_app.services import classifiers, recognizers, serving
from models_app.views.endpoints import annotate_delete_warnings, usage_context, version_refusal
from webapp.accounts.services.tags import tags_of
from webapp.core import storage
from webapp.core.errors import ServiceError
from webapp.core.tables import DESC, Column, table_page

CLASSIFIER_METRICS = (
    ("Accuracy", "Accuracy"),
    ("Precision", "Precision (macro)"),
    ("Recall", "Recall (macro)"),
    ("F1Score", "F1 score (macro)"),
    ("MicroPrecision", "Precision (micro)"),
    ("MicroRecall", "Recall (micro)"),
    ("MicroF1Score", "F1 score (micro)"),
    ("HammingLoss", "Hamming loss"),
)
RECOGNIZER_METRICS = (("Precision", "Precision"), ("Recall", "Recall"), ("F1Score", "F1 score"))
PR_CURVE_POINTS = 200  # per label: enough for a smooth line, small enough for the page
ENTITY_COLOURS = 12  # .ent-c0 … .ent-c11 in console.css; more types than this share colours
URL_ACTIONS = (
    "list",
    "create",
    "detail",
    "versions",
    "version_detail",
    "version_status",
    "version_stop",
    "version_delete",
    "import",
    "policy_edit",
    "policy_delete",
)


@dataclass(frozen=True)
class Kind:
    """What the pages of one kind of model show and which services they call."""

    kind: str
    slug: str  # URL names and templates: <slug>-detail, models_app/<slug>_create.html
    title: str  # the console section, as Comprehend names it
    noun: str
    name_label: str
    form: type[forms.ModelCreateForm]
    create: Callable
    stop: Callable
    delete: Callable
    columns: tuple[tuple[str, str], ...]  # scores in the lists and the versions tables
    trend: tuple[tuple[str, str], ...]  # scores in the chart across versions
    # Recognizer scores read as percentages, as in Comprehend's console; classifiers show 0-1.
    percent: bool
    f1_label: str
    sections: Callable  # the version page's evaluation sections
    trend_hidden: tuple[str, ...] = ()  # in the chart's legend, drawn only when clicked

    @property
    def urls(self) -> dict[str, str]:
        return {a: f"models_app:{self.slug}-{a.replace('_', '-')}" for a in URL_ACTIONS}


def _load(selector, request, kind, **lookup):
    """One row of the signed-in account (a model or a version), or 404 for anything else."""
    return get_object_or_404(selector(request.account, kind), **lookup)


def _score_text(value, percent: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.2f}%" if percent else f"{value:.4f}"


def _cell(value, percent: bool) -> dict:
    """A score as a table shows it, with the number its column sorts by."""
    return {"text": _score_text(value, percent), "sort": -1 if value is None else value}


def _score(version):
    """The F1 score that ranks versions (only versions that can be used are ranked)."""
    return (version.metrics or {}).get("F1Score") if version.is_usable else None


def _best_pk(rows) -> int | None:
    """Of (pk, status, metrics) rows, the usable one with the highest F1; on a tie the first."""
    best = None
    for pk, status, metrics in sorted(rows, key=lambda row: row[0]):  # submit order
        f1 = (metrics or {}).get("F1Score") if status in ModelStatus.USABLE else None
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


def _annotate(spec: Kind, versions, best_pk=None) -> None:
    """Add what the templates show beside the row's own fields."""
    for v in versions:
        v.duration = _duration(v)
        v.is_best = best_pk is not None and v.pk == best_pk
        v.is_active = v.status in ModelStatus.ACTIVE
        v.cells = [_cell((v.metrics or {}).get(key), spec.percent) for key, _ in spec.columns]


# Lists


def _list_columns(spec: Kind) -> tuple[Column, ...]:
    return (
        Column(spec.name_label, "name", ("name",)),
        Column("Versions", "versions", ("version_count",), num=True, first=DESC),
        Column("Latest version", "latest", ("latest_name",)),
        Column("Status", "status", ("latest_status",)),
        Column(spec.f1_label, "f1", ("latest_f1",), num=True, first=DESC),
        Column("Created", "created", ("created_at",), first=DESC),
    )


@login_required
def model_list(request, kind):
    spec = KINDS[kind]
    filters = forms.ModelFilterForm(request.GET)
    status = name = ""
    if filters.is_valid():
        status, name = filters.cleaned_data["status"], filters.cleaned_data["name"].strip()
    models = model_copy_selectors.with_latest_source(
        selectors.models_with_latest(request.account, kind)
    )
    has_any = models.exists()
    if name:
        models = models.filter(name__icontains=name)
    if status:
        models = models.filter(latest_status=status)
    table = table_page(request, models, _list_columns(spec), default="name")
    for model in table.rows:
        model.f1 = _cell(model.latest_f1, spec.percent)
        model.latest_label = version_label(model.latest_name, model.latest_time)
    context = {
        "kind": spec,
        "table": table,
        "filters": filters,
        "has_any": has_any,
        "filtered": bool(status or name),
    }
    return render(request, f"models_app/{spec.slug}_list.html", context)


# Create


def _data_uri(request, form, uri_field: str, file_field: str) -> str:
    """The URI the user typed, or where their uploaded file was just stored."""
    upload = form.cleaned_data.get(file_field)
    if not upload:
        return form.cleaned_data[uri_field]
    uri = store_upload(request.account.account_id, upload)
    form.remember_upload(uri_field, uri)
    return uri


def _submit(request, spec: Kind, form, parent):
    """Create the version the form describes; None (with the error on the form) if refused."""
    try:
        uris = {uri: _data_uri(request, form, uri, file) for uri, file in form.sources()}
        return spec.create(account=request.account, parent=parent, **form.service_arguments(uris))
    except ServiceError as exc:
        form.add_error(error_field(form, exc), exc.message)
        return None


@login_required
def model_create(request, kind):
    """Create a model, or a new version of one: ?from=<version id> repeats that version's
    settings, ?model=<name> starts from the defaults."""
    spec = KINDS[kind]
    parent = model = None
    if "from" in request.GET:
        if not request.GET["from"].isdigit():
            raise Http404("No such version.")
        parent = _load(selectors.versions, request, kind, pk=request.GET["from"])
        model = parent.model
    elif "model" in request.GET:
        model = _load(selectors.models, request, kind, name=request.GET["model"])
    initial, tags = {}, []
    if parent is not None:
        initial = spec.form.initial_from(parent)
        tags = [(t["Key"], t["Value"]) for t in tags_of(request.account, parent.arn)]
    form = spec.form(
        request.POST or None,
        request.FILES or None,
        account_id=request.account.account_id,
        tags=tags,
        fixed_name=model.name if model else None,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        version = _submit(request, spec, form, parent)
        if version is not None:
            what = f"Version {version.version_name}" if version.version_name else "The version"
            messages.success(request, f"{what} of {version.model.name} was submitted for training.")
            return redirect(spec.urls["detail"], name=version.model.name)
    return render(
        request,
        f"models_app/{spec.slug}_create.html",
        {"kind": spec, "form": form, "parent": parent, "model": model},
    )


# A model and its versions


def _versions_context(request, spec: Kind, model):
    order = "best" if request.GET.get("order") == "best" else "newest"
    versions = list(
        model_copy_selectors.with_sharing(selectors.versions(request.account, spec.kind))
        .filter(model=model)
        .prefetch_related("active_in_flywheels")  # the "Active in flywheel" badges
    )
    _annotate(spec, versions, _best_pk((v.pk, v.status, v.metrics) for v in versions))
    annotate_delete_warnings(versions)
    if order == "best":
        # Scored versions by F1 (highest first), then the rest; sorting is stable, so ties stay
        # newest first.
        versions.sort(key=lambda v: -_score(v) if _score(v) is not None else 1)
    return {
        "kind": spec,
        "model": model,
        "versions": versions,
        "order": order,
        "any_active": any(v.is_active for v in versions),
    }


def _unique_labels(versions) -> list[str]:
    """Version labels for a chart's category axis, where two equal labels would merge."""
    seen, out = set(), []
    for v in versions:
        label = v.label if v.label not in seen else f"{v.label} (#{v.pk})"
        seen.add(label)
        out.append(label)
    return out


def _trend(spec: Kind, versions) -> dict | None:
    """Each metric across the scored versions, in the order they were submitted."""
    scored = sorted((v for v in versions if v.metrics), key=lambda v: (v.submit_time, v.pk))
    if not scored:
        return None
    labels = _unique_labels(scored)
    best = next((i for i, v in enumerate(scored) if getattr(v, "is_best", False)), None)
    return {
        "versions": labels,
        "metrics": {key: [v.metrics.get(key) for v in scored] for key, _ in spec.trend},
        "names": dict(spec.trend),
        "hidden": list(spec.trend_hidden),
        "percent": spec.percent,
        # The version the versions table marks "Best", by the score that ranks versions.
        "best": None
        if best is None
        else {
            "index": best,
            "version": labels[best],
            "metric": "F1Score",
            "name": dict(spec.trend).get("F1Score", "F1 score"),
            "value": scored[best].metrics.get("F1Score"),
        },
    }


def _trend_table(spec: Kind, versions) -> dict | None:
    """The scores of the chart as a table: one row per scored version, one column per metric."""
    scored = sorted((v for v in versions if v.metrics), key=lambda v: (v.submit_time, v.pk))
    if not scored:
        return None
    keys = [(key, name) for key, name in spec.trend if any(key in v.metrics for v in scored)]
    return {
        "headers": [name for _, name in keys],
        "rows": [
            {
                "version": v,
                "cells": [_cell(v.metrics.get(key), spec.percent) for key, _ in keys],
            }
            for v in scored
        ],
        # One version: the metric, value pairs are the whole story, so no chart is drawn.
        "single": [
            (name, _score_text(scored[0].metrics.get(key), spec.percent)) for key, name in keys
        ]
        if len(scored) == 1
        else None,
    }


@login_required
def model_detail(request, kind, name):
    spec = KINDS[kind]
    model = _load(selectors.models, request, kind, name=name)
    context = _versions_context(request, spec, model)
    context["trend_table"] = _trend_table(spec, context["versions"])
    scored = context["trend_table"]["rows"] if context["trend_table"] else []
    context["trend"] = _trend(spec, context["versions"]) if len(scored) > 1 else None
    context["latest"] = max(context["versions"], key=lambda v: (v.submit_time, v.pk), default=None)
    return render(request, "models_app/model_detail.html", context)


@login_required
def model_versions(request, kind, name):
    """The versions table alone, fetched again and again by the page while versions train."""
    model = _load(selectors.models, request, kind, name=name)
    context = _versions_context(request, KINDS[kind], model)
    return render(request, "models_app/_versions_table.html", context)


# One version: what only classifiers show


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


LARGE_MATRIX = 30  # labels above which the heatmap scrolls and the pairs table leads
PAIRS_SHOWN = 25
NO_DOCUMENTS = "Documents are listed for versions trained from now on."


def _confusion_documents(version) -> dict:
    """The test documents behind the confusion matrix's cells, for the page's script."""
    listed = (version.evaluation or {}).get("test_documents")
    if version.is_imported:
        # A copy answers for the model, not for its source's data.
        return {"available": False, "note": "An imported copy does not list test documents."}
    if not isinstance(listed, dict) or not isinstance(listed.get("documents"), list):
        return {"available": False, "note": NO_DOCUMENTS}
    return {
        "available": True,
        "multi_label": version.mode == "MULTI_LABEL",
        "documents": listed["documents"],
        "misclassified": listed.get("misclassified"),
        "misclassified_listed": listed.get("misclassified_listed"),
        "correct_per_label": listed.get("correct_per_label"),
    }


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


def _classifier_sections(version) -> dict:
    metrics = version.metrics or {}
    confusion, pr_curves = _confusion_chart(version), _pr_curves(version)
    return {
        "metrics": [
            (label, _score_text(metrics[key], False))
            for key, label in CLASSIFIER_METRICS
            if key in metrics
        ],
        "confusion": confusion,
        "confusion_docs": _confusion_documents(version) if confusion else None,
        "confusion_pairs": presenters.confusion_pairs(
            confusion["labels"], confusion["z"], PAIRS_SHOWN
        )
        if confusion and confusion["kind"] == "heatmap"
        else None,
        "confusion_large": bool(confusion and len(confusion["labels"]) > LARGE_MATRIX),
        "pr_curves": pr_curves,
        "charts": bool(confusion or pr_curves),
    }


# One version: what only recognizers show


def _entity_types(version) -> list[str]:
    return [t.get("Type") for t in (version.input_data_config or {}).get("EntityTypes", [])]


def _per_type(version) -> tuple[list[dict], dict | None]:
    """The per-entity-type table rows and the data of its bar chart."""
    rows, chart = [], {"types": [], "Precision": [], "Recall": [], "F1Score": []}
    for row in version.per_label_metrics or []:
        scores = {
            "Precision": row.get("precision"),
            "Recall": row.get("recall"),
            "F1Score": row.get("f1"),
        }
        rows.append(
            {
                "type": row.get("type"),
                "cells": [_cell(scores[key], True) for key, _ in RECOGNIZER_METRICS],
                "train_mentions": row.get("train_mentions"),
            }
        )
        chart["types"].append(row.get("type"))
        for key, value in scores.items():
            chart[key].append(value)
    return rows, (chart if rows else None)


def _recognizer_sections(version) -> dict:
    metrics = version.metrics or {}
    per_type, chart = _per_type(version)
    return {
        "metrics": [
            (label, _score_text(metrics[key], True))
            for key, label in RECOGNIZER_METRICS
            if key in metrics
        ],
        "per_type": per_type,
        "per_type_chart": chart,
        "charts": chart is not None,
        "entity_types": _entity_types(version),
        "try_form": forms.TryTextForm() if version.is_usable else None,
    }


def _highlight(text: str, entities: list[dict], types: list[str]) -> dict:
    """The text cut into plain and entity segments, for the template to escape and mark up.

    Entities that overlap one already kept are dropped (the first, longest one wins), so the
    segments always rebuild the text exactly.
    """
    colours = {t: i % ENTITY_COLOURS for i, t in enumerate(types)}
    segments, kept, at = [], [], 0
    for entity in sorted(entities, key=lambda e: (e["BeginOffset"], -e["EndOffset"])):
        begin, end = entity["BeginOffset"], entity["EndOffset"]
        if begin < at or end <= begin or end > len(text):
            continue
        if begin > at:
            segments.append({"text": text[at:begin]})
        colour = colours.setdefault(entity["Type"], len(colours) % ENTITY_COLOURS)
        found = {**entity, "Text": text[begin:end], "colour": colour}
        segments.append({"text": found["Text"], "entity": found})
        kept.append(found)
        at = end
    if at < len(text):
        segments.append({"text": text[at:]})
    return {
        "segments": segments,
        "entities": kept,
        "legend": list(colours.items()),
    }


KINDS = {
    ModelKind.CLASSIFIER: Kind(
        kind=ModelKind.CLASSIFIER,
        slug="classifier",
        title="Custom classification",
        noun="classifier",
        name_label="Model name",
        form=forms.ClassifierCreateForm,
        create=classifiers.classifier_create,
        stop=classifiers.classifier_stop,
        delete=classifiers.classifier_delete,
        columns=(
            ("Accuracy", "Accuracy"),
            ("F1Score", "F1 score (macro)"),
            ("MicroF1Score", "F1 score (micro)"),
        ),
        trend=(
            ("Accuracy", "Accuracy"),
            ("F1Score", "F1 score (macro)"),
            ("MicroF1Score", "F1 score (micro)"),
            ("Precision", "Precision (macro)"),
            ("Recall", "Recall (macro)"),
            ("MicroPrecision", "Precision (micro)"),
            ("MicroRecall", "Recall (micro)"),
            ("HammingLoss", "Hamming loss"),
        ),
        trend_hidden=("MicroPrecision", "MicroRecall", "HammingLoss"),
        percent=False,
        f1_label="F1 score (macro)",
        sections=_classifier_sections,
    ),
    ModelKind.RECOGNIZER: Kind(
        kind=ModelKind.RECOGNIZER,
        slug="recognizer",
        title="Custom entity recognition",
        noun="recognizer",
        name_label="Recognizer name",
        form=forms.RecognizerCreateForm,
        create=recognizers.recognizer_create,
        stop=recognizers.recognizer_stop,
        delete=recognizers.recognizer_delete,
        columns=RECOGNIZER_METRICS,
        trend=(("F1Score", "F1 score"), ("Precision", "Precision"), ("Recall", "Recall")),
        percent=True,
        f1_label="F1 score",
        sections=_recognizer_sections,
    ),
}


def policy_context(version) -> dict:
    """What the version page's "Tags and policy" section shows of the version's policy."""
    policy = model_copy_selectors.policy_of(version)
    return {"policy": policy, "policy_pretty": pretty_policy(policy.text) if policy else ""}


def pretty_policy(text: str) -> str:
    """A policy as the version page shows it: indented JSON (the text as saved if it is not)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _version_context(request, spec: Kind, version) -> dict:
    siblings = selectors.versions(request.account, spec.kind).filter(model=version.model)
    _annotate(spec, [version], _best_pk(siblings.values_list("pk", "status", "metrics")))
    parameters = presenters.parameter_rows(version.training_parameters)
    return {
        "kind": spec,
        "version": version,
        "model": version.model,
        # Settings with a name in words first; the rest under the names the trainer uses.
        "parameters": [row for row in parameters if not row["code"]],
        "parameters_other": [row for row in parameters if row["code"]],
        "candidates": presenters.candidate_rows(version.training_parameters),
        "tags": tags_of(request.account, version.arn),
        **policy_context(version),
        **usage_context(version),
        **spec.sections(version),
    }


def _load_version(request, kind, name, version_id):
    return _load(selectors.versions, request, kind, model__name=name, pk=version_id)


@login_required
def version_detail(request, kind, name, version_id):
    spec = KINDS[kind]
    version = _load_version(request, kind, name, version_id)
    context = _version_context(request, spec, version)
    return render(request, f"models_app/{spec.slug}_version_detail.html", context)


@login_required
def version_status(request, kind, name, version_id):
    """The status panel alone, fetched again and again by the page while the version trains."""
    version = _load_version(request, kind, name, version_id)
    _annotate(KINDS[kind], [version])
    return render(request, "models_app/_version_status.html", {"version": version})


@login_required
def classifier_version_output(request, name, version_id):
    """Stream the version's output.tar.gz from the account's store."""
    version = _load_version(request, ModelKind.CLASSIFIER, name, version_id)
    if not version.output_uri:
        raise Http404("This version has no output.")
    return output_archive(request, version.output_uri)


def output_archive(request, output_uri: str) -> FileResponse:
    """Stream an output.tar.gz from the account's store as a download."""
    try:
        uri = storage.parse_uri(output_uri, field="OutputDataConfig.S3Uri")
        stream = storage.open_read(request.account.account_id, uri)
    except ServiceError:
        raise Http404("The output file is gone.") from None
    return FileResponse(
        stream, as_attachment=True, filename="output.tar.gz", content_type="application/gzip"
    )


@login_required
def recognizer_version_metrics(request, name, version_id):
    """The version's scores as Comprehend's RecognizerMetadata, as a JSON file to download.

    Recognizers have no output location in Comprehend; this is what the console offers instead.
    """
    version = _load_version(request, ModelKind.RECOGNIZER, name, version_id)
    metadata = presenters.recognizer_properties(version).get("RecognizerMetadata")
    if metadata is None:
        raise Http404("This version has no metrics yet.")
    filename = f"{version.model.name}-{version.version_name or version.pk}-metrics.json"
    response = HttpResponse(
        json.dumps(metadata, indent=2) + "\n", content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def recognizer_version_try(request, name, version_id):
    """Run the version on pasted text and show the page with the entities marked in it."""
    spec = KINDS[ModelKind.RECOGNIZER]
    version = _load_version(request, spec.kind, name, version_id)
    if not version.is_usable:
        messages.error(request, "Only a trained version can find entities.")
        return redirect(spec.urls["version_detail"], name=name, version_id=version.pk)
    context = _version_context(request, spec, version)
    form = forms.TryTextForm(request.POST)
    if form.is_valid():
        text = form.cleaned_data["text"]
        try:
            found = serving.get(version).entities([text])[0]
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            context["try_result"] = _highlight(text, found, context["entity_types"])
    context["try_form"] = form
    return render(request, f"models_app/{spec.slug}_version_detail.html", context)


# Stop and delete


def _back(request, spec: Kind, version):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(spec.urls["version_detail"], name=version.model.name, version_id=version.pk)


@login_required
@require_POST
def version_stop(request, kind, name, version_id):
    spec = KINDS[kind]
    version = _load_version(request, kind, name, version_id)
    _annotate(spec, [version])
    try:
        stopped = spec.stop(account=request.account, arn=version.arn)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        done = "was stopped" if stopped.status == ModelStatus.STOPPED else "is stopping"
        messages.success(request, f"Training of version {version.label} {done}.")
    return _back(request, spec, version)


@login_required
@require_POST
def version_delete(request, kind, name, version_id):
    spec = KINDS[kind]
    version = _load_version(request, kind, name, version_id)
    _annotate(spec, [version])
    try:
        spec.delete(account=request.account, arn=version.arn)
    except ServiceError as exc:
        messages.error(request, version_refusal(version, exc))
        return _back(request, spec, version)
    messages.success(request, f"Version {version.label} of {name} was deleted.")
    if selectors.models(request.account, kind).filter(name=name).exists():
        return redirect(spec.urls["detail"], name=name)
    return redirect(spec.urls["list"])
