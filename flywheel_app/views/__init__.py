"""Console pages of flywheel_app, by sub-domain; urls.py reads them from here."""

from flywheel_app.views.datasets import dataset_create
from flywheel_app.views.flywheels import (
    flywheel_create,
    flywheel_delete,
    flywheel_detail,
    flywheel_list,
    flywheel_update,
    flywheel_work,
)
from flywheel_app.views.iterations import (
    iteration_activate,
    iteration_detail,
    iteration_start,
    iteration_stop,
)

__all__ = [
    "flywheel_list",
    "flywheel_create",
    "flywheel_detail",
    "flywheel_work",
    "flywheel_update",
    "flywheel_delete",
    "dataset_create",
    "iteration_start",
    "iteration_stop",
    "iteration_activate",
    "iteration_detail",
]
