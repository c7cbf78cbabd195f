"""Reads the console's model copy pages need: which versions are shared, what an import may name."""

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from models_app.models import CustomModel, ModelVersion, ResourcePolicy
from webapp.accounts.models import EncryptionKey


def with_sharing(qs: QuerySet) -> QuerySet:
    """Versions annotated with `is_shared` (the version has a resource-based policy), in the same
    query as the rows: a versions table marks shared rows without a query per row."""
    return qs.annotate(is_shared=Exists(ResourcePolicy.objects.filter(version=OuterRef("pk"))))


def with_latest_source(qs: QuerySet) -> QuerySet:
    """Models (from `models_with_latest`) annotated with their latest version's source model
    ARN, so that the lists can say "Imported" for a copy."""
    latest = ModelVersion.objects.filter(model=OuterRef("pk")).order_by("-submit_time", "-pk")
    return qs.annotate(latest_source=Subquery(latest.values("source_model_arn")[:1]))


def policy_of(version) -> ResourcePolicy | None:
    """The version's resource-based policy, or None when it is not shared."""
    return ResourcePolicy.objects.filter(version=version).first()


def model_names(account, kind: str) -> list[str]:
    """The names of the account's models of `kind`, for the import form's suggestions."""
    return list(
        CustomModel.objects.filter(account=account, kind=kind)
        .order_by("name")
        .values_list("name", flat=True)
    )


def usable_keys(account) -> QuerySet:
    """The account's enabled encryption keys, newest first: the ones a model can be stored with."""
    return EncryptionKey.objects.filter(account=account, enabled=True).order_by("-created_at")
