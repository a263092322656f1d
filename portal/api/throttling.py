"""The read API's rate limit: per token, else per logged-in account, else per address."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from portal.access.client_ip import client_ip
from portal.access.models import ApiToken


class PerCallerRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str:
        """``settings.API_RATE`` (``SPIEGEL_API_RATE``), read at every request: DRF's own
        reads its rates once, at import."""
        return settings.API_RATE

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{client_ip(request)}"  # the one rule behind a proxy, not DRF's own
        return self.cache_format % {"scope": self.scope, "ident": ident}
