"""allauth's account adapter: where an account lands after logging in, the client's address, the
check of a right password against the present rules, and when an account change asks for the
password again."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context

from . import password_renewal
from .client_ip import client_ip
from .permissions import is_insurer_user


class AccountAdapter(DefaultAccountAdapter):
    def authenticate(self, request, **credentials):
        """allauth's check of the password; a right password that the rules refuse now (it became
        common, or a rule is newer than it) must be changed before the session goes on
        (password_renewal.py, ASVS 2.1.7)."""
        user = super().authenticate(request, **credentials)
        if user is not None:
            password_renewal.mark_if_refused(request, user, credentials.get("password"))
        return user

    def get_login_redirect_url(self, request) -> str:
        """Insurer staff to their own page (/verzekeraar/); everyone else to their practices.
        A ``next`` in the login form still wins (allauth reads it before asking here)."""
        if is_insurer_user(request.user):
            return "/verzekeraar/"
        return super().get_login_redirect_url(request)

    def get_client_ip(self, request) -> str:
        """The portal's one rule for the client's address (``SPIEGEL_PORTAL_TRUSTED_PROXIES``,
        client_ip.py), also for what allauth records: the address of a session on
        /accounts/sessions/ (allauth.usersessions) and its rate limits."""
        return client_ip(request) or super().get_client_ip(request)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """The password (or the second factor) again before an account change (settings,
        ``ACCOUNT_REAUTHENTICATION_REQUIRED``; ASVS 3.7.1); except for an account that has
        neither, which has nothing to give again: asking would only refuse it (403) the page
        that sets its first password."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        request = context.request
        user = getattr(request, "user", None)
        if required and user is not None and user.is_authenticated and not user.has_usable_password():
            from allauth.mfa.models import Authenticator

            return Authenticator.objects.filter(user=user).exists()
        return required
