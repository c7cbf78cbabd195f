from django.contrib.auth.views import LogoutView
from django.urls import path

from webapp.accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("members/", views.members, name="members"),
    path("security-credentials/", views.credentials, name="credentials"),
    path("security-credentials/new/", views.access_key_new, name="access-key-create"),
    path(
        "security-credentials/<str:key_id>/revoke/",
        views.access_key_revoke_view,
        name="access-key-revoke",
    ),
    path(
        "security-credentials/<str:key_id>/delete/",
        views.access_key_delete_view,
        name="access-key-delete",
    ),
    path("keys/", views.keys, name="key-list"),
    path("keys/<str:key_id>/enable/", views.key_enable_view, name="key-enable"),
    path("keys/<str:key_id>/disable/", views.key_disable_view, name="key-disable"),
    path("audit-log/", views.audit_log, name="audit-list"),
]
