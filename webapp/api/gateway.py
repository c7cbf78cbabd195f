"""POST / : the Comprehend-compatible API (AWS JSON 1.1, SigV4), one table of operations."""

import json
import logging
import uuid
from contextlib import nullcontext

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.views.decorators.csrf import csrf_exempt

from webapp.accounts.services.access_keys import access_key_touch
from webapp.api import protocol, shapes, sigv4
from webapp.api.operations import OPERATIONS, READ_ONLY
from webapp.core.errors import ServiceError

log = logging.getLogger(__name__)


@csrf_exempt
def api(request):
    """Authenticate, dispatch on X-Amz-Target, render the result or the AWS error shape."""
    request_id = str(uuid.uuid4())
    try:
        body = _read_body(request, settings.API_MAX_BODY_BYTES)
        key = sigv4.verify(request, body)
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith(protocol.TARGET_PREFIX):
            raise ServiceError(
                "UnknownOperationException", f"The operation '{target}' is not recognised.", 400
            )
        operation = target[len(protocol.TARGET_PREFIX) :]
        handler = OPERATIONS.get(operation)
        if handler is None:
            known = operation in shapes.operation_names()
            raise ServiceError(
                "UnknownOperationException",
                f"Textwheel does not implement the operation '{operation}'."
                if known
                else f"The operation '{operation}' is not recognised.",
                400,
            )
        try:
            payload = json.loads(body or b"{}", parse_constant=_refuse_constant)
        except ValueError:
            raise ServiceError(
                "SerializationException", "The request body is not valid JSON.", 400
            ) from None
        except RecursionError:
            raise ServiceError(
                "SerializationException", "The request body is nested too deeply.", 400
            ) from None
        if not isinstance(payload, dict):
            raise ServiceError(
                "SerializationException", "The request body must be a JSON object.", 400
            )
        if _depth(payload) > MAX_DEPTH:
            raise ServiceError(
                "SerializationException", "The request body is nested too deeply.", 400
            )
        shapes.validate_input(operation, payload)
        access_key_touch(key)
        # Analysis calls only read: each query commits alone, with no BEGIN/COMMIT round trips.
        with nullcontext() if operation in READ_ONLY else transaction.atomic():
            result = handler(key.account, key.user, payload)
        return protocol.response(result or {}, request_id=request_id)
    except ServiceError as exc:
        return protocol.error_response(exc, request_id)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable (restarting, failing over): nothing was written, and a 503
        # tells every AWS SDK to retry.
        log.warning("API request %s: database unavailable: %s", request_id, exc)
        return protocol.error_response(
            ServiceError(
                "ServiceUnavailableException",
                "The service is unavailable for a moment; retry the request.",
                503,
            ),
            request_id,
        )
    except Exception:
        log.exception("API request %s failed", request_id)
        return protocol.error_response(
            ServiceError(
                "InternalServerException",
                f"An internal error occurred (request id {request_id}).",
                500,
            ),
            request_id,
        )


# Past the limit the rest of the body is read and dropped, so that the client, which sends all of
# it before reading the answer, sees the 413 instead of a reset connection; beyond this much it is
# left to the server to close the connection.
_DRAIN_BYTES = 256 * 1024 * 1024


def _read_body(request, limit: int) -> bytes:
    """The request body, or RequestEntityTooLargeException (413) when it exceeds the API's limit.

    The API has a limit of its own (API_MAX_BODY_BYTES): request.body would apply the console's
    DATA_UPLOAD_MAX_MEMORY_SIZE and raise RequestDataTooBig.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    body = b"" if declared > limit else request.read(limit + 1)
    if declared > limit or len(body) > limit:
        drained = len(body)
        while drained < _DRAIN_BYTES:
            chunk = request.read(64 * 1024)
            if not chunk:
                break
            drained += len(chunk)
        raise ServiceError(
            "RequestEntityTooLargeException",
            f"The request body exceeds the limit of {limit} bytes.",
            413,
        )
    return body


# Comprehend's deepest input is a few levels; a body nested deeper than this is refused before
# anything (a JSON column, an error message) walks it recursively.
MAX_DEPTH = 32


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend(
                    (item, level + 1)
                    for item in (value.values() if isinstance(value, dict) else value)
                )
    return deepest


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValueError(name)
