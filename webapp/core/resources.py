"""Which app owns which ARN resource type, so shared services (tags) can resolve any ARN."""

from collections.abc import Callable

from webapp.core import arns

# resource type -> function(account, Arn) returning the account-scoped row or None
_LOOKUPS: dict[str, Callable] = {}


def register(resource_type: str, lookup: Callable) -> None:
    _LOOKUPS[resource_type] = lookup


def resolve_any(account, value: str, *, field: str = "ResourceArn"):
    """Resolve any taggable ARN within `account` or raise ResourceNotFoundException."""
    parsed = arns.parse(value, field=field)
    lookup = _LOOKUPS.get(parsed.resource_type)
    return arns.resolve(
        account,
        value,
        field=field,
        expected=parsed.resource_type,
        queryset_for=lambda arn: _Single(lookup(account, arn) if lookup else None),
    )


class _Single:
    """Adapts a single-row lookup to arns.resolve's queryset interface."""

    def __init__(self, row):
        self.row = row

    def first(self):
        return self.row
