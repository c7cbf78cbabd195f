"""Jobs that exercise the background machinery itself: one raises, one runs until killed."""

import time

from models_app.models import ModelStatus, ModelVersion
from models_app.services.version_status import version_transition
from webapp.core.background import report_progress, tracking


def raising_job(pk: int) -> None:
    with tracking(ModelVersion, pk):
        version_transition(pk, ModelStatus.TRAINING)
        report_progress(ModelVersion, pk, 0.3, "Reading data")
        raise ValueError("the data source answered garbage")


def long_job(pk: int) -> None:
    with tracking(ModelVersion, pk):
        version_transition(pk, ModelStatus.TRAINING)
        for i in range(600):
            report_progress(ModelVersion, pk, i / 600, f"step {i}")
            time.sleep(0.5)
