"""Reads of flywheel_app, always scoped to an account; the access gates live here."""

from flywheel_app.selectors.console import (
    activatable_versions,
    iteration_label_deltas,
    iteration_metrics_file,
)
from flywheel_app.selectors.flywheels import (
    dataset_for,
    datasets,
    datasets_filtered,
    flywheel_for,
    flywheel_lookup,
    flywheels,
    flywheels_filtered,
    latest_iteration_ids,
)

__all__ = [
    "flywheels",
    "flywheels_filtered",
    "flywheel_for",
    "flywheel_lookup",
    "datasets",
    "datasets_filtered",
    "dataset_for",
    "latest_iteration_ids",
    "activatable_versions",
    "iteration_metrics_file",
    "iteration_label_deltas",
]
