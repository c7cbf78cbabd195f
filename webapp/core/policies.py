"""Resource-based policies on model versions: the grammar Comprehend accepts and who they let in.

A policy shares one model version with other accounts for one action, `comprehend:ImportModel`.
`parse` reads the text once (refusing whatever it would not honour, so nothing written is silently
ignored) and `Policy.allows` is the only place that decides whether a caller may import.
"""

import functools
import json
import re
from dataclasses import dataclass

from webapp.core.arns import PARTITION
from webapp.core.errors import invalid_request, validation_error

MAX_LENGTH = 20_000
IMPORT_ACTION = "comprehend:ImportModel"
VERSION = "2012-10-17"

# Comprehend's pattern for ResourcePolicy, [\u0009\u000A\u000D\u0020-\u00FF]+, read against the
# whole value: a search would let one allowed character carry any other through.
_TEXT_PATTERN = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
_BAD_CHARACTER = re.compile(r"[^\t\n\r\u0020-\u00ff]")

_ACCOUNT_RE = re.compile(r"\d{12}", re.ASCII)
_IAM_ARN_RE = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):"
    r"(?:(?P<root>root)|user/(?P<user>[\w+=,.@-]{1,64})|role/(?P<role>[\w+=,.@/-]{1,512}))",
    re.ASCII,
)
_SERVICE_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")

OPERATORS = ("StringEquals", "StringLike", "ArnEquals", "ArnLike")
# Condition key names are case-insensitive in IAM; these are their canonical spellings.
CONDITION_KEYS = {
    "aws:principalaccount": "aws:PrincipalAccount",
    "aws:principalarn": "aws:PrincipalArn",
}

_TOP_MEMBERS = ("Version", "Id", "Statement")
_STATEMENT_MEMBERS = ("Sid", "Effect", "Principal", "Action", "Resource", "Condition")
_UNSUPPORTED = {
    "NotPrincipal": "name the principals in Principal instead",
    "NotAction": "name comprehend:ImportModel in Action instead",
    "NotResource": "name the model version in Resource instead",
}


class _Object(dict):
    """A JSON object that remembers the member names it saw more than once."""

    repeated: tuple[str, ...] = ()


def _object(pairs) -> _Object:
    obj, repeated = _Object(), []
    for key, value in pairs:
        if key in obj and key not in repeated:
            repeated.append(key)
        obj[key] = value
    obj.repeated = tuple(repeated)
    return obj


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON value")


@dataclass(frozen=True)
class Condition:
    operator: str  # one of OPERATORS
    key: str  # a canonical spelling from CONDITION_KEYS
    values: tuple[str, ...]

    def holds(self, context: dict[str, str]) -> bool:
        actual = context[self.key]
        if self.operator == "StringEquals":
            return actual in self.values
        if self.operator == "StringLike":
            return any(_glob(value).fullmatch(actual) for value in self.values)
        return any(_arn_like(value, actual) for value in self.values)


@dataclass(frozen=True)
class Statement:
    sid: str | None
    effect: str  # "Allow" or "Deny"
    principals: tuple[str, ...]  # "*", 12-digit account ids and IAM ARNs; Service entries dropped
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()

    def matches(self, *, account_id: str, principal_arn: str, action: str, resource: str) -> bool:
        context = {"aws:PrincipalAccount": account_id, "aws:PrincipalArn": principal_arn}
        return (
            any(_principal_matches(p, account_id, principal_arn) for p in self.principals)
            and any(_glob(pattern, ignore_case=True).fullmatch(action) for pattern in self.actions)
            and any(r == "*" or _glob(r).fullmatch(resource) for r in self.resources)
            and all(condition.holds(context) for condition in self.conditions)
        )


