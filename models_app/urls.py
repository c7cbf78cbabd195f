from django.urls import path

from models_app import views
from models_app.models import ModelKind
from models_app.views.base_models import base_model_list

app_name = "models_app"


def _model_pages(kind: str, slug: str, prefix: str) -> list:
    """The pages every kind of model has, named <slug>-<page>."""
    model = f"{prefix}/<str:name>/"
    version = f"{model}versions/<int:version_id>/"
    k = {"kind": kind}
    return [
        path(f"{prefix}/", views.model_list, k, name=f"{slug}-list"),
        # Outside <prefix>/ so that no model name (a model may be called "create") hides it.
        path(f"create-{slug}/", views.model_create, k, name=f"{slug}-create"),
        path(f"import-{slug}/", views.version_import, k, name=f"{slug}-import"),
        path(model, views.model_detail, k, name=f"{slug}-detail"),
        path(f"{model}versions-table/", views.model_versions, k, name=f"{slug}-versions"),
        path(version, views.version_detail, k, name=f"{slug}-version-detail"),
        path(f"{version}status/", views.version_status, k, name=f"{slug}-version-status"),
        path(f"{version}stop/", views.version_stop, k, name=f"{slug}-version-stop"),
        path(f"{version}delete/", views.version_delete, k, name=f"{slug}-version-delete"),
        path(f"{version}policy/", views.policy_edit, k, name=f"{slug}-policy-edit"),
        path(f"{version}policy/delete/", views.policy_delete, k, name=f"{slug}-policy-delete"),
    ]


classifier_version = "classifiers/<str:name>/versions/<int:version_id>/"
recognizer_version = "recognizers/<str:name>/versions/<int:version_id>/"

urlpatterns = [
    *_model_pages(ModelKind.CLASSIFIER, "classifier", "classifiers"),
    path(
        f"{classifier_version}output.tar.gz",
        views.classifier_version_output,
        name="classifier-version-output",
    ),
    *_model_pages(ModelKind.RECOGNIZER, "recognizer", "recognizers"),
    path(
        f"{recognizer_version}metrics.json",
        views.recognizer_version_metrics,
        name="recognizer-version-metrics",
    ),
    path(
        f"{recognizer_version}try/",
        views.recognizer_version_try,
        name="recognizer-version-try",
    ),
    path("base-models/", base_model_list, name="base-model-list"),
]

endpoint = "endpoints/<str:name>/"
job = "jobs/<str:job_id>/"

# Endpoints and analysis jobs (what runs models), mounted at /inference/ under their own namespace.
runtime_urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint-list"),
    path("endpoints/create/", views.endpoint_create, name="endpoint-create"),
    path(endpoint, views.endpoint_detail, name="endpoint-detail"),
    path(f"{endpoint}status/", views.endpoint_status, name="endpoint-status"),
    path(f"{endpoint}update/", views.endpoint_update, name="endpoint-update"),
    path(f"{endpoint}delete/", views.endpoint_delete, name="endpoint-delete"),
    path(f"{endpoint}analyze/", views.endpoint_analyze, name="endpoint-analyze"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/create/", views.job_create, name="job-create"),
    path(job, views.job_detail, name="job-detail"),
    path(f"{job}progress/", views.job_progress, name="job-progress"),
    path(f"{job}output.tar.gz", views.job_output, name="job-output"),
    path(f"{job}stop/", views.job_stop, name="job-stop"),
]
