"""The promotion rule: a completed iteration's version becomes active when it is clearly better.

Not Comprehend's (it leaves promotion to UpdateFlywheel): each flywheel may switch it on in the
console, and it is off by default. When it is on, the version an iteration trained becomes the
flywheel's active version if, on the iteration's test pool, its AverageF1Score beats the
evaluated version's by at least the flywheel's margin and no label's (entity type's) F1 drops by
more than the flywheel's bound. The promotion goes through `flywheel_update`, as UpdateFlywheel
does, so endpoints that follow the flywheel move to the new version. Either way the iteration's
message says why.
"""

from dataclasses import dataclass

from django.db import transaction

from flywheel_app.models import Flywheel, FlywheelStatus
from flywheel_app.services.evaluation import Scored, label_f1
from flywheel_app.services.flywheels import (
    DEFAULT_PROMOTION_MARGIN,
    DEFAULT_PROMOTION_MAX_LABEL_DROP,
    flywheel_update,
)
from models_app import kinds
from webapp.core.errors import ServiceError

F1 = "AverageF1Score"
SHOWN = 5  # labels named in a message before the rest are counted
# Scores are compared as recorded (4 decimals); this keeps a gain equal to the margin a gain.
EPSILON = 1e-9


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def _label_word(kind: str, count: int = 1) -> str:
    word = kinds.get(kind).label_noun
    return word if count == 1 else word + "s"


def promotion_decide(flywheel: Flywheel, evaluated: Scored, trained: Scored) -> Decision:
    """Whether the rule of `flywheel` promotes `trained` over `evaluated` (both scored on the
    same pool), and the reason in words."""
    margin = flywheel.promotion_margin
    margin = DEFAULT_PROMOTION_MARGIN if margin is None else margin
    bound = flywheel.promotion_max_label_drop
    bound = DEFAULT_PROMOTION_MAX_LABEL_DROP if bound is None else bound
    before, after = evaluated.averages[F1], trained.averages[F1]
    gain = round(after - before, 4)
    if gain + EPSILON < margin:
        return Decision(
            False,
            f"Not promoted automatically: AverageF1Score went from {before:.4f} to {after:.4f} "
            f"({gain:+.4f}); the promotion rule needs a gain of at least {margin:.4f}.",
        )
    kind = flywheel.kind
    old, new = label_f1(kind, evaluated.details), label_f1(kind, trained.details)
    drops = []
    for label in set(old) | set(new):
        was, now = round(old.get(label, 0.0), 4), round(new.get(label, 0.0), 4)
        if was - now > bound + EPSILON:
            drops.append((was - now, label, was, now))
    if drops:
        drops.sort(key=lambda d: (-d[0], d[1]))
        listed = "; ".join(
            f"{label} from {was:.4f} to {now:.4f}" for _, label, was, now in drops[:SHOWN]
        )
        if len(drops) > SHOWN:
            listed += f"; and {len(drops) - SHOWN} more"
        return Decision(
            False,
            f"Not promoted automatically: AverageF1Score went from {before:.4f} to {after:.4f}, "
            f"but the F1 of {len(drops)} {_label_word(kind, len(drops))} fell by more than the "
            f"promotion rule allows ({bound:.4f}): {listed}.",
        )
    return Decision(
        True,
        f"Promoted automatically: AverageF1Score went from {before:.4f} to {after:.4f} "
        f"({gain:+.4f}, the rule's margin is {margin:.4f}) and no {_label_word(kind)}'s F1 fell "
        f"by more than {bound:.4f}.",
    )


def iteration_promote(*, flywheel_id: int, evaluated: Scored, trained: Scored) -> str:
    """Apply the flywheel's promotion rule to an iteration that has just completed, in its
    transaction; returns what the iteration records ("" when the rule is off)."""
    with transaction.atomic():
        return _promote(flywheel_id, evaluated, trained)


def _promote(flywheel_id: int, evaluated: Scored, trained: Scored) -> str:
    flywheel = (
        Flywheel.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk=flywheel_id)
        .first()
    )
    if flywheel is None or not flywheel.promotes:
        return ""
    if flywheel.status != FlywheelStatus.ACTIVE:
        return (
            f"Not promoted automatically: the flywheel is {flywheel.status}, and only an ACTIVE "
            "flywheel's version can change."
        )
    if flywheel.active_version_id != evaluated.version.pk:
        return (
            "Not promoted automatically: the flywheel's active version changed while the "
            "iteration ran, so the new version was not scored against it."
        )
    decision = promotion_decide(flywheel, evaluated, trained)
    if not decision.promote:
        return decision.reason
    try:
        with transaction.atomic():
            flywheel_update(
                account=flywheel.account, arn=flywheel.arn, active_model_arn=trained.version.arn
            )
    except ServiceError as exc:
        return f"Not promoted automatically: {exc.message}"
    return decision.reason