@dataclass(frozen=True)
class Policy:
    resource_arn: str
    statements: tuple[Statement, ...]

    def allows(self, *, account_id: str, principal_arn: str, action: str = IMPORT_ACTION) -> bool:
        """Whether the caller (an IAM user ARN of account `account_id`) may do `action` on the
        version: a matching Deny wins, then a matching Allow lets in, and nothing else does."""
        request = {
            "account_id": account_id,
            "principal_arn": principal_arn,
            "action": action,
            "resource": self.resource_arn,
        }
        matching = [s.effect for s in self.statements if s.matches(**request)]
        return "Deny" not in matching and "Allow" in matching


def check_text(text: str, *, field: str = "ResourcePolicy") -> None:
    """Comprehend's limits on a policy's text: 1 to 20,000 characters of tab, LF, CR and
    U+0020–U+00FF, checked over the whole string."""
    member = field[:1].lower() + field[1:]
    prefix = "1 validation error detected: "
    if text is None:
        raise validation_error(
            f"{prefix}Value null at '{member}' failed to satisfy constraint: Member must not be null",
            field=field,
        )
    if not isinstance(text, str):
        raise validation_error(
            f"{prefix}Value at '{member}' failed to satisfy constraint: Member must be a string",
            field=field,
        )
    if not text:
        raise validation_error(
            f"{prefix}Value at '{member}' failed to satisfy constraint: Member must have length "
            "greater than or equal to 1",
            field=field,
        )
    if len(text) > MAX_LENGTH:
        raise validation_error(
            f"{prefix}Value at '{member}' failed to satisfy constraint: Member must have length "
            f"less than or equal to {MAX_LENGTH}",
            field=field,
        )
    bad = _BAD_CHARACTER.search(text)
    if bad:
        raise validation_error(
            f"{prefix}Value at '{member}' failed to satisfy constraint: Member must satisfy "
            f"regular expression pattern: {_TEXT_PATTERN} (character U+{ord(bad.group()):04X} at "
            f"position {bad.start() + 1} is outside it)",
            field=field,
        )


def parse(text: str, *, resource_arn: str, field: str = "ResourcePolicy") -> Policy:
    """Read a policy attached to the version `resource_arn`, or InvalidRequestException naming the
    statement (its Sid or 1-based position) and the member at fault."""
    check_text(text, field=field)
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise invalid_request(
            f"The policy is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            field=field,
        ) from None
    except (ValueError, RecursionError):
        raise invalid_request("The policy is not valid JSON.", field=field) from None
    return _Reader(field, resource_arn).policy(document)


def standard_policy(*, principals: list[str], resource_arn: str, sid: str = "") -> str:
    """The statement the console's builder writes: Allow comprehend:ImportModel on the version to
    the given account ids (as their root) and IAM user or root ARNs, as indented JSON."""
    field = "ResourcePolicy"
    entries: list[str] = []
    for raw in principals:
        entry = raw.strip() if isinstance(raw, str) else ""
        if not entry:
            continue
        if _ACCOUNT_RE.fullmatch(entry):
            entry = f"arn:{PARTITION}:iam::{entry}:root"
        match = _IAM_ARN_RE.fullmatch(entry)
        if not match or match["role"] or match["partition"] != PARTITION:
            raise invalid_request(
                f'"{_shown(entry)}" is neither a 12-digit account id nor an IAM user or root ARN '
                "(arn:aws:iam::<account>:root or arn:aws:iam::<account>:user/<name>).",
                field=field,
            )
        if entry not in entries:
            entries.append(entry)
    if not entries:
        raise invalid_request(
            "Name at least one account id or IAM user ARN to share the model version with.",
            field=field,
        )
    statement = {"Sid": sid} if sid else {}
    statement.update(
        Effect="Allow",
        Principal={"AWS": entries},
        Action=IMPORT_ACTION,
        Resource=resource_arn,
    )
    text = json.dumps({"Version": VERSION, "Statement": [statement]}, indent=2)
    parse(text, resource_arn=resource_arn, field=field)
    return text


