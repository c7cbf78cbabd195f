"""Console forms of models_app, by sub-domain."""

from models_app.forms.analysis_jobs import (
    JobCreateForm,
    JobFilterForm,
)
from models_app.forms.endpoints import (
    AnalyzeForm,
    EndpointCreateForm,
    EndpointUpdateForm,
)
from models_app.forms.versions import (
    ClassifierCreateForm,
    EntityTypesField,
    ManyTextInputs,
    ModelCreateForm,
    ModelFilterForm,
    RecognizerCreateForm,
    TryTextForm,
    classifier_input_config,
    recognizer_input_config,
)

__all__ = [
    "ModelFilterForm",
    "ModelCreateForm",
    "ClassifierCreateForm",
    "classifier_input_config",
    "ManyTextInputs",
    "EntityTypesField",
    "RecognizerCreateForm",
    "recognizer_input_config",
    "TryTextForm",
    "EndpointCreateForm",
    "EndpointUpdateForm",
    "AnalyzeForm",
    "JobFilterForm",
    "JobCreateForm",
]
