"""Console forms of flywheel_app, by sub-domain."""

from flywheel_app.forms.datasets import DatasetCreateForm
from flywheel_app.forms.flywheels import FlywheelCreateForm, FlywheelUpdateForm

__all__ = ["FlywheelCreateForm", "FlywheelUpdateForm", "DatasetCreateForm"]
