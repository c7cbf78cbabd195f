"""Sign-in throttling on top of django-axes: who is counted, how far, and what a locked-out person sees.

Failures are counted per user name at one address (LOGIN_FAILURE_LIMIT) and per address for all
user names together (LOGIN_ADDRESS_FAILURE_LIMIT); either reaching its limit refuses sign-in from
there, even with the right password, until LOGIN_COOLOFF_MINUTES have passed since the last failure.
"""

import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils import timezone


def client_address(request) -> str | None:
    """The address failures are counted against: the peer, or the client a trusted proxy names.

    With TRUSTED_PROXY_COUNT = n, each of the n proxies in front appends the address it saw to
    X-Forwarded-For, so the n-th entry from the right is the one no client can forge; anything
    further left is whatever the client sent.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a sign-in from a locked-out user name or address before any password is checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # Code that authenticates outside an HTTP request (the test client's login(), a shell)
        # has no address to count against; every sign-in form passes its request.
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per user name at one address and one per address."""

    def get_failures(self, request, credentials=None) -> int:
        pair, address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        # Axes compares one count with one limit (LOGIN_FAILURE_LIMIT): the address's count is
        # scaled so that reaching LOGIN_ADDRESS_FAILURE_LIMIT reads as reaching that limit.
        limit, address_limit = settings.AXES_FAILURE_LIMIT, settings.LOGIN_ADDRESS_FAILURE_LIMIT
        return max(pair, address * limit // address_limit)

    def reset_user_attempts(self, request, credentials=None) -> int:
        # A successful sign-in forgives that user's own typos at this address only: clearing the
        # whole address (axes' default) would let anyone with one account reset the per-address
        # count between guesses at other people's passwords.
        username = get_client_username(request, credentials)
        attempts = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        )
        return attempts.delete()[0]


def locked_out(request, original_response=None, credentials=None):
    """The console page for a refused sign-in: what happened and when to try again."""
    username = get_client_username(request, credentials)
    cool_off = get_cool_off(request)
    recent = AccessAttempt.objects.filter(
        ip_address=request.axes_ip_address, attempt_time__gte=timezone.now() - cool_off
    )
    # The lock lifts a cool-off after the last failure it counted: that user name's own when
    # it is the one locked, else the address's.
    pair = recent.filter(username=username)
    if (pair.aggregate(n=Sum("failures_since_start"))["n"] or 0) >= settings.AXES_FAILURE_LIMIT:
        recent = pair
    last = recent.aggregate(last=Max("attempt_time"))["last"]
    retry_at = (last or timezone.now()) + cool_off
    seconds = max(0, (retry_at - timezone.now()).total_seconds())
    response = render(
        request,
        "accounts/locked_out.html",
        {
            "retry_at": retry_at,
            "minutes": max(1, math.ceil(seconds / 60)),
            "limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
    response["Retry-After"] = str(math.ceil(seconds))
    return response
