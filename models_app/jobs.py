"""RQ entry points: take primary keys, call one service."""

from django.conf import settings

from models_app import kinds
from models_app.models import ModelVersion


def _torch_threads() -> None:
    """torch's threads for this job (models with a base model): WORKER_TORCH_THREADS, else every
    core the worker may use. Several workers on one machine each take every core otherwise, and
    torch's threads then wait on each other. Also whether it may predict in bfloat16 or int8
    (ENCODER_BF16, ENCODER_INT8)."""
    from models_app.ml import encoder

    encoder.limit_threads(settings.WORKER_TORCH_THREADS or None)
    encoder.allow_bf16(settings.ENCODER_BF16)
    encoder.allow_int8(settings.ENCODER_INT8)


def version_train_job(version_id: int) -> None:
    """Train one submitted model version with its kind's trainer."""
    from models_app.services import versions

    kind = ModelVersion.objects.filter(pk=version_id).values_list("model__kind", flat=True).first()
    if kind is None:
        return  # deleted while it waited in the queue
    _torch_threads()
    versions.version_train(version_id=version_id, trainer=kinds.get(kind).train)


def endpoint_deploy_job(endpoint_id: int) -> None:
    """Load an endpoint's desired model and put the endpoint in service."""
    from models_app.services.endpoints import endpoint_deploy

    endpoint_deploy(endpoint_id=endpoint_id)


def analysis_task_job(task_id: int) -> None:
    """Run one task of an analysis job (split, chunk or merge), then its job's next ones."""
    from models_app.services.analysis_jobs import task_run

    _torch_threads()
    task_run(task_id=task_id)


def version_import_job(version_id: int) -> None:
    """Copy an imported version's model from its source (ImportModel)."""
    from models_app.services.model_copy import version_copy

    version_copy(version_id=version_id)
