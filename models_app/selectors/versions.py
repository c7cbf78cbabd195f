"""Reads of models and versions, always scoped to an account."""

from datetime import datetime

from django.db.models import Count, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from models_app.models import ARN_TYPES, CustomModel, ModelKind, ModelVersion
from webapp.core import arns
from webapp.core.errors import invalid_filter


def versions(account, kind: str) -> QuerySet:
    return ModelVersion.objects.filter(account=account, model__kind=kind).select_related(
        "model", "account"
    )


def versions_filtered(
    account,
    kind: str,
    *,
    status: str | None = None,
    name: str | None = None,
    submitted_before: datetime | None = None,
    submitted_after: datetime | None = None,
) -> QuerySet:
    """List versions with at most one of Comprehend's filters set."""
    conditions = {
        "status": status,
        "model__name": name,
        "submit_time__lt": submitted_before,
        "submit_time__gt": submitted_after,
    }
    qs = one_filter(
        versions(account, kind), conditions, "Status, the name, SubmitTimeBefore or SubmitTimeAfter"
    )
    return qs.order_by("-submit_time", "-id")


def one_filter(qs: QuerySet, conditions: dict, names: str) -> QuerySet:
    """Comprehend's List filters: at most one condition (lookup: value, None = unset) applies."""
    given = {lookup: value for lookup, value in conditions.items() if value is not None}
    if len(given) > 1:
        raise invalid_filter(f"The filter can name only one of {names} at a time.")
    return qs.filter(**given)


def version_by_arn(account, value: str, *, kind: str, field: str) -> ModelVersion:
    """Resolve a model (version) ARN within the account or raise ResourceNotFoundException."""
    return arns.resolve(
        account,
        value,
        field=field,
        expected=ARN_TYPES[kind],
        queryset_for=lambda arn: versions(account, kind).filter(
            model__name=arn.name, version_name=arn.version or ""
        ),
    )


def models(account, kind: str) -> QuerySet:
    return CustomModel.objects.filter(account=account, kind=kind).prefetch_related("versions")


def models_with_latest(account, kind: str) -> QuerySet:
    """The account's models that have a version, each annotated with its version count and its
    latest version's id, name, status and F1 score, so that the list sorts on any of them."""
    latest = ModelVersion.objects.filter(model=OuterRef("pk")).order_by("-submit_time", "-pk")
    f1 = Cast(KeyTextTransform("F1Score", "metrics"), FloatField())
    return (
        CustomModel.objects.filter(account=account, kind=kind)
        .annotate(
            version_count=Count("versions"),
            latest_pk=Subquery(latest.values("pk")[:1]),
            latest_name=Subquery(latest.values("version_name")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
            latest_f1=Subquery(latest.annotate(f1=f1).values("f1")[:1]),
        )
        .filter(latest_pk__isnull=False)
    )


def model_lookup(account, arn):
    """For the resource registry: the version an ARN names, in this account."""
    kind = (
        ModelKind.CLASSIFIER if arn.resource_type == "document-classifier" else ModelKind.RECOGNIZER
    )
    return (
        versions(account, kind).filter(model__name=arn.name, version_name=arn.version or "").first()
    )
