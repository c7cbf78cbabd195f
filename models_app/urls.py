from django.urls import path

from models_app import views

app_name = "models_app"

version = "classifiers/<str:name>/versions/<int:version_id>/"

urlpatterns = [
    path("classifiers/", views.classifier_list, name="classifier-list"),
    # Outside classifiers/ so that no model name (a model may be called "create") hides it.
    path("create-classifier/", views.classifier_new, name="classifier-create"),
    path("classifiers/<str:name>/", views.classifier_detail, name="classifier-detail"),
    path(
        "classifiers/<str:name>/versions-table/",
        views.classifier_versions,
        name="classifier-versions",
    ),
    path(version, views.classifier_version_detail, name="classifier-version-detail"),
    path(f"{version}status/", views.classifier_version_status, name="classifier-version-status"),
    path(
        f"{version}output.tar.gz",
        views.classifier_version_output,
        name="classifier-version-output",
    ),
    path(f"{version}stop/", views.classifier_version_stop, name="classifier-version-stop"),
    path(f"{version}delete/", views.classifier_version_delete, name="classifier-version-delete"),
    path("recognizers/", views.recognizer_list, name="recognizer-list"),
]
