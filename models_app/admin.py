from django.contrib import admin

from models_app.models import (
    AnalysisJob,
    AnalysisTask,
    CustomModel,
    Endpoint,
    ModelVersion,
    ResourcePolicy,
)


@admin.register(CustomModel)
class CustomModelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "account", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("model", "version_name", "status", "account", "submit_time")
    list_filter = ("status", "model__kind")
    search_fields = ("model__name", "version_name")


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "status", "account")
    list_filter = ("status", "kind")
    search_fields = ("name",)


@admin.register(AnalysisJob)
class AnalysisJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "status", "account")
    list_filter = ("status", "kind")


@admin.register(AnalysisTask)
class AnalysisTaskAdmin(admin.ModelAdmin):
    list_display = ("pk", "job", "status")
    list_filter = ("status",)


@admin.register(ResourcePolicy)
class ResourcePolicyAdmin(admin.ModelAdmin):
    """For looking only: a policy changes through PutResourcePolicy or the version page."""

    list_display = ("version", "revision_id", "updated_at")
    readonly_fields = ("version", "text", "revision_id", "created_at", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
