"""Reads of endpoints, always scoped to an account."""

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from models_app import kinds
from models_app.models import Endpoint, ModelStatus, ModelVersion
from webapp.accounts.models import EncryptionKey
from webapp.core import arns
from webapp.core.errors import invalid_request, not_found


def endpoints(account) -> QuerySet:
    return Endpoint.objects.filter(account=account).select_related(
        "account",
        "version__model",
        "version__account",
        "desired_version__model",
        "desired_version__account",
    )


def endpoint_for(account, value: str, *, kind: str | None = None, field: str = "EndpointArn"):
    """The access gate for endpoints: the endpoint an ARN names in the account, or
    ResourceNotFoundException (also for another account's endpoint).

    With `kind` (a ClassifyDocument or DetectEntities call) the name alone finds the endpoint,
    since names are unique in an account, so calling the wrong kind of endpoint says so.
    """

    def queryset_for(arn):
        qs = endpoints(account).filter(name=arn.name)
        return qs if kind else qs.filter(kind=kinds.of_endpoint_arn_type(arn.resource_type).kind)

    endpoint = arns.resolve(
        account,
        value,
        field=field,
        expected=kinds.endpoint_arn_types(),
        queryset_for=queryset_for,
    )
    if kind is not None and endpoint.kind != kind:
        raise _wrong_kind(endpoint.name, endpoint.kind, kind)
    return endpoint


def _wrong_kind(name: str, has: str, wanted: str):
    serves, needs = kinds.get(has), kinds.get(wanted)
    article = "an" if serves.noun[0] in "aeiou" else "a"
    return invalid_request(
        f"The endpoint {name} serves {article} {serves.noun}; {needs.realtime_call} needs an "
        f"endpoint of a custom {needs.noun}."
    )


# What a real-time call reads, and nothing more. This runs on every ClassifyDocument and
# DetectEntities call, where building an ORM query costs more CPU than the query itself (0.6 ms
# against 0.1 ms, a tenth of a whole call), so it is one fixed SQL statement.
_ROUTE_FIELDS = (
    "pk",
    "kind",
    "name",
    "status",
    "flywheel_arn",
    "current_units",
    "desired_units",
    "version_id",
    "version__artifact_sha256",
    "desired_version_id",
    "desired_version__artifact_sha256",
    # An encrypted model's key, and whether it was enabled when the route was read: a disabled
    # key stops the endpoint answering within the route's cache time, with no query per call.
    "version__model_key__key_id",
    "version__model_key__enabled",
)
_ROUTE_SQL = f"""
    SELECT e.id, e.kind, e.name, e.status, e.flywheel_arn, e.current_units,
           e.desired_units, e.version_id, v.artifact_sha256, e.desired_version_id,
           d.artifact_sha256, k.key_id, k.enabled
      FROM {Endpoint._meta.db_table} e
      LEFT JOIN {ModelVersion._meta.db_table} v ON v.id = e.version_id
      LEFT JOIN {ModelVersion._meta.db_table} d ON d.id = e.desired_version_id
      LEFT JOIN {EncryptionKey._meta.db_table} k ON k.id = v.model_key_id
     WHERE e.account_id = %s AND e.name = %s
"""


def endpoint_route(account, value: str, *, kind: str) -> dict:
    """The endpoint a real-time call names, as a small dict (with its "arn"), in the account."""
    arn = arns.parse(value, field="EndpointArn", expected=kinds.endpoint_arn_types())
    row = None
    if arn.names_account(account.account_id):
        with connection.cursor() as cursor:
            cursor.execute(_ROUTE_SQL, [account.pk, arn.name])
            row = cursor.fetchone()
    if row is None:
        raise not_found(f"The endpoint {value} was not found.")
    route = dict(zip(_ROUTE_FIELDS, row, strict=True))
    if route["kind"] != kind:
        raise _wrong_kind(route["name"], route["kind"], kind)
    route["arn"] = arns.build(
        kinds.get(route["kind"]).endpoint_arn_type, account.account_id, route["name"]
    )
    return route


def version_for_serving(version_id: int) -> ModelVersion:
    return ModelVersion.objects.select_related("model", "account").get(pk=version_id)


def endpoints_filtered(
    account,
    *,
    model_arn: str | None = None,
    status: str | None = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
) -> QuerySet:
    """ListEndpoints with Comprehend's EndpointFilter (the conditions combine)."""
    qs = endpoints(account)
    if model_arn is not None:
        parsed = arns.parse(model_arn, field="Filter.ModelArn")
        if not parsed.names_account(account.account_id):
            return qs.none()
        qs = qs.filter(version__model__name=parsed.name, version__version_name=parsed.version or "")
        # An ARN of another resource type has always been read as a recognizer's here.
        model_arn_type = parsed.resource_type in kinds.arn_types()
        named = kinds.of_arn_type(parsed.resource_type) if model_arn_type else kinds.RECOGNIZER
        qs = qs.filter(kind=named.kind)
    if status is not None:
        qs = qs.filter(status=status)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    if created_after is not None:
        qs = qs.filter(created_at__gt=created_after)
    return qs.order_by("-created_at", "-id")


def endpoint_lookup(account, value: str, *, field: str):
    """For the resource registry (tags): the endpoint an ARN names, through the gate."""
    return endpoint_for(account, value, field=field)


def endpoints_using(version: ModelVersion) -> QuerySet:
    """Endpoints that serve a version or are being moved to it."""
    from django.db.models import Q

    return Endpoint.objects.filter(Q(version=version) | Q(desired_version=version)).select_related(
        "account"
    )


def usable_versions(account, kind: str | None = None) -> QuerySet:
    """Trained versions an endpoint or a job can use, newest first."""
    qs = ModelVersion.objects.filter(account=account, status__in=ModelStatus.USABLE).select_related(
        "model", "account"
    )
    if kind is not None:
        qs = qs.filter(model__kind=kind)
    return qs.order_by("model__kind", "model__name", "-submit_time", "-id")
