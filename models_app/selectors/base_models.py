"""Installed base models: machine-wide, the same for every account, read from BASE_MODELS_DIR
and from the known packages that BASE_MODEL_PACKAGES selects."""

from collections.abc import Mapping

from django.conf import settings

from models_app.ml import base_models
from models_app.ml.base_models import BaseModel, find_base_model, find_base_models


def packages() -> Mapping[str, base_models.PackagedModel]:
    """The known packages searched for base models: "*" every one, an empty list none."""
    chosen = {p.strip() for p in settings.BASE_MODEL_PACKAGES if p.strip()}
    if "*" in chosen:
        return base_models.PACKAGES
    return {k: v for k, v in base_models.PACKAGES.items() if k in chosen}


def installed_base_models() -> list[BaseModel]:
    """Every base model installed on this machine, usable or not, sorted by name."""
    return find_base_models(settings.BASE_MODELS_DIR, packages=packages())


def base_model_named(name: str) -> BaseModel:
    """The usable installed base model `name`; BaseModelError naming the model and the file."""
    return find_base_model(name, settings.BASE_MODELS_DIR, packages=packages())
