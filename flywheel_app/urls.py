from django.urls import path

from flywheel_app import views

app_name = "flywheel_app"

# A flywheel's pages live under f/<name>/, so that no flywheel name (one may be called "create")
# hides the create page.
flywheel = "f/<str:name>/"
iteration = f"{flywheel}iterations/<str:iteration_id>/"

urlpatterns = [
    path("", views.flywheel_list, name="flywheel-list"),
    path("create/", views.flywheel_create, name="flywheel-create"),
    path(flywheel, views.flywheel_detail, name="flywheel-detail"),
    path(f"{flywheel}work/", views.flywheel_work, name="flywheel-work"),
    path(f"{flywheel}update/", views.flywheel_update, name="flywheel-update"),
    path(f"{flywheel}delete/", views.flywheel_delete, name="flywheel-delete"),
    path(f"{flywheel}datasets/create/", views.dataset_create, name="dataset-create"),
    path(f"{flywheel}run/", views.iteration_start, name="iteration-start"),
    path(iteration, views.iteration_detail, name="iteration-detail"),
    path(f"{iteration}stop/", views.iteration_stop, name="iteration-stop"),
    path(f"{iteration}activate/", views.iteration_activate, name="iteration-activate"),
]
