"""AWS JSON 1.1 on the wire: epoch-second timestamps, absent optionals omitted, error shapes."""

import base64
import json
from datetime import UTC, datetime

from django.core import signing
from django.http import HttpResponse

from webapp.core.errors import ServiceError, validation_error

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Comprehend_20171127."


def _prune(value):
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_prune(v) for v in value]
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    return value


def response(payload: dict, status: int = 200, request_id: str = "") -> HttpResponse:
    body = json.dumps(_prune(payload or {}), separators=(",", ":"))
    resp = HttpResponse(body, status=status, content_type=CONTENT_TYPE)
    if request_id:
        resp["x-amzn-RequestId"] = request_id
    return resp


def error_response(error: ServiceError, request_id: str = "") -> HttpResponse:
    resp = response({"__type": error.code, "message": error.message}, error.http_status, request_id)
    # botocore reads the code from this header first for some protocols; send both.
    resp["x-amzn-ErrorType"] = error.code
    return resp


_TOKEN_SALT = "textwheel.api.next-token"


def encode_next_token(offset: int, scope: str) -> str:
    """An opaque, signed NextToken bound to the listing it came from."""
    signed = signing.dumps({"o": offset, "s": scope}, salt=_TOKEN_SALT, compress=True)
    return base64.urlsafe_b64encode(signed.encode()).decode()


def decode_next_token(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        data = signing.loads(base64.urlsafe_b64decode(token.encode()).decode(), salt=_TOKEN_SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise validation_error("The NextToken is not valid.") from None
    if data.get("s") != scope:
        raise validation_error("The NextToken does not belong to this request.")
    return int(data["o"])


def filter_time(value):
    """A List… filter's time: epoch seconds (what botocore sends) or ISO 8601."""
    if value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise validation_error(
            f"The filter's time '{value}' is not a timestamp (epoch seconds or ISO 8601)."
        ) from None


def listing(items, body: dict, *, key: str, render, scope: str) -> dict:
    """One page of a List… operation: the rendered rows under key, and the NextToken."""
    rows, token = page(
        items, next_token=body.get("NextToken"), max_results=body.get("MaxResults"), scope=scope
    )
    return {key: [render(row) for row in rows], "NextToken": token}


def page(
    items, *, next_token: str | None, max_results: int | None, scope: str, default_max: int = 100
):
    """Slice a list the way Comprehend pages: returns (items, NextToken or None)."""
    offset = decode_next_token(next_token, scope)
    size = max_results or default_max
    chunk = list(items[offset : offset + size + 1])  # one extra row tells whether more follow
    more = len(chunk) > size
    return chunk[:size], (encode_next_token(offset + size, scope) if more else None)
