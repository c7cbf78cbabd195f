from django.contrib import admin

from models_app.models import AnalysisJob, AnalysisTask, CustomModel, Endpoint, ModelVersion


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
