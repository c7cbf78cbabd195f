"""Installed base models: machine-wide, the same for every account, read from BASE_MODELS_DIR."""

from django.conf import settings

from models_app.ml.base_models import BaseModel, find_base_models


def installed_base_models() -> list[BaseModel]:
    """Every base model installed on this machine, usable or not, sorted by name."""
    return find_base_models(settings.BASE_MODELS_DIR)
