"""gunicorn's thread worker, answering the requests gunicorn itself refuses in AWS's JSON shape.

gunicorn parses every request before Django sees it, and refuses some (a header line over
limit_request_field_size, more than limit_request_fields headers, a duplicate Host, a malformed
request line) with an HTML page of its own; botocore cannot read that as an error. The status
stays gunicorn's; only the body and content type change. webapp/gunicorn_conf.py selects this worker.
"""

import json

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

CONTENT_TYPE = "application/x-amz-json-1.1"

_ANSWERS = {
    400: ("InvalidRequestException", "The request is not valid HTTP."),
    403: ("AccessDeniedException", "The request was refused."),
    414: ("InvalidRequestException", "The request line is too long."),
    417: ("InvalidRequestException", "The request's Expect header cannot be met."),
    431: ("InvalidRequestException", "The request's headers are too large or too many."),
    501: ("InvalidRequestException", "The request's transfer coding is not supported."),
}
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


class _Page:
    """Stands in for the client's socket while gunicorn writes its HTML page, to learn the status."""

    def __init__(self):
        self.data = b""

    def gettimeout(self):
        return 0.0

    def setblocking(self, flag):
        pass

    def sendall(self, data):
        self.data += data


def json_error(status: int) -> bytes:
    """The whole HTTP response for a request gunicorn refused with this status."""
    code, message = _ANSWERS.get(status, ("InternalServerException", "An internal error occurred."))
    body = json.dumps({"__type": code, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {CONTENT_TYPE}\r\n"
        f"x-amzn-ErrorType: {code}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class AwsErrorThreadWorker(ThreadWorker):
    """gthread (what `--threads` selects), with gunicorn's own refusals in AWS's JSON shape."""

    def handle_error(self, req, client, addr, exc):
        page = _Page()
        # gunicorn decides the status (and logs the refusal); its HTML page is dropped.
        super().handle_error(req, page, addr, exc)
        try:
            status = int(page.data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 500
        try:
            util.write_nonblock(client, json_error(status))
        except Exception:
            self.log.debug("Failed to send error message.")
