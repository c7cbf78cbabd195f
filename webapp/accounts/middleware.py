from webapp.accounts.services.accounts import account_of
from webapp.accounts.services.audit import audit_request
from webapp.accounts.throttle import client_address


class CurrentAccountMiddleware:
    """Sets request.account to the signed-in user's account (None when signed out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        request.account = account_of(user) if user is not None and user.is_authenticated else None
        return self.get_response(request)


class ClientAddressMiddleware:
    """Makes the client's address known to the audit log for the whole request (console and API).

    The address is the one sign-in throttling counts: the peer, or the client that the
    TRUSTED_PROXY_COUNT proxies in front name in X-Forwarded-For.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_request(client_address(request)):
            return self.get_response(request)
