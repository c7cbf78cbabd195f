from webapp.accounts.services.accounts import user_account_ensure
from webapp.accounts.services.audit import audit_request
from webapp.accounts.throttle import client_address

ACCOUNT_MADE_SESSION_KEY = "account_made_for_you"


class CurrentAccountMiddleware:
    """Sets request.account to the signed-in user's account (None when signed out).

    A signed-in user who belongs to no account (a `createsuperuser` user, say) is given one of
    their own here, so no page meets a user without an account; the next page says so once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        request.account = None
        if user is not None and user.is_authenticated:
            request.account, made = user_account_ensure(user=user)
            if made:
                request.session[ACCOUNT_MADE_SESSION_KEY] = request.account.account_id
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
