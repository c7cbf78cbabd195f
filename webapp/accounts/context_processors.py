from django.conf import settings

from webapp.accounts.middleware import ACCOUNT_MADE_SESSION_KEY


def current_account(request):
    # The region goes into the CLI commands pages show, so they run as printed.
    session = getattr(request, "session", None)
    return {
        "current_account": getattr(request, "account", None),
        # Called only by a page that shows it (base.html), so the notice is not lost to a
        # redirect or an admin page.
        "account_made_for_you": (
            (lambda: session.pop(ACCOUNT_MADE_SESSION_KEY, None)) if session is not None else None
        ),
        "aws_region": settings.AWS_REGION,
    }
