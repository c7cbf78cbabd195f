"""The console page listing the base models installed on this machine."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from models_app.selectors.base_models import installed_base_models


@login_required
def base_model_list(request):
    # Base models are the machine's, not an account's: every signed-in user sees the same list.
    models = installed_base_models()
    context = {
        "base_models": models,
        "unusable": sum(1 for m in models if not m.usable),
    }
    return render(request, "models_app/base_model_list.html", context)
