from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from models_app.urls import runtime_urlpatterns
from webapp import views
from webapp.api.gateway import api

urlpatterns = [
    # POST / is the Comprehend-compatible API; GET / is the console's home page.
    path("", views.root, name="home"),
    path("health/", views.health, name="health"),
    # Browsers and feed readers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path(
        "favicon.ico",
        serve,
        {"path": "img/favicon.ico", "document_root": settings.BASE_DIR / "static"},
    ),
    path("accounts/", include("webapp.accounts.urls")),
    path("models/", include("models_app.urls")),
    path("flywheels/", include("flywheel_app.urls")),
    path("inference/", include((runtime_urlpatterns, "inference"))),
    path("admin/", admin.site.urls),
]

__all__ = ["api"]
