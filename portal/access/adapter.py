"""allauth's account adapter: where an account lands after logging in."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from .permissions import is_insurer_user


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request) -> str:
        """Insurer staff to their own page (/verzekeraar/); everyone else to their practices.
        A ``next`` in the login form still wins (allauth reads it before asking here)."""
        if is_insurer_user(request.user):
            return "/verzekeraar/"
        return super().get_login_redirect_url(request)
