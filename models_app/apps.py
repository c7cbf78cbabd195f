from django.apps import AppConfig


class ModelsAppConfig(AppConfig):
    name = "models_app"
    verbose_name = "Custom models"

    def ready(self):
        from models_app import kinds, selectors
        from models_app.models import ModelStatus, ModelVersion
        from models_app.services.version_status import version_fail_dead
        from webapp.core import background, resources

        for resource_type in kinds.arn_types():
            resources.register(resource_type, selectors.model_lookup)
        background.register(
            background.TrackedKind(
                model=ModelVersion,
                queued=(ModelStatus.SUBMITTED,),
                running=ModelStatus.RUNNING,
                fail=version_fail_dead,
            )
        )
        self._register_inference(background, resources)

    def _register_inference(self, background, resources):
        from models_app import kinds, selectors
        from models_app.models import AnalysisTask, Endpoint, EndpointStatus, TaskStatus
        from models_app.services.analysis_jobs import task_fail_dead
        from models_app.services.endpoints import endpoint_fail_dead

        for resource_type in kinds.endpoint_arn_types():
            resources.register(resource_type, selectors.endpoint_lookup)
        for resource_type in ("document-classification-job", "entities-detection-job"):
            resources.register(resource_type, selectors.job_lookup)
        background.register(
            background.TrackedKind(
                model=Endpoint,
                queued=EndpointStatus.ACTIVE,
                running=EndpointStatus.ACTIVE,
                fail=endpoint_fail_dead,
            )
        )
        # An analysis job lives through its tasks: a dead task is retried, not the job failed.
        background.register(
            background.TrackedKind(
                model=AnalysisTask,
                queued=(TaskStatus.PENDING,),
                running=(TaskStatus.RUNNING,),
                fail=task_fail_dead,
            )
        )
