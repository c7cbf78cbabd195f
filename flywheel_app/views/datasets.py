"""Console page to add a dataset to a flywheel: uploaded files or S3 URIs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from flywheel_app import forms
from flywheel_app.services import datasets
from flywheel_app.views.common import annotate_flywheel, load_flywheel, said
from models_app.form_common import error_field, store_upload
from webapp.core.errors import ServiceError


def _data_uri(request, form, uri_field: str, file_field: str) -> str:
    """The URI the person typed, or where their uploaded file was just stored."""
    upload = form.cleaned_data.get(file_field)
    if not upload:
        return form.cleaned_data[uri_field]
    uri = store_upload(request.account.account_id, upload)
    form.remember_upload(uri_field, uri)
    return uri


@login_required
def dataset_create(request, name):
    flywheel = load_flywheel(request, name)
    annotate_flywheel(flywheel)
    initial = {"dataset_type": request.GET.get("type", "TRAIN")}
    form = forms.DatasetCreateForm(
        request.POST or None,
        request.FILES or None,
        kind=flywheel.kind,
        mode=flywheel.mode,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            uris = {uri: _data_uri(request, form, uri, file) for uri, file in form.sources()}
            dataset = datasets.dataset_create(
                account=request.account, flywheel_arn=flywheel.arn, **form.service_arguments(uris)
            )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), said(exc.message))
        else:
            messages.success(
                request,
                f"Dataset {dataset.name} is being checked and added to the data lake.",
            )
            return redirect("flywheel_app:flywheel-detail", name=flywheel.name)
    context = {"flywheel": flywheel, "form": form}
    return render(request, "flywheel_app/dataset_create.html", context)
