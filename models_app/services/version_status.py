"""The model-version status machine: every change is one conditional UPDATE."""

from django.utils import timezone

from models_app.models import ModelStatus as S
from models_app.models import ModelVersion

ALLOWED_FROM = {
    S.TRAINING: (S.SUBMITTED,),
    # A stop asked for after the trainer's last check loses: as in Comprehend, a training
    # that completes before it can be stopped ends TRAINED.
    S.TRAINED: (S.TRAINING, S.STOP_REQUESTED),
    S.TRAINED_WITH_WARNING: (S.TRAINING, S.STOP_REQUESTED),
    S.IN_ERROR: (S.SUBMITTED, S.TRAINING),
    S.STOP_REQUESTED: (S.SUBMITTED, S.TRAINING),
    S.STOPPED: (S.STOP_REQUESTED,),
    S.DELETING: (S.TRAINED, S.TRAINED_WITH_WARNING, S.IN_ERROR, S.STOPPED),
}
FINISHED = (S.TRAINED, S.TRAINED_WITH_WARNING, S.IN_ERROR, S.STOPPED)


def transition(pk: int, to: str, **fields) -> bool:
    """Move a version to `to` if its current status allows it; False if someone else won."""
    if to in FINISHED:
        fields.setdefault("end_time", timezone.now())
        fields.setdefault("training_end_time", fields["end_time"])
    updated = ModelVersion.objects.filter(pk=pk, status__in=ALLOWED_FROM[to]).update(
        status=to, **fields
    )
    return updated == 1


def version_fail_dead(pk: int, reason: str) -> None:
    """A version whose work died: STOPPED if a stop was asked for, else IN_ERROR with the reason."""
    if not transition(pk, S.STOPPED, message="Training was stopped.", progress_step="Stopped"):
        transition(pk, S.IN_ERROR, message=reason, progress_step="Failed")
