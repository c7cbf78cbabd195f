"""POST / : the Comprehend-compatible API (AWS JSON 1.1, SigV4), one table of operations."""

import json
import logging
import uuid
from contextlib import nullcontext

from django.db import transaction
from django.views.decorators.csrf import csrf_exempt

from webapp.accounts.services.access_keys import access_key_touch
from webapp.api import protocol, shapes, sigv4
from webapp.api.operations import OPERATIONS, READ_ONLY
from webapp.errors import ServiceError

log = logging.getLogger(__name__)


@csrf_exempt
def api(request):
    """Authenticate, dispatch on X-Amz-Target, render the result or the AWS error shape."""
    request_id = str(uuid.uuid4())
    try:
        body = request.body
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
            payload = json.loads(body or b"{}")
        except ValueError:
            raise ServiceError(
                "SerializationException", "The request body is not valid JSON.", 400
            ) from None
        if not isinstance(payload, dict):
            raise ServiceError(
                "SerializationException", "The request body must be a JSON object.", 400
            )
        shapes.validate_input(operation, payload)
        access_key_touch(key)
        # Analysis calls only read: each query commits alone, with no BEGIN/COMMIT round trips.
        with nullcontext() if operation in READ_ONLY else transaction.atomic():
            result = handler(key.account, key.user, payload)
        return protocol.response(result or {}, request_id=request_id)
    except ServiceError as exc:
        return protocol.error_response(exc, request_id)
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
