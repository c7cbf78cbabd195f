from django.contrib import admin

from flywheel_app.models import Dataset, Flywheel, FlywheelIteration


class LookOnlyAdmin(admin.ModelAdmin):
    """For looking only: flywheels change through the console and the API, which check them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting goes through the console and the API, whose services check what may go.
        return False


@admin.register(Flywheel)
class FlywheelAdmin(LookOnlyAdmin):
    list_display = ("name", "kind", "status", "account", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("name",)


@admin.register(Dataset)
class DatasetAdmin(LookOnlyAdmin):
    list_display = ("name", "flywheel", "dataset_type", "status", "created_at")
    list_filter = ("status", "dataset_type")
    search_fields = ("name",)


@admin.register(FlywheelIteration)
class FlywheelIterationAdmin(LookOnlyAdmin):
    list_display = ("iteration_id", "flywheel", "status", "created_at")
    list_filter = ("status",)
