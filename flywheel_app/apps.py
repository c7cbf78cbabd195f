from django.apps import AppConfig

from webapp.core import arns


class FlywheelAppConfig(AppConfig):
    name = "flywheel_app"
    verbose_name = "Flywheels"

    def ready(self) -> None:
        # Flywheel and dataset ARNs are taken by endpoint and job calls (FlywheelArn) and tags.
        arns.register_type("flywheel", "flywheel", children=("dataset",))

        from flywheel_app import selectors
        from flywheel_app.models import Dataset, DatasetStatus, Flywheel, FlywheelStatus
        from flywheel_app.services.datasets import dataset_fail_dead
        from flywheel_app.services.flywheels import active_version_of, flywheel_fail_dead
        from models_app.services.endpoints import register_flywheel_resolver
        from webapp.core import background, resources

        # Tags reach flywheels and their datasets (both ARNs are of the type "flywheel").
        resources.register("flywheel", selectors.flywheel_lookup)
        background.register(
            background.TrackedKind(
                model=Flywheel,
                queued=(FlywheelStatus.CREATING,),
                running=(FlywheelStatus.CREATING,),
                fail=flywheel_fail_dead,
            )
        )
        background.register(
            background.TrackedKind(
                model=Dataset,
                queued=(DatasetStatus.CREATING,),
                running=(DatasetStatus.CREATING,),
                fail=dataset_fail_dead,
            )
        )
        register_flywheel_resolver(active_version_of)
        self._register_iterations(background)

    def _register_iterations(self, background):
        from flywheel_app.models import FlywheelIteration, IterationStatus
        from flywheel_app.services.iterations import iteration_fail_dead, version_flywheel_check
        from models_app.services.endpoints import register_version_in_use_check

        background.register(
            background.TrackedKind(
                model=FlywheelIteration,
                queued=(IterationStatus.TRAINING, IterationStatus.STOP_REQUESTED),
                running=IterationStatus.ACTIVE,
                fail=iteration_fail_dead,
            )
        )
        # A flywheel's active version, and the versions its iterations name, are not deleted.
        register_version_in_use_check(version_flywheel_check)
