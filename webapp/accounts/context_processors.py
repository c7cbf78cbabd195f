from django.conf import settings


def current_account(request):
    # The region goes into the CLI commands pages show, so they run as printed.
    return {
        "current_account": getattr(request, "account", None),
        "aws_region": settings.AWS_REGION,
    }
