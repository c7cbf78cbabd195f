"""Trained models for inference tests: trained once through the real services, then reused.

The first test that needs a model trains it through the API with `run_queued_jobs()`; its
artifact is copied aside, and later tests get a TRAINED version row pointing at that copy, so the
suite trains each kind once however many tests use it.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from models_app.models import ModelKind, ModelStatus, ModelVersion
from tests import factories
from tests.conftest import BAD_INPUTS, run_queued_jobs

TYPES = [{"Type": t} for t in ("PERSON", "LOCATION", "ORGANIZATION", "MISC")]
_cache: dict[str, dict] = {}


def role(user) -> str:
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def create_recognizer(client, user, store, name, version_name=None, **extra) -> str:
    """CreateEntityRecognizer on the suite's small annotated set; its ARN (`extra`: more members)."""
    docs = store(user, "ner/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(user, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    return client.create_entity_recognizer(
        RecognizerName=name,
        DataAccessRoleArn=role(user),
        InputDataConfig={
            "EntityTypes": TYPES,
            "Documents": {"S3Uri": docs},
            "Annotations": {"S3Uri": ann},
        },
        LanguageCode="en",
        **({"VersionName": version_name} if version_name else {}),
        **extra,
    )["EntityRecognizerArn"]


def create_classifier(client, user, store, name, version_name=None, **extra) -> str:
    """CreateDocumentClassifier on the suite's 3-label set; its ARN (`extra`: more members)."""
    uri = store(user, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    return client.create_document_classifier(
        DocumentClassifierName=name,
        DataAccessRoleArn=role(user),
        InputDataConfig={"S3Uri": uri},
        LanguageCode="en",
        **({"VersionName": version_name} if version_name else {}),
        **extra,
    )["DocumentClassifierArn"]


def trained(kind: str, client, user, store, *, name: str, version_name: str) -> ModelVersion:
    """A TRAINED version of `kind` in the user's account (trained for real the first time)."""
    cached = _cache.get(kind)
    if cached is None:
        train = create_recognizer if kind == ModelKind.RECOGNIZER else create_classifier
        train(client, user, store, name, version_name)
        # A small slice trains in seconds; keep the run short whatever the default budget.
        with override_settings(RECOGNIZER_TIME_BUDGET_SECONDS=10):
            run_queued_jobs()
        version = ModelVersion.objects.get(model__name=name, version_name=version_name)
        assert version.status in (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING), (
            version.message
        )
        keep = Path(settings.DATA_ROOT) / "test-models" / f"{kind}-{version.artifact_sha256}"
        if not keep.exists():
            shutil.copytree(version.artifact_uri, keep)
        _cache[kind] = {
            "artifact_uri": str(keep),
            "artifact_sha256": version.artifact_sha256,
            "mode": version.mode,
            "language_code": version.language_code,
            # A copy answers Describe and draws its pages as the version it stands for.
            "input_data_config": version.input_data_config,
            "metrics": version.metrics,
            "per_label_metrics": version.per_label_metrics,
            "training_parameters": version.training_parameters,
        }
        return version
    return factories.version(
        user,
        name=name,
        version_name=version_name,
        kind=kind,
        status=ModelStatus.TRAINED,
        **cached,
    )
