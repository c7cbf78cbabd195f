"""The model-version status machine at the edges: stops that arrive late, work that died."""

from models_app.models import ModelStatus
from models_app.services import versions
from models_app.services.version_status import version_fail_dead
from tests import factories


def test_a_training_that_completes_before_its_stop_ends_trained(owner):
    version = factories.version(owner, status=ModelStatus.STOP_REQUESTED)
    assert versions.finish_trained(version, warnings=["few documents"], number_of_labels=3)
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED_WITH_WARNING
    assert version.message == "few documents" and version.number_of_labels == 3
    assert version.end_time is not None


def test_a_stopped_version_stays_stopped(owner):
    version = factories.version(owner, status=ModelStatus.STOPPED)
    assert not versions.finish_trained(version, warnings=[])
    version.refresh_from_db()
    assert version.status == ModelStatus.STOPPED


def test_work_that_died_ends_stopped_if_a_stop_was_asked_for_else_in_error(owner):
    asked = factories.version(owner, status=ModelStatus.STOP_REQUESTED, version_name="a")
    running = factories.version(owner, status=ModelStatus.TRAINING, version_name="b")
    for version in (asked, running):
        version_fail_dead(version.pk, "The worker died.")
        version.refresh_from_db()
    assert (asked.status, asked.message) == (ModelStatus.STOPPED, "Training was stopped.")
    assert (running.status, running.message) == (ModelStatus.IN_ERROR, "The worker died.")
