"""Reads of flywheels and their datasets, always scoped to an account."""

from datetime import datetime

from django.db.models import QuerySet

from flywheel_app.models import Dataset, Flywheel, FlywheelIteration
from models_app.selectors import one_filter
from webapp.core import arns
from webapp.core.errors import validation_error


def flywheels(account) -> QuerySet:
    return Flywheel.objects.filter(account=account).select_related(
        "account", "active_version__model", "active_version__account", "model"
    )


def flywheels_filtered(
    account,
    *,
    status: str | None = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
) -> QuerySet:
    """ListFlywheels with Comprehend's FlywheelFilter: one condition at a time."""
    conditions = {
        "status": status,
        "created_at__lt": created_before,
        "created_at__gt": created_after,
    }
    qs = one_filter(
        flywheels(account), conditions, "Status, CreationTimeBefore or CreationTimeAfter"
    )
    return qs.order_by("-created_at", "-id")


def flywheel_for(account, value: str, *, field: str = "FlywheelArn") -> Flywheel:
    """The access gate for flywheels: the flywheel an ARN names in the account, or
    ResourceNotFoundException (also for another account's flywheel)."""
    if arns.parse(value, field=field, expected="flywheel").dataset:
        raise validation_error(
            f"Value '{value}' at '{field}' is a dataset ARN; give the flywheel's ARN.", field=field
        )
    return arns.resolve(
        account,
        value,
        field=field,
        expected="flywheel",
        queryset_for=lambda arn: flywheels(account).filter(name=arn.name),
    )


def datasets(account) -> QuerySet:
    return Dataset.objects.filter(account=account).select_related("account", "flywheel")


def dataset_for(account, value: str, *, field: str = "DatasetArn") -> Dataset:
    """The access gate for datasets: the dataset an ARN names in the account, or
    ResourceNotFoundException (also for another account's dataset)."""
    if not arns.parse(value, field=field, expected="flywheel").dataset:
        raise validation_error(
            f"Value '{value}' at '{field}' is a flywheel ARN; give a dataset's ARN "
            "(…:flywheel/<name>/dataset/<dataset name>).",
            field=field,
        )
    return arns.resolve(
        account,
        value,
        field=field,
        expected="flywheel",
        queryset_for=lambda arn: datasets(account).filter(
            flywheel__name=arn.name, name=arn.dataset
        ),
    )


def datasets_filtered(
    account,
    *,
    flywheel: Flywheel | None = None,
    status: str | None = None,
    dataset_type: str | None = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
) -> QuerySet:
    """ListDatasets: one flywheel's or all the account's, with DatasetFilter's conditions."""
    qs = datasets(account)
    if flywheel is not None:
        qs = qs.filter(flywheel=flywheel)
    given = {
        "status": status,
        "dataset_type": dataset_type,
        "created_at__lt": created_before,
        "created_at__gt": created_after,
    }
    return qs.filter(**{k: v for k, v in given.items() if v is not None}).order_by(
        "-created_at", "-id"
    )


def flywheel_lookup(account, value: str, *, field: str):
    """For the resource registry (tags): the flywheel or dataset an ARN names, through its gate."""
    if arns.parse(value, field=field, expected="flywheel").dataset:
        return dataset_for(account, value, field=field)
    return flywheel_for(account, value, field=field)


def latest_iteration_ids(flywheel_ids) -> dict[int, str]:
    """Each flywheel's latest iteration id (LatestFlywheelIteration), in one query."""
    latest: dict[int, str] = {}
    rows = (
        FlywheelIteration.objects.filter(flywheel_id__in=list(flywheel_ids))
        .order_by("flywheel_id", "-created_at", "-id")
        .values_list("flywheel_id", "iteration_id")
    )
    for flywheel_id, iteration_id in rows:
        latest.setdefault(flywheel_id, iteration_id)
    return latest
