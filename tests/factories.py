"""Rows for tests that need a resource to exist without training one."""

from models_app.models import CustomModel, ModelKind, ModelStatus, ModelVersion


def version(
    user,
    *,
    name="news",
    version_name="",
    kind=ModelKind.CLASSIFIER,
    status=ModelStatus.TRAINED,
    **fields,
):
    account = user.membership.account
    model, _ = CustomModel.objects.get_or_create(account=account, kind=kind, name=name)
    fields.setdefault("mode", "MULTI_CLASS" if kind == ModelKind.CLASSIFIER else "")
    fields.setdefault("data_access_role_arn", f"arn:aws:iam::{account.account_id}:role/test")
    return ModelVersion.objects.create(
        account=account, model=model, version_name=version_name, status=status, **fields
    )
