"""Console pages for model copy: a version's resource-based policy, and importing a shared version.

The policy services decide what a policy may say and refuse a stale revision; these views show
their answers at the field, in a person's words where the API's would not do.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from models_app import selectors
from models_app.form_common import error_field
from models_app.forms.model_copy import ImportForm, PolicyForm
from models_app.selectors.model_copy import model_names, policy_of, usable_keys
from models_app.services import model_copy, resource_policies
from models_app.views.versions import KINDS, pretty_policy
from webapp.core import policies
from webapp.core.errors import ServiceError


def _version(request, kind, name, version_id):
    """A version of the signed-in account, or 404 (also for another account's version)."""
    return get_object_or_404(
        selectors.versions(request.account, kind), model__name=name, pk=version_id
    )


def _label(version) -> str:
    return version.label


def _version_url(version, anchor: str = "") -> str:
    spec = KINDS[version.model.kind]
    url = reverse(spec.urls["version_detail"], args=[version.model.name, version.pk])
    return f"{url}#{anchor}" if anchor else url


def _stale(request, form, version):
    """Tell the editor its revision is no longer the current one, and show what is."""
    current = policy_of(version)
    if current is None:
        form.add_error(
            None,
            "This policy was deleted after you opened it, so your edit was not saved. "
            "Press Save policy again to share the version with the text below.",
        )
        form.show_revision("")
    else:
        form.add_error(
            None,
            "Someone saved a newer revision of this policy after you opened it, so your edit "
            "was not saved. Their policy is shown below the editor; press Save policy again to "
            "replace it with your text.",
        )
        form.show_revision(current.revision_id)
    return current


@login_required
def policy_edit(request, kind, name, version_id):
    """Edit a version's policy as JSON, or build the standard statement from accounts and users.

    The form carries the revision it showed, so a save over someone else's newer save (or over
    a policy deleted meanwhile) is refused instead of silently replacing it.
    """
    spec = KINDS[kind]
    version = _version(request, kind, name, version_id)
    current = policy_of(version)
    replaced = None  # the newer policy a refused save met, shown beside the editor
    if request.method != "POST":
        form = PolicyForm(
            initial={
                "policy": current.text if current else "",
                "revision_id": current.revision_id if current else "",
            }
        )
    else:
        action = PolicyForm.BUILD if "build" in request.POST else PolicyForm.SAVE
        form = PolicyForm(request.POST, action=action)
        if form.is_valid() and action == PolicyForm.BUILD:
            try:
                text = policies.standard_policy(
                    principals=form.principal_lines(),
                    resource_arn=version.arn,
                    sid=form.cleaned_data["policy_name"],
                )
            except ServiceError as exc:
                form.add_error("principals", exc.message)
            else:
                form.show_policy(text)
                messages.info(
                    request,
                    "The policy below was built from your list; check it, then press Save policy.",
                )
        elif form.is_valid():
            revision = form.cleaned_data["revision_id"] or None
            if revision is None and current is not None:
                # The editor showed "not shared", and someone shared it since: a put without a
                # revision would replace their policy unseen.
                replaced = _stale(request, form, version)
            else:
                try:
                    resource_policies.policy_put(
                        account=request.account,
                        user=request.user,
                        resource_arn=version.arn,
                        policy_text=form.cleaned_data["policy"],
                        revision_id=revision,
                    )
                except ServiceError as exc:
                    if exc.field == "PolicyRevisionId":
                        replaced = _stale(request, form, version)
                    else:
                        form.add_error(error_field(form, exc), exc.message)
                else:
                    messages.success(
                        request, f"The policy of version {_label(version)} of {name} was saved."
                    )
                    return redirect(_version_url(version, "policy-heading"))
    context = {
        "kind": spec,
        "model": version.model,
        "version": version,
        "form": form,
        "current": current,
        "replaced": replaced,
        "replaced_pretty": pretty_policy(replaced.text) if replaced else "",
    }
    return render(request, "models_app/version_policy_edit.html", context)


@login_required
@require_POST
def policy_delete(request, kind, name, version_id):
    """Delete a version's policy, only the revision the page showed."""
    version = _version(request, kind, name, version_id)
    revision = request.POST.get("revision_id", "").strip() or None
    try:
        resource_policies.policy_delete(
            account=request.account,
            user=request.user,
            resource_arn=version.arn,
            revision_id=revision,
        )
    except ServiceError as exc:
        if exc.field == "PolicyRevisionId":
            messages.error(
                request,
                "The policy was changed after this page was shown, so it was not deleted. "
                "Read the current policy below and delete it again if you still want to.",
            )
        elif exc.code == "ResourceNotFoundException" and policy_of(version) is None:
            messages.info(request, "This version was not shared: it has no policy to delete.")
        else:
            messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Version {_label(version)} of {name} is no longer shared: its policy was deleted.",
        )
    return redirect(_version_url(version, "policy-heading"))


@login_required
def version_import(request, kind):
    """Import a model version shared with this account (or one of its own) as a new version."""
    spec = KINDS[kind]
    form = ImportForm(
        request.POST or None,
        kind=kind,
        account_id=request.account.account_id,
        keys=usable_keys(request.account),
    )
    if request.method == "POST" and form.is_valid():
        try:
            version = model_copy.version_import(
                account=request.account, user=request.user, **form.service_arguments()
            )
        except ServiceError as exc:
            form.add_error(error_field(form, exc), exc.message)
        else:
            messages.success(
                request,
                f"Version {_label(version)} of {version.model.name} is being copied from "
                f"{form.cleaned_data['source_model_arn']}.",
            )
            return redirect(_version_url(version))
    context = {"kind": spec, "form": form, "model_names": model_names(request.account, kind)}
    return render(request, "models_app/version_import.html", context)
