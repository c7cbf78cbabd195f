"""Which base model a training run uses: the operator's settings and the create call's tag.

Comprehend has no member for it and boto3 refuses unknown ones, so a create call asks through its
tags: ``textwheel:base-model=<name>`` for one installed base model, ``=none`` for none. Without the
tag, training uses the operator's ``BASE_MODEL`` (or the first usable installed model by name)
unless ``BASE_MODELS_ENABLED`` is off. Without torch or without any usable base model, nothing of
this shows: no key is recorded and no sentence is added to a version's message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from models_app.ml import encoder
from models_app.ml.base_models import BaseModel, BaseModelError
from models_app.selectors.base_models import base_model_named, installed_base_models
from webapp.accounts.models import Tag
from webapp.core.errors import validation_error

TAG = "textwheel:base-model"
NONE = "none"


def usable_names() -> list[str]:
    return [m.name for m in installed_base_models() if m.usable]


@dataclass(frozen=True)
class Choice:
    """What a training run was asked to use.

    `name` is the base model to look up when training starts (None: train without one);
    `reason` is the sentence recorded when none is used although one could have been;
    `source` says who asked: "tag", "setting" (BASE_MODEL) or "default".
    """

    name: str | None = None
    reason: str | None = None
    source: str = "default"

    def record(self) -> dict | None:
        """What the version's training parameters keep when no base model was passed to fit."""
        if self.reason is None:
            return None
        return {"name": self.name, "used": False, "reason": self.reason, "warning": None}


def _tag_value(tags: Iterable) -> str | None:
    for tag in tags or ():
        key, value = (tag["Key"], tag.get("Value", "")) if isinstance(tag, dict) else tag
        if key == TAG:
            return value.strip()
    return None


def check_tags(tags: Iterable, *, field: str = "Tags") -> None:
    """Refuse, at the create call, a base-model tag that training could not honour."""
    value = _tag_value(tags)
    if value is None or value.casefold() == NONE:
        return
    names = usable_names() if encoder.available() else []
    listed = ", ".join(names) if names else "none"
    if not encoder.available():
        problem = "base models cannot be used on this server (torch is not installed)"
    elif not settings.BASE_MODELS_ENABLED:
        problem = "base models are turned off on this server"
    elif value not in names:
        problem = f"no usable base model named '{value}' is installed"
    else:
        return
    raise validation_error(
        f"The tag {TAG}={value} cannot be honoured: {problem}. "
        f"Installed base models: {listed}. Give one of them, or {NONE}.",
        field=field,
    )


def choose(tags: Iterable) -> Choice:
    """The base model a training run with these tags uses, as the settings allow."""
    if not encoder.available():
        return Choice()
    value = _tag_value(tags)
    asked = value and value.casefold() != NONE
    if asked and settings.BASE_MODELS_ENABLED:
        # Asked for by name: a model broken since the create call is reported, not skipped.
        return Choice(name=value, source="tag")
    if settings.BASE_MODELS_ENABLED and settings.BASE_MODEL and value is None:
        return Choice(name=settings.BASE_MODEL, source="setting")
    names = usable_names()
    if not names:
        return Choice()  # as before base models: nothing recorded, nothing said
    if value is not None and not asked:
        return Choice(reason=f"No base model: the tag {TAG} asks for none.", source="tag")
    if not settings.BASE_MODELS_ENABLED:
        return Choice(
            reason="No base model: base models are turned off on this server.", source="setting"
        )
    return Choice(name=names[0])


def tags_of(account, arn: str) -> list[tuple[str, str]]:
    return list(
        Tag.objects.filter(account=account, resource_arn=arn, key=TAG).values_list("key", "value")
    )


def choose_for(version) -> Choice:
    """The base model the version's training uses, from the tags its create call gave."""
    return choose(tags_of(version.account, version.arn))


def inherited_tags(account, *arns: str | None) -> list[tuple[str, str]]:
    """The base-model tag of the first of `arns` that has one (a flywheel's iteration trains
    with its flywheel's choice, else its active version's), as tags for a new version."""
    for arn in arns:
        if arn and (found := tags_of(account, arn)):
            return found
    return []


def resolve(choice: Choice) -> tuple[BaseModel | None, dict | None]:
    """(base model for fit, what to record when none is passed) when training starts.

    A base model that went missing, broken or half-copied since the create call is not used:
    training goes on without it, and the warning names the model and the file.
    """
    if choice.name is None:
        return None, choice.record()
    try:
        return base_model_named(choice.name), None
    except BaseModelError as exc:
        asked = {
            "tag": f"the tag {TAG} asks for it",
            "setting": "the server's BASE_MODEL setting names it",
        }.get(choice.source, "it is the server's default")
        warning = f"{exc.user_message} It was not used ({asked}); the model trained without it."
        record = {
            "name": choice.name,
            "used": False,
            "reason": f"Not used: {exc.user_message}",
            "warning": warning,
        }
        return None, record


def outcome(params: dict) -> tuple[list[str], list[str]]:
    """(warnings, notes) for the version's message from the recorded base-model entry.

    A warning (the base model could not be used) makes the version TRAINED_WITH_WARNING; the
    sentence saying what was chosen and why is only information, and keeps TRAINED.
    """
    entry = params.get("base_model") if isinstance(params, dict) else None
    if not isinstance(entry, dict):
        return [], []
    if entry.get("warning"):
        return [str(entry["warning"])], []
    reason = str(entry.get("reason") or "")
    name = entry.get("name")
    if not reason or name is None:
        return [], []  # none asked for by the tag or the setting: the version page says so
    if reason.startswith(f"Used {name}"):
        return [], [reason]
    return [], [f"Base model {name}. {reason}"]
