"""Rate limits for actions worth flooding, one mechanism for API views and web pages.

Built on DRF's ``SimpleRateThrottle`` (the cache holds the history: set ``CACHE_URL`` to a
shared Redis when several processes serve the portal). The rates are read from
``settings.RATE_LIMITS`` at each request, so they can be changed without a restart of the
code that names them.
"""

import functools
import math

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import SimpleRateThrottle


class ScopedThrottle(SimpleRateThrottle):
    """Limits one scope of ``settings.RATE_LIMITS``, per account or, signed out, per address."""

    scope = ""

    def __init__(self):
        # SimpleRateThrottle reads its rate when built; ours is read per request instead.
        pass

    def get_rate(self):
        return settings.RATE_LIMITS.get(self.scope)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def parse_rate(self, rate):
        number, period = rate.split("/")
        return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0]]

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = (
            f"u{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        )
        return f"throttle:{self.scope}:{ident}"


@functools.cache
def throttle(scope: str) -> type[ScopedThrottle]:
    """The throttle class of ``scope``, for a DRF view's ``throttle_classes``."""
    if scope not in settings.RATE_LIMITS:
        raise LookupError(f"no rate limit named {scope!r} in settings.RATE_LIMITS")
    return type(f"{scope.title()}Throttle", (ScopedThrottle,), {"scope": scope})


class _KeyedThrottle(ScopedThrottle):
    key = ""

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:k:{self.key}"


def within_limit(scope: str, key: str) -> bool:
    """Count one more of ``scope`` for ``key`` (a mobile number, say), whoever asks; False
    once the limit is reached."""
    limiter = type("Keyed", (_KeyedThrottle,), {"scope": throttle(scope).scope, "key": key})()
    return limiter.allow_request(None, None)


def rate_limited(scope: str, methods=("POST",)):
    """Limit a web view's ``methods`` to ``settings.RATE_LIMITS[scope]``; past it, a page
    says when to try again (status 429)."""
    throttle_class = throttle(scope)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods:
                limiter = throttle_class()
                if not limiter.allow_request(request, None):
                    return too_many(request, limiter.wait())
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def too_many(request, wait_seconds):
    minutes = max(1, math.ceil((wait_seconds or 60) / 60))
    message = _("操作过于频繁，请约 %(m)d 分钟后再试。") % {"m": minutes}
    response = render(request, "too_many.html", {"message": message}, status=429)
    response["Retry-After"] = str(math.ceil(wait_seconds or 60))
    return response
