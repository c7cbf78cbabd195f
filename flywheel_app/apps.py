from django.apps import AppConfig

from webapp.core import arns


class FlywheelAppConfig(AppConfig):
    name = "flywheel_app"
    verbose_name = "Flywheels"

    def ready(self) -> None:
        # Flywheel and dataset ARNs are taken by endpoint and job calls (FlywheelArn) and tags.
        arns.register_type("flywheel", "flywheel", children=("dataset",))
