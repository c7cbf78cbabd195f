"""Reads of flywheel iterations, always through their flywheel's access gate."""

import re
from datetime import datetime

from django.db.models import QuerySet

from flywheel_app.models import Flywheel, FlywheelIteration
from flywheel_app.selectors.flywheels import flywheel_for
from webapp.core.errors import not_found, validation_error

ITERATION_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z")


def iterations(flywheel: Flywheel) -> QuerySet:
    return FlywheelIteration.objects.filter(flywheel=flywheel).select_related(
        "flywheel__account",
        "evaluated_version__model",
        "evaluated_version__account",
        "trained_version__model",
        "trained_version__account",
    )


def iteration_for(account, flywheel_arn: str, iteration_id) -> FlywheelIteration:
    """The access gate for iterations: one iteration of a flywheel of the account, or
    ResourceNotFoundException (also for another account's flywheel)."""
    flywheel = flywheel_for(account, flywheel_arn)
    if not isinstance(iteration_id, str) or not ITERATION_ID.fullmatch(iteration_id):
        raise validation_error(
            f"Value '{iteration_id}' at 'flywheelIterationId' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [0-9]{8}T[0-9]{6}Z",
            field="FlywheelIterationId",
        )
    iteration = iterations(flywheel).filter(iteration_id=iteration_id).first()
    if iteration is None:
        raise not_found(
            f"The flywheel {flywheel.arn} has no iteration {iteration_id}.",
            field="FlywheelIterationId",
        )
    return iteration


def iterations_filtered(
    flywheel: Flywheel,
    *,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
) -> QuerySet:
    """ListFlywheelIterationHistory: newest first, with FlywheelIterationFilter's times."""
    qs = iterations(flywheel)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    if created_after is not None:
        qs = qs.filter(created_at__gt=created_after)
    return qs.order_by("-created_at", "-id")
