"""The model-version status machine: ModelStatus.ALLOWED_FROM, applied by one conditional UPDATE."""

from django.utils import timezone

from models_app.models import ModelStatus as S
from models_app.models import ModelVersion
from webapp.core import background


def version_transition(pk: int, to: str, **fields) -> bool:
    """Move a version to `to` if its current status allows it; False if someone else won."""
    if to in S.FINAL:
        fields.setdefault("end_time", timezone.now())
        fields.setdefault("training_end_time", fields["end_time"])
    return background.transition(ModelVersion, pk, to=to, allowed_from=S.ALLOWED_FROM[to], **fields)


def version_fail_dead(pk: int, reason: str) -> None:
    """A version whose work died: STOPPED if a stop was asked for, else IN_ERROR with the reason."""
    if not version_transition(
        pk, S.STOPPED, message="Training was stopped.", progress_step="Stopped"
    ):
        version_transition(pk, S.IN_ERROR, message=reason, progress_step="Failed")
