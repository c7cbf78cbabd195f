from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from webapp.api.gateway import api


@csrf_exempt
def root(request):
    """POST / goes to the API gateway (as boto3 sends it); anything else is the console."""
    if request.method == "POST":
        return api(request)
    return _home(request)


@login_required
def _home(request):
    from models_app import selectors
    from models_app.models import ModelKind

    return render(
        request,
        "home.html",
        {
            "classifier_count": selectors.models(request.account, ModelKind.CLASSIFIER).count(),
            "recognizer_count": selectors.models(request.account, ModelKind.RECOGNIZER).count(),
        },
    )


def health(request):
    """Liveness for load balancers and the run script: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
