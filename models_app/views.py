from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from models_app import selectors
from models_app.models import ModelKind


def _model_list(request, kind, template):
    rows = selectors.models(request.account, kind)
    return render(request, template, {"models": rows, "kind": kind})


@login_required
def classifier_list(request):
    return _model_list(request, ModelKind.CLASSIFIER, "models_app/classifier_list.html")


@login_required
def recognizer_list(request):
    return _model_list(request, ModelKind.RECOGNIZER, "models_app/recognizer_list.html")
