"""Bearer tokens for the read API (portal.md): ``Authorization: Bearer <token>``."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal.access import audit, tokens
from portal.access.models import AuditEvent


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """A personal token of portal.access.tokens. A request with a Bearer header whose token
    is unknown, expired or revoked gets 401 (audited); without the header, the next
    authentication (the portal's session) or none applies."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = tokens.find_token(secret.strip())
        if token is None:
            audit.record(AuditEvent.TOKEN_REFUSED, request=request._request, subject=request.path[:254])
            raise exceptions.AuthenticationFailed(
                "Ongeldige, verlopen of ingetrokken API-sleutel (invalid, expired or revoked token)."
            )
        tokens.mark_used(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the schema names the token: HTTP bearer (drf-spectacular extension)."""

    target_class = "portal.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token from /accounts/tokens/ or `spiegel portal create-token`.",
        }
