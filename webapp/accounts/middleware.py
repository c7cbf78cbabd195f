from webapp.accounts.services.accounts import account_of


class CurrentAccountMiddleware:
    """Sets request.account to the signed-in user's account (None when signed out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        request.account = account_of(user) if user is not None and user.is_authenticated else None
        return self.get_response(request)
