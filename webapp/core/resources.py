"""Which app owns which ARN resource type, so shared services (tags) can resolve any ARN."""

from collections.abc import Callable

from webapp.core import arns

# resource type -> the owning app's access gate: fn(account, value, *, field) returning the row
# or raising ResourceNotFoundException
_GATES: dict[str, Callable] = {}


def register(resource_type: str, gate: Callable) -> None:
    _GATES[resource_type] = gate


def resolve_any(account, value: str, *, field: str = "ResourceArn"):
    """Resolve any taggable ARN within `account` or raise ResourceNotFoundException."""
    parsed = arns.parse(value, field=field)
    gate = _GATES.get(parsed.resource_type)
    if gate is not None:
        return gate(account, value, field=field)
    # A resource type no installed app owns names nothing, like a missing resource.
    return arns.resolve(
        account, value, field=field, expected=parsed.resource_type, queryset_for=lambda arn: _NONE
    )


class _Nothing:
    def first(self):
        return None


_NONE = _Nothing()
