"""The security headers of every response the portal sends (docs/security.md, ASVS V14.4).

Django's ``SecurityMiddleware`` already sends ``X-Content-Type-Options``, ``Referrer-Policy``,
``Cross-Origin-Opener-Policy`` and, behind TLS, ``Strict-Transport-Security``;
``XFrameOptionsMiddleware`` sends ``X-Frame-Options: DENY``. What Django 5.2 lacks is added
here, for every response including the static files (this middleware sits before WhiteNoise):

- ``Content-Security-Policy``: the portal's own templates hold no inline script or style, so
  their policy allows code from the portal alone (``STRICT``). Three kinds of page come from
  elsewhere and carry ``style`` attributes or ``<style>`` blocks they cannot do without: the
  Django admin, the API's browsable and documentation pages (DRF, Swagger UI, Redoc), and the
  practice's interactive HTML report (plotly sets styles as attributes; the report's fixed
  heights are attributes too). They get ``THIRD_PARTY``: scripts still only from the portal,
  styles also inline. Injected markup cannot run script on any page.
- ``Permissions-Policy``: no page needs the camera, the microphone, the location, payments or USB.
- ``Cross-Origin-Resource-Policy: same-origin``: another site cannot embed a report or a download.
- ``Cache-Control: private, no-store`` on what an account or a token reads, unless the view chose
  its own (the API's ``private, no-cache`` for its conditional requests, the report assets'
  hour): neither a shared cache nor the browser's history keeps a practice's figures.
- ``Clear-Site-Data`` on the answer to a logout: the browser drops what it cached for the portal.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

STRICT = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
THIRD_PARTY = (
    STRICT.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
        "img-src 'self' data:", "img-src 'self' data: blob:"
    )
    + "; worker-src 'self' blob:"
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
# third-party HTML under these paths: the admin, the API's browsable and docs pages
THIRD_PARTY_PREFIXES = ("/admin/", "/api/")
LOGGED_OUT = "_spiegel_logged_out"
POLICY_ATTRIBUTE = "_spiegel_csp"


def third_party_page(response: HttpResponse) -> HttpResponse:
    """Mark a response of the portal's own views that serves HTML made elsewhere (the
    practice's plotly report): it gets ``THIRD_PARTY`` instead of ``STRICT``."""
    setattr(response, POLICY_ATTRIBUTE, THIRD_PARTY)
    return response


def policy_for(request: HttpRequest, response: HttpResponse) -> str:
    chosen = getattr(response, POLICY_ATTRIBUTE, None)
    if chosen:
        return chosen
    is_html = response.get("Content-Type", "").startswith("text/html")
    if is_html and request.path.startswith(THIRD_PARTY_PREFIXES):
        return THIRD_PARTY
    return STRICT


def _reads_as_someone(request: HttpRequest) -> bool:
    """True when the answer may hold what one account (or token) may read."""
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", policy_for(request, response))
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if "Cache-Control" not in response and _reads_as_someone(request):
            response["Cache-Control"] = "private, no-store"
        if getattr(request, LOGGED_OUT, False):
            response["Clear-Site-Data"] = '"cache", "storage"'
        return response
