from django.contrib import admin

from models_app.models import CustomModel, ModelVersion


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