class _Reader:
    """One pass over a decoded policy document, refusing the first thing it cannot honour."""

    def __init__(self, field: str, resource_arn: str):
        self.field = field
        self.resource_arn = resource_arn

    def fail(self, where: str, detail: str):
        message = f"{where}: {detail}" if where else detail[:1].upper() + detail[1:]
        return invalid_request(message, field=self.field)

    def once(self, obj: _Object, where: str, what: str = "member") -> None:
        if obj.repeated:
            raise self.fail(
                where, f'the {what} "{_shown(obj.repeated[0])}" appears more than once.'
            )

    def members(self, obj: _Object, where: str, known: tuple[str, ...]) -> None:
        self.once(obj, where)
        for name in obj:
            if name in _UNSUPPORTED:
                raise self.fail(where, f"{name} is not supported; {_UNSUPPORTED[name]}.")
            if name not in known:
                raise self.fail(
                    where, f'unknown member "{_shown(name)}" (known: {", ".join(known)}).'
                )

    def policy(self, document) -> Policy:
        if not isinstance(document, _Object):
            raise self.fail("", f"The policy must be a JSON object, not {_kind(document)}.")
        self.members(document, "", _TOP_MEMBERS)
        if document.get("Version") != VERSION:
            raise self.fail("", f'The policy\'s Version must be "{VERSION}".')
        if "Id" in document and not isinstance(document["Id"], str):
            raise self.fail("", "The policy's Id must be a string.")
        if "Statement" not in document:
            raise self.fail("", "The policy has no Statement.")
        raw = document["Statement"]
        items = [raw] if isinstance(raw, _Object) else raw
        if not isinstance(items, list) or not items:
            raise self.fail(
                "", "The policy's Statement must be an object or a non-empty list of objects."
            )
        statements, sids = [], set()
        for position, item in enumerate(items, start=1):
            statement = self.statement(item, position)
            if statement.sid:
                if statement.sid in sids:
                    raise self.fail(
                        f'Statement "{_shown(statement.sid)}"',
                        "Sid must be unique within the policy.",
                    )
                sids.add(statement.sid)
            statements.append(statement)
        return Policy(resource_arn=self.resource_arn, statements=tuple(statements))

    def statement(self, item, position: int) -> Statement:
        where = f"Statement {position}"
        if not isinstance(item, _Object):
            raise self.fail(where, f"a statement must be a JSON object, not {_kind(item)}.")
        sid = item.get("Sid")
        if sid is not None:
            if not isinstance(sid, str) or not all(_printable(c) for c in sid):
                raise self.fail(where, "Sid must be a string of printable characters.")
            if sid:
                where = f'Statement "{_shown(sid)}"'
        self.members(item, where, _STATEMENT_MEMBERS)
        for required in ("Effect", "Principal", "Action", "Resource"):
            if required not in item:
                raise self.fail(where, f"{required} is required.")
        effect = item["Effect"]
        if effect not in ("Allow", "Deny"):
            raise self.fail(where, 'Effect must be "Allow" or "Deny".')
        return Statement(
            sid=sid or None,
            effect=effect,
            principals=self.principals(item["Principal"], where),
            actions=self.actions(item["Action"], where),
            resources=self.resources(item["Resource"], where),
            conditions=self.conditions(item["Condition"], where) if "Condition" in item else (),
        )

    def strings(self, value, where: str, member: str) -> list[str]:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v for v in items):
            raise self.fail(where, f"{member} must be a non-empty string or list of strings.")
        return items

    def principals(self, value, where: str) -> tuple[str, ...]:
        if value == "*":
            return ("*",)
        if not isinstance(value, _Object) or not value:
            raise self.fail(
                where, 'Principal must be "*" or an object with AWS and/or Service entries.'
            )
        self.once(value, f"{where}, Principal")
        found: list[str] = []
        for key, entries in value.items():
            if key == "AWS":
                for entry in self.strings(entries, where, "Principal AWS"):
                    found.append(self.aws_principal(entry, where))
            elif key == "Service":
                for entry in self.strings(entries, where, "Principal Service"):
                    if not _SERVICE_RE.fullmatch(entry):
                        raise self.fail(
                            where, f'Principal Service "{_shown(entry)}" is not a service name.'
                        )
            else:
                raise self.fail(
                    where,
                    f'Principal "{_shown(key)}" is not supported; use AWS (accounts, users, '
                    "roles) or Service.",
                )
        return tuple(found)

    def aws_principal(self, entry: str, where: str) -> str:
        if entry == "*" or _ACCOUNT_RE.fullmatch(entry) or _IAM_ARN_RE.fullmatch(entry):
            return entry
        raise self.fail(
            where,
            f'Principal AWS "{_shown(entry)}" is not "*", a 12-digit account id or an IAM '
            "ARN (arn:aws:iam::<account>:root, :user/<name> or :role/<name>).",
        )

    def actions(self, value, where: str) -> tuple[str, ...]:
        actions = self.strings(value, where, "Action")
        for action in actions:
            if not _glob(action, ignore_case=True).fullmatch(IMPORT_ACTION):
                raise self.fail(
                    where,
                    f'Action "{_shown(action)}" is not supported: {IMPORT_ACTION} is the only '
                    "action a model policy can name.",
                )
        return tuple(actions)

    def resources(self, value, where: str) -> tuple[str, ...]:
        resources = self.strings(value, where, "Resource")
        for resource in resources:
            if resource != "*" and not _glob(resource).fullmatch(self.resource_arn):
                raise self.fail(
                    where,
                    f'Resource "{_shown(resource)}" does not match this model version '
                    f'({self.resource_arn}); use "*" or its ARN.',
                )
        return tuple(resources)

    def conditions(self, value, where: str) -> tuple[Condition, ...]:
        if not isinstance(value, _Object) or not value:
            raise self.fail(where, "Condition must be a non-empty object of condition operators.")
        self.once(value, f"{where}, Condition", "operator")
        found: list[Condition] = []
        for operator, block in value.items():
            if operator not in OPERATORS:
                raise self.fail(
                    f"{where}, Condition",
                    f'the operator "{_shown(operator)}" is not supported; use '
                    f"{', '.join(OPERATORS[:-1])} or {OPERATORS[-1]}.",
                )
            here = f"{where}, Condition {operator}"
            if not isinstance(block, _Object) or not block:
                raise self.fail(here, "must be a non-empty object of condition keys.")
            self.once(block, here, "key")
            seen: set[str] = set()
            for name, values in block.items():
                key = CONDITION_KEYS.get(name.lower())
                if key is None:
                    raise self.fail(
                        here,
                        f'the key "{_shown(name)}" is not supported; use aws:PrincipalAccount or '
                        "aws:PrincipalArn.",
                    )
                if key in seen:
                    raise self.fail(here, f"the key {key} appears more than once.")
                seen.add(key)
                if operator.startswith("Arn") and key == "aws:PrincipalAccount":
                    raise self.fail(
                        here,
                        "aws:PrincipalAccount is an account id, not an ARN; use StringEquals "
                        "or StringLike.",
                    )
                strings = self.strings(values, here, key)
                found.append(Condition(operator=operator, key=key, values=tuple(strings)))
        return tuple(found)


def _principal_matches(entry: str, account_id: str, principal_arn: str) -> bool:
    if entry == "*":
        return True
    if _ACCOUNT_RE.fullmatch(entry):
        return entry == account_id
    match = _IAM_ARN_RE.fullmatch(entry)
    if not match or match["partition"] != PARTITION:
        return False
    if match["root"]:
        return match["account"] == account_id
    if match["user"]:
        return match["account"] == account_id and entry == principal_arn
    return False  # roles: Textwheel callers are users, never a role


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """IAM's wildcards: `*` any run of characters, `?` any one character."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _arn_like(pattern: str, arn: str) -> bool:
    # IAM compares the six colon-separated parts of an ARN one by one, each with wildcards.
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(actual) and all(
        _glob(w).fullmatch(a) for w, a in zip(wanted, actual, strict=True)
    )


def _printable(c: str) -> bool:
    return c.isprintable() and ord(c) <= 0xFF


def _shown(value: str, limit: int = 80) -> str:
    text = "".join(c if _printable(c) else "?" for c in value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
