from django.apps import AppConfig


class ModelsAppConfig(AppConfig):
    name = "models_app"
    verbose_name = "Custom models"

    def ready(self):
        from models_app import selectors
        from models_app.models import ModelStatus, ModelVersion
        from models_app.services.version_status import version_fail_dead
        from webapp import background, resources

        resources.register("document-classifier", selectors.model_lookup)
        resources.register("entity-recognizer", selectors.model_lookup)
        background.register(
            background.TrackedKind(
                model=ModelVersion,
                queued=(ModelStatus.SUBMITTED,),
                running=(ModelStatus.TRAINING, ModelStatus.STOP_REQUESTED),
                fail=version_fail_dead,
            )
        )
