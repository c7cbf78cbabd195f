"""Builds and parses every ARN Textwheel hands out, and resolves them to rows within an account."""

import re
from dataclasses import dataclass

from django.conf import settings

from webapp.core.errors import not_found, validation_error

PARTITION = "aws"
SERVICE = "comprehend"

# Resource types as they appear in ARNs, mapped to how they read in messages. Each app registers
# its own (register_type), so this module knows the grammar and nothing of what the types are.
RESOURCE_TYPES: dict[str, str] = {}
# The sub-resources a type has ("version" for models, "dataset" for flywheels).
_CHILDREN: dict[str, tuple[str, ...]] = {}


def register_type(resource_type: str, noun: str, *, children: tuple[str, ...] = ()) -> None:
    """Make `resource_type` an ARN type, read as `noun` in messages, with these sub-resources."""
    RESOURCE_TYPES[resource_type] = noun
    _CHILDREN[resource_type] = children


_NAME = r"[a-zA-Z0-9](?:-*[a-zA-Z0-9])*"
_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):comprehend:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<type>[a-z-]+)/(?P<name>" + _NAME + r")"
    r"(?:/(?P<subtype>version|dataset)/(?P<sub>" + _NAME + r"))?$"
)
_ROLE_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]{1,512})$"
)
_PRINCIPAL_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{12}):(?:root|user/(?P<user>[\w+=,.@-]{1,64}))$"
)


@dataclass(frozen=True)
class Arn:
    account: str
    region: str
    resource_type: str
    name: str
    version: str | None = None
    dataset: str | None = None
    partition: str = PARTITION

    def names_account(self, account_id: str) -> bool:
        """True when this ARN can name a resource of `account_id` on this installation.

        Textwheel serves one region of one partition: an ARN spelled with another region or
        partition names nothing here, exactly as another account's ARN does.
        """
        return (
            self.account == account_id
            and self.region == settings.AWS_REGION
            and self.partition == PARTITION
        )

    def __str__(self) -> str:
        return build(
            self.resource_type,
            self.account,
            self.name,
            version=self.version,
            dataset=self.dataset,
            region=self.region,
        )


def build(
    resource_type: str,
    account: str,
    name: str,
    *,
    version: str | None = None,
    dataset: str | None = None,
    region: str | None = None,
) -> str:
    region = region or settings.AWS_REGION
    arn = f"arn:{PARTITION}:{SERVICE}:{region}:{account}:{resource_type}/{name}"
    if version:
        arn += f"/version/{version}"
    if dataset:
        arn += f"/dataset/{dataset}"
    return arn


def parse(value, *, field: str, expected: str | tuple[str, ...] | None = None) -> Arn:
    """Parse a Comprehend ARN, raising ValidationException naming `field` when it is malformed."""
    if not isinstance(value, str) or len(value) > 256:
        raise validation_error(
            f"Value at '{field}' failed to satisfy constraint: must be a valid ARN.", field=field
        )
    match = _ARN_RE.match(value)
    if not match or match["type"] not in RESOURCE_TYPES:
        raise validation_error(
            f"Value '{value}' at '{field}' failed to satisfy constraint: must be a valid "
            f"Comprehend ARN (arn:aws:comprehend:<region>:<account>:<resource-type>/<name>).",
            field=field,
        )
    expected_types = (expected,) if isinstance(expected, str) else expected
    if expected_types and match["type"] not in expected_types:
        kinds = " or ".join(expected_types)
        raise validation_error(f"Value '{value}' at '{field}' is not a {kinds} ARN.", field=field)
    subtype = match["subtype"]
    if subtype and subtype not in _CHILDREN[match["type"]]:
        owners = {"version": "models have versions", "dataset": "flywheels have datasets"}
        raise validation_error(
            f"Value '{value}' at '{field}': only {owners[subtype]}.", field=field
        )
    return Arn(
        account=match["account"],
        region=match["region"],
        resource_type=match["type"],
        name=match["name"],
        version=match["sub"] if subtype == "version" else None,
        dataset=match["sub"] if subtype == "dataset" else None,
        partition=match["partition"],
    )


def parse_role(value, *, field: str = "DataAccessRoleArn") -> str:
    """Check an IAM role ARN (recorded and shown; Textwheel has no IAM to assume it in)."""
    if not isinstance(value, str) or len(value) > 2048 or not _ROLE_RE.match(value):
        raise validation_error(
            f"Value at '{field}' failed to satisfy constraint: must match "
            "arn:aws:iam::<12-digit account>:role/<name>.",
            field=field,
        )
    return value


def default_role(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/TextwheelDataAccessRole"


def principal_user(account_id: str, username: str) -> str:
    return f"arn:aws:iam::{account_id}:user/{username}"


def principal_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def parse_principal(value: str, *, field: str = "Principal") -> tuple[str, str | None]:
    """Return (account id, user name or None for root) of an IAM principal ARN."""
    match = _PRINCIPAL_RE.match(value or "")
    if not match:
        raise validation_error(
            f"Value '{value}' at '{field}' is not an IAM user or root ARN.", field=field
        )
    return match["account"], match["user"]


def resolve(account, value, *, field: str, expected: str | tuple[str, ...], queryset_for):
    """Turn an ARN into a row of `account`, or ResourceNotFoundException.

    Another account's resource answers exactly like a missing one so existence never leaks.
    `queryset_for(arn)` returns the account-scoped queryset that holds the row.
    """
    arn = parse(value, field=field, expected=expected)
    row = None
    if arn.names_account(account.account_id):
        row = queryset_for(arn).first()
    if row is None:
        noun = RESOURCE_TYPES[arn.resource_type]
        raise not_found(f"The {noun} {value} was not found.", field=field)
    return row
