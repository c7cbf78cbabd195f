from django.urls import path

from models_app import views

app_name = "models_app"

urlpatterns = [
    path("classifiers/", views.classifier_list, name="classifier-list"),
    path("recognizers/", views.recognizer_list, name="recognizer-list"),
]
