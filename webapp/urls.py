from django.contrib import admin
from django.urls import include, path

from models_app.urls import runtime_urlpatterns
from webapp import views
from webapp.api.gateway import api

urlpatterns = [
    # POST / is the Comprehend-compatible API; GET / is the console's home page.
    path("", views.root, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/", include("webapp.accounts.urls")),
    path("models/", include("models_app.urls")),
    path("flywheels/", include("flywheel_app.urls")),
    path("inference/", include((runtime_urlpatterns, "inference"))),
    path("admin/", admin.site.urls),
]

__all__ = ["api"]
