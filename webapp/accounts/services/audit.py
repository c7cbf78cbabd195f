"""The audit log: who changed or tried to reach what, from where, and how it ended."""

import contextlib
import contextvars
import logging
from dataclasses import dataclass, field

from django.db import DatabaseError

from webapp.accounts.models import Account, AuditEvent

logger = logging.getLogger(__name__)

OPERATIONS = (
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "ImportModel",
    "CreateKey",
    "EnableKey",
    "DisableKey",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
)

_LIMITS = {f.name: f.max_length for f in AuditEvent._meta.fields if f.max_length}


@dataclass
class _RequestScope:
    address: str
    recorded: list = field(default_factory=list)  # the rows written during this request


_scope: contextvars.ContextVar[_RequestScope | None] = contextvars.ContextVar(
    "audit_request_scope", default=None
)


def client_address() -> str:
    """The address of the client of the request being served ("" outside a request)."""
    scope = _scope.get()
    return scope.address if scope else ""


@contextlib.contextmanager
def audit_request(address: str | None):
    """Serve one request: its client address, and refusals that survive its rollback.

    A refused call raises, and the API runs each call in one transaction, so the row saying it
    was refused would be rolled back with everything else. Rows written during the request
    whose outcome is not Succeeded are written again once the request is done if they are gone.
    A success that was rolled back did not happen, so it is not restored.
    """
    scope = _RequestScope(address=(address or "")[: _LIMITS["client_address"]])
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        _restore_rolled_back(scope.recorded)


def _restore_rolled_back(recorded: list[AuditEvent]) -> None:
    kept = [e for e in recorded if e.outcome != AuditEvent.Outcome.SUCCEEDED]
    if not kept:
        return
    try:
        present = set(
            AuditEvent.objects.filter(pk__in=[e.pk for e in kept]).values_list(
                "pk", "operation", "created_at"
            )
        )
        for event in kept:
            if (event.pk, event.operation, event.created_at) not in present:
                written_at, event.pk = event.created_at, None
                event.save(force_insert=True)
                # auto_now_add stamps the new row; the event happened when first written.
                AuditEvent.objects.filter(pk=event.pk).update(created_at=written_at)
    except DatabaseError:
        logger.exception("Could not restore audit events of a rolled-back request")


def _cut(name: str, value) -> str:
    return str(value or "")[: _LIMITS[name]]


def audit_record(
    *,
    account: Account,
    actor_account_id: str,
    actor_user: str,
    operation: str,
    resource_arn: str = "",
    revision: str = "",
    outcome: str,
    detail: str = "",
    also_account: Account | None = None,
) -> None:
    """Write one event in `account`'s log, and the same in `also_account`'s when it is another."""
    if outcome not in AuditEvent.Outcome.values:
        raise ValueError(f"Unknown audit outcome {outcome!r}")
    values = {
        "actor_account_id": _cut("actor_account_id", actor_account_id),
        "actor_user": _cut("actor_user", actor_user),
        "operation": _cut("operation", operation),
        "resource_arn": _cut("resource_arn", resource_arn),
        "revision": _cut("revision", revision),
        "outcome": outcome,
        "detail": _cut("detail", detail),
        "client_address": client_address(),
    }
    accounts = [account]
    if also_account is not None and also_account.pk != account.pk:
        accounts.append(also_account)
    scope = _scope.get()
    for each in accounts:
        event = AuditEvent.objects.create(account=each, **values)
        if scope is not None:
            scope.recorded.append(event)


def audit_events(account: Account | None):
    """The account's log, newest first (nothing for a user outside any account)."""
    if account is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(account=account)
