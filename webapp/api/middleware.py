"""Keep POST / in AWS's JSON error shape, whatever in front of the gateway refuses the request."""

from django.core.exceptions import DisallowedHost

from webapp.api import protocol
from webapp.core.errors import ServiceError

# What Django's own refusals (an HTML page) become on the API route.
_CODES = {
    400: ("InvalidRequestException", "The request is not valid."),
    403: ("AccessDeniedException", "The request was refused."),
    404: ("UnknownOperationException", "The request is not recognised."),
    405: ("InvalidRequestException", "The method is not allowed."),
    413: ("RequestEntityTooLargeException", "The request is too large."),
}


def is_api_request(request) -> bool:
    return request.method == "POST" and request.path_info == "/"


class ApiErrorShapeMiddleware:
    """Answer an API client in AWS's shape where Django would answer with an HTML page.

    Django turns DisallowedHost (a host outside ALLOWED_HOSTS, or a duplicate Host header, which
    the WSGI server joins into one invalid value) into its HTML 400 page inside whichever
    middleware first asks for the host; placed first, this one asks before them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_request(request):
            return self.get_response(request)
        try:
            request.get_host()
        except DisallowedHost:
            return protocol.error_response(
                ServiceError(
                    "InvalidRequestException",
                    "The Host header does not name a host this server answers to.",
                    400,
                )
            )
        response = self.get_response(request)
        status = response.status_code
        if status < 400 or response.get("Content-Type", "").startswith(protocol.CONTENT_TYPE):
            return response
        code, message = _CODES.get(
            status,
            ("InternalServerException", "An internal error occurred.")
            if status >= 500
            else ("InvalidRequestException", "The request is not valid."),
        )
        return protocol.error_response(ServiceError(code, message, status))
