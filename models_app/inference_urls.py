from django.urls import path

from models_app import inference_views as views

app_name = "inference"

endpoint = "endpoints/<str:name>/"
job = "jobs/<str:job_id>/"

urlpatterns = [
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
