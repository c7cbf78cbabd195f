"""The registry of model kinds: everything that differs between a classifier and a recognizer.

The stored values are ModelKind's and JobKind's (below); what each kind is called, how its ARNs and API
members are spelled, which languages it takes, how it trains, splits and loads, is said here
and nowhere else. A third kind is one more entry. Trainers and loaders are named by dotted path
so that this module imports no service (they import it).
"""

from dataclasses import dataclass

from django.db import models
from django.utils.module_loading import import_string

from webapp.core import arns
from webapp.core.errors import ServiceError


class ModelKind(models.TextChoices):
    """The value stored on model, version and endpoint rows."""

    CLASSIFIER = "classifier", "Document classifier"
    RECOGNIZER = "recognizer", "Entity recognizer"


class JobKind(models.TextChoices):
    """The value stored on analysis job rows."""

    CLASSIFICATION = "classification", "Custom classification"
    ENTITIES = "entities", "Custom entity recognition"


@dataclass(frozen=True)
class Kind:
    kind: str  # the ModelKind value stored on rows
    noun: str  # how API messages name one ("entity recognizer")
    a_noun: str  # the same with its article, as the console's messages use it
    group_label: str  # how the console heads a group of them in a list of choices
    arn_type: str  # the model's ARN resource type
    endpoint_arn_type: str
    name_field: str  # the API member naming the model (and List…'s filter)
    arn_field: str  # the API member holding a version's ARN
    properties_key: str  # Describe…'s answer
    list_key: str  # List…'s answer
    summaries_key: str  # List…Summaries' answer
    languages: tuple[str, ...]
    trainer: str  # dotted path of train(version)
    loader: str  # dotted path of load(folder, sha256=..., verified=...)
    # Whether the loader also takes the model's files in memory (ml.artifacts.ModelFiles) in
    # place of a folder: an encrypted model of this kind is then decrypted into memory, never
    # onto a file system. spaCy reads directories, so a recognizer gets a private folder.
    loads_from_memory: bool
    serves: str  # the ServedModel method a call runs: "classify" or "entities"
    thread_safe: bool  # whether one loaded model may serve calls from several threads at once
    autosplit_fraction: float  # share of the training data held out when no test set is given
    autosplit_max: int  # at most this many held-out items
    seed: int  # the autosplit's (and training's) seed
    job_kind: str  # the JobKind of the analysis jobs this kind runs
    job_arn_type: str
    job_properties_key: str
    job_list_key: str
    realtime_call: str  # the real-time operation its endpoints answer
    cli_call: str  # the same as the AWS CLI spells it
    job_noun: str  # how API messages name one of its analysis jobs
    presenter: str  # dotted path of the function shaping a version as Describe…'s properties
    job_output_code: str  # the code in a job's output folder name, <account>-<code>-<job id>
    job_max_document_bytes: int  # Comprehend's limit for one document of a job
    job_batch: int  # documents a job's worker analyses at once
    job_result_key: str | None  # the member a job's result line puts the answer under (or none)
    job_takes_language: bool  # whether a job records and checks a LanguageCode
    job_without_model: str  # the refusal of a job started with no model (nor flywheel)
    title: str  # how the console names the kind ("Document classifier")
    version_page: str  # the URL name of a version's console page
    label_noun: str  # what one of the things it tells apart is called ("entity type")
    labels_noun: str
    label_unit: str  # one labelled item of its data ("annotation"), as dataset messages count them
    flywheel_model_type: str  # Comprehend's flywheel ModelType
    takes_mode: bool  # whether it has a Mode (MULTI_CLASS or MULTI_LABEL)
    # The shape of its data: "labels" (label(s) per document) or "spans" (typed text spans);
    # the flywheel app picks its per-kind functions by it.
    data_shape: str

    def train(self, version) -> None:
        """Train `version` with this kind's trainer."""
        import_string(self.trainer)(version)

    def load(self, folder, *, sha256: str, verified: bool = False):
        """Load a trained artifact of this kind from `folder` (or, when it loads_from_memory,
        a ModelFiles), checked against `sha256` unless its files were already authenticated
        (verified=True)."""
        return import_string(self.loader)(folder, sha256=sha256, verified=verified)

    def properties(self, version) -> dict:
        """Describe…'s properties of one version of this kind."""
        return import_string(self.presenter)(version)


CLASSIFIER = Kind(
    kind=ModelKind.CLASSIFIER,
    noun="classifier",
    a_noun="a classifier",
    group_label="Custom classifiers",
    arn_type="document-classifier",
    endpoint_arn_type="document-classifier-endpoint",
    name_field="DocumentClassifierName",
    arn_field="DocumentClassifierArn",
    properties_key="DocumentClassifierProperties",
    list_key="DocumentClassifierPropertiesList",
    summaries_key="DocumentClassifierSummariesList",
    languages=("en", "es", "fr", "de", "it", "pt"),
    trainer="models_app.services.classifier_training.train",
    loader="models_app.ml.artifacts.load_classifier",
    loads_from_memory=True,
    serves="classify",
    thread_safe=True,
    autosplit_fraction=0.10,
    autosplit_max=10_000,
    seed=0,
    job_kind=JobKind.CLASSIFICATION,
    job_arn_type="document-classification-job",
    job_properties_key="DocumentClassificationJobProperties",
    job_list_key="DocumentClassificationJobPropertiesList",
    realtime_call="ClassifyDocument",
    cli_call="classify-document",
    job_noun="classification job",
    presenter="models_app.presenters.classifier_properties",
    job_output_code="CLN",
    job_max_document_bytes=10 * 1024**2,
    job_batch=1000,
    job_result_key=None,
    job_takes_language=False,
    job_without_model="Give DocumentClassifierArn (or FlywheelArn).",
    title="Document classifier",
    version_page="models_app:classifier-version-detail",
    label_noun="label",
    labels_noun="labels",
    label_unit="document label",
    flywheel_model_type="DOCUMENT_CLASSIFIER",
    takes_mode=True,
    data_shape="labels",
)

