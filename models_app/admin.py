from django.contrib import admin

from models_app.models import (
    AnalysisJob,
    AnalysisTask,
    CustomModel,
    Endpoint,
    ModelVersion,
    ResourcePolicy,
)


class LookOnlyAdmin(admin.ModelAdmin):
    """For looking only: models, versions, endpoints and jobs change through the console and the
    API, whose services check every change; results (status, metrics, artifacts) are written by
    the workers that produced them, never typed in."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting goes through the services, which remove artifacts and refuse versions in use.
        return False


@admin.register(CustomModel)
class CustomModelAdmin(LookOnlyAdmin):
    list_display = ("name", "kind", "account", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(ModelVersion)
class ModelVersionAdmin(LookOnlyAdmin):
    list_display = ("model", "version_name", "status", "account", "submit_time")
    list_filter = ("status", "model__kind")
    search_fields = ("model__name", "version_name")


@admin.register(Endpoint)
class EndpointAdmin(LookOnlyAdmin):
    list_display = ("name", "kind", "status", "account")
    list_filter = ("status", "kind")
    search_fields = ("name",)


@admin.register(AnalysisJob)
class AnalysisJobAdmin(LookOnlyAdmin):
    list_display = ("pk", "kind", "status", "account")
    list_filter = ("status", "kind")


@admin.register(AnalysisTask)
class AnalysisTaskAdmin(LookOnlyAdmin):
    list_display = ("pk", "job", "status")
    list_filter = ("status",)


@admin.register(ResourcePolicy)
class ResourcePolicyAdmin(LookOnlyAdmin):
    """For looking only: a policy changes through PutResourcePolicy or the version page."""

    list_display = ("version", "revision_id", "updated_at")
    readonly_fields = ("version", "text", "revision_id", "created_at", "updated_at")
