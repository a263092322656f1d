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
        kind, caller = counted_caller(request)
        ident = f"{kind}-{caller.pk}" if kind != "ip" else f"ip-{caller}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def counted_caller(request) -> tuple[str, object]:
    """Whom the rate limit counts: ``("token", the ApiToken)``, else ``("user", the account)``,
    else ``("ip", the address)`` (client_ip.py: the one rule behind a proxy, not DRF's own)."""
    if isinstance(request.auth, ApiToken):
        return "token", request.auth
    if request.user and request.user.is_authenticated:
        return "user", request.user
    return "ip", client_ip(request)
