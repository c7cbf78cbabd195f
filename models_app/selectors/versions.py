"""Reads of models and versions, always scoped to an account."""

from datetime import datetime

from django.db.models import Count, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from models_app import kinds
from models_app.models import CustomModel, ModelVersion, ResourcePolicy
from webapp.accounts.models import Account
from webapp.core import arns, policies
from webapp.core.errors import ServiceError, invalid_filter, not_found


def versions(account, kind: str) -> QuerySet:
    return ModelVersion.objects.filter(account=account, model__kind=kind).select_related(
        "model", "account"
    )


def versions_filtered(
    account,
    kind: str,
    *,
    status: str | None = None,
    name: str | None = None,
    submitted_before: datetime | None = None,
    submitted_after: datetime | None = None,
) -> QuerySet:
    """List versions with at most one of Comprehend's filters set."""
    conditions = {
        "status": status,
        "model__name": name,
        "submit_time__lt": submitted_before,
        "submit_time__gt": submitted_after,
    }
    qs = one_filter(
        versions(account, kind), conditions, "Status, the name, SubmitTimeBefore or SubmitTimeAfter"
    )
    return qs.order_by("-submit_time", "-id")


def one_filter(qs: QuerySet, conditions: dict, names: str) -> QuerySet:
    """Comprehend's List filters: at most one condition (lookup: value, None = unset) applies."""
    given = {lookup: value for lookup, value in conditions.items() if value is not None}
    if len(given) > 1:
        raise invalid_filter(f"The filter can name only one of {names} at a time.")
    return qs.filter(**given)


def version_for(
    account,
    value: str,
    *,
    kind: str | None = None,
    principal=None,
    action: str = "use",
    field: str | None = None,
) -> ModelVersion:
    """The access gate for model versions: the version a model ARN names, for `principal` of
    `account` to `action`, or ResourceNotFoundException (also for another account's version).

    Without `kind` the ARN's resource type says which kind of model it names.
    """
    expected = kinds.get(kind).arn_type if kind else kinds.arn_types()
    field = field or (kinds.get(kind).arn_field if kind else "ModelArn")
    arn = arns.parse(value, field=field, expected=expected)
    kind = kind or kinds.of_arn_type(arn.resource_type).kind
    owner = arn.names_account(account.account_id)
    if (
        not owner
        and arn.names_account(arn.account)
        and _policy_allows(arn, kind, account, principal, action)
    ):
        return _version_of_owner(arn, kind, value)
    return arns.resolve(
        account,
        value,
        field=field,
        expected=expected,
        queryset_for=lambda arn: versions(account, kind).filter(
            model__name=arn.name, version_name=arn.version or ""
        ),
    )


def _policy_allows(arn, kind: str, account, principal, action: str) -> bool:
    """Whether another account's version lets `principal` (a user of `account`) do `action`
    (model copy: "another account may import this version when its resource policy allows").

    This is the one place that decision belongs. Only importing can be shared: using,
    describing, tagging, stopping or deleting another account's version stays refused whatever
    its policy says, so those answer exactly like a missing version.
    """
    if action != policies.IMPORT_ACTION or principal is None or account is None:
        return False
    text = (
        ResourcePolicy.objects.filter(
            version__account__account_id=arn.account,
            version__model__kind=kind,
            version__model__name=arn.name,
            version__version_name=arn.version or "",
        )
        .values_list("text", flat=True)
        .first()
    )
    if text is None:
        return False
    try:
        policy = policies.parse(text, resource_arn=str(arn))
    except ServiceError:
        # A stored policy the grammar no longer accepts (it changed since) shares nothing.
        return False
    return policy.allows(
        account_id=account.account_id,
        principal_arn=arns.principal_user(account.account_id, principal.username),
        action=action,
    )


def owner_of_version(arn) -> Account | None:
    """The account owning the version a parsed model ARN names, if that version exists.

    For the owner's audit log only (it records refused imports of its versions): nothing of it
    may reach the caller, who is told the same thing whether the version exists or not.
    """
    exists = ModelVersion.objects.filter(
        account__account_id=arn.account,
        model__kind=kinds.of_arn_type(arn.resource_type).kind,
        model__name=arn.name,
        version_name=arn.version or "",
    ).exists()
    return Account.objects.filter(account_id=arn.account).first() if exists else None


def _version_of_owner(arn, kind: str, value: str) -> ModelVersion:
    """A version read in the account that owns it, once its policy has let the caller in."""
    version = (
        ModelVersion.objects.filter(
            account__account_id=arn.account,
            model__kind=kind,
            model__name=arn.name,
            version_name=arn.version or "",
        )
        .select_related("model", "account")
        .first()
    )
    if version is None:
        raise not_found(f"The {arns.RESOURCE_TYPES[arn.resource_type]} {value} was not found.")
    return version


def models(account, kind: str) -> QuerySet:
    return CustomModel.objects.filter(account=account, kind=kind).prefetch_related("versions")


def models_with_latest(account, kind: str) -> QuerySet:
    """The account's models that have a version, each annotated with its version count and its
    latest version's id, name, status and F1 score, so that the list sorts on any of them."""
    latest = ModelVersion.objects.filter(model=OuterRef("pk")).order_by("-submit_time", "-pk")
    f1 = Cast(KeyTextTransform("F1Score", "metrics"), FloatField())
    return (
        CustomModel.objects.filter(account=account, kind=kind)
        .annotate(
            version_count=Count("versions"),
            latest_pk=Subquery(latest.values("pk")[:1]),
            latest_name=Subquery(latest.values("version_name")[:1]),
            latest_time=Subquery(latest.values("submit_time")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
            latest_f1=Subquery(latest.annotate(f1=f1).values("f1")[:1]),
        )
        .filter(latest_pk__isnull=False)
    )


def model_lookup(account, value: str, *, field: str):
    """For the resource registry (tags): the version a model ARN names, through the gate."""
    return version_for(account, value, field=field)