RECOGNIZER = Kind(
    kind=ModelKind.RECOGNIZER,
    noun="entity recognizer",
    a_noun="an entity recognizer",
    group_label="Custom entity recognizers",
    arn_type="entity-recognizer",
    endpoint_arn_type="entity-recognizer-endpoint",
    name_field="RecognizerName",
    arn_field="EntityRecognizerArn",
    properties_key="EntityRecognizerProperties",
    list_key="EntityRecognizerPropertiesList",
    summaries_key="EntityRecognizerSummariesList",
    languages=("en", "es", "fr", "it", "de", "pt"),
    trainer="models_app.services.recognizer_training.train",
    loader="models_app.ml.ner_artifacts.load_recognizer",
    loads_from_memory=False,
    serves="entities",
    thread_safe=False,  # a spaCy pipeline is not safe to call from two threads at once
    autosplit_fraction=0.10,
    autosplit_max=10_000,
    seed=0,
    job_kind=JobKind.ENTITIES,
    job_arn_type="entities-detection-job",
    job_properties_key="EntitiesDetectionJobProperties",
    job_list_key="EntitiesDetectionJobPropertiesList",
    realtime_call="DetectEntities",
    cli_call="detect-entities",
    job_noun="entities detection job",
    presenter="models_app.presenters.recognizer_properties",
    job_output_code="NER",
    job_max_document_bytes=1024**2,
    job_batch=256,
    job_result_key="Entities",
    job_takes_language=True,
    job_without_model=(
        "Textwheel serves only custom entity recognizers: give EntityRecognizerArn "
        "(Comprehend's built-in entity model is not available here)."
    ),
    title="Entity recognizer",
    version_page="models_app:recognizer-version-detail",
    label_noun="entity type",
    labels_noun="entity types",
    label_unit="annotation",
    flywheel_model_type="ENTITY_RECOGNIZER",
    takes_mode=False,
    data_shape="spans",
)

KINDS: dict[str, Kind] = {spec.kind: spec for spec in (CLASSIFIER, RECOGNIZER)}
_BY_ARN_TYPE = {spec.arn_type: spec for spec in KINDS.values()}
_BY_ENDPOINT_ARN_TYPE = {spec.endpoint_arn_type: spec for spec in KINDS.values()}
_BY_JOB_KIND = {spec.job_kind: spec for spec in KINDS.values()}
_BY_JOB_ARN_TYPE = {spec.job_arn_type: spec for spec in KINDS.values()}
_BY_FLYWHEEL_MODEL_TYPE = {spec.flywheel_model_type: spec for spec in KINDS.values()}

for _spec in KINDS.values():
    arns.register_type(_spec.arn_type, _spec.noun, children=("version",))
    arns.register_type(_spec.endpoint_arn_type, "endpoint")
    arns.register_type(_spec.job_arn_type, _spec.job_noun)


def get(kind: str) -> Kind:
    """The registry entry of a stored ModelKind value."""
    return KINDS[kind]


def arn_types() -> tuple[str, ...]:
    return tuple(_BY_ARN_TYPE)


def endpoint_arn_types() -> tuple[str, ...]:
    return tuple(_BY_ENDPOINT_ARN_TYPE)


def of_arn_type(resource_type: str) -> Kind:
    """The kind a model ARN's resource type names."""
    return _BY_ARN_TYPE[resource_type]


def of_endpoint_arn_type(resource_type: str) -> Kind:
    return _BY_ENDPOINT_ARN_TYPE[resource_type]


def of_job(job_kind: str) -> Kind:
    """The kind of model an analysis job of `job_kind` runs."""
    return _BY_JOB_KIND[job_kind]


def of_job_arn_type(resource_type: str) -> Kind:
    """The kind whose analysis jobs a job ARN's resource type names."""
    return _BY_JOB_ARN_TYPE[resource_type]


def of_flywheel_model_type(model_type: str) -> Kind:
    """The kind a flywheel's ModelType names."""
    return _BY_FLYWHEEL_MODEL_TYPE[model_type]


def flywheel_model_types() -> tuple[str, ...]:
    return tuple(_BY_FLYWHEEL_MODEL_TYPE)


def job_arn_types() -> tuple[str, ...]:
    return tuple(_BY_JOB_ARN_TYPE)


def of_arn(value: str) -> Kind | None:
    """The kind a model version ARN names, or None for anything else (the console's guesses)."""
    try:
        return _BY_ARN_TYPE.get(arns.parse(value, field="Arn").resource_type)
    except ServiceError:
        return None
