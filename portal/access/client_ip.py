"""The client's address, the one rule for login throttling (django-axes), the contact form's
limits and the API's anonymous throttle.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy: every visitor would share one address,
so five wrong passwords from anyone would lock everyone out. ``X-Forwarded-For`` is a
header any client can write, so it is read only as far as the deployment trusts it:
``SPIEGEL_PORTAL_TRUSTED_PROXIES`` (default 0) is how many proxies in front of the portal
append to it (deploy/nginx.conf.example is one). The client is the address the outermost
trusted proxy saw: the N-th entry from the right. Entries left of it are the client's own
words and are ignored; a value that is not an IP address falls back to ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the client that sent ``request`` (None when unknown)."""
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return _address(forwarded[-proxies]) or remote
