"""A password that the rules now refuse is changed at the next login (ASVS 2.1.7, "at login").

The rules (``AUTH_PASSWORD_VALIDATORS``: length, and Django's list of 20,000 common passwords)
run at sign-up, change and reset; a password set before a rule or a list entry existed would
otherwise stay in use for ever. At a successful login the password that was typed is checked
against the same rules (the account adapter, adapter.py: the only moment the portal sees it),
and when they refuse it the session is marked. Until the password is changed, every page of
that session leads to /accounts/password/change/ with a message saying why; logging out stays
possible. A password change ends the session (``ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE``), and the
mark is dropped on the change as well."""

from __future__ import annotations

from allauth.account.signals import password_changed
from django.contrib import messages
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.shortcuts import redirect

SESSION_KEY = "spiegel_password_must_change"
CHANGE_URL = "/accounts/password/change/"
ALLOWED = (CHANGE_URL, "/accounts/logout/", "/static/")
MESSAGE = (
    "Uw wachtwoord voldoet niet meer aan de eisen van het portaal: het staat bijvoorbeeld op de lijst van "
    "veelgebruikte of gelekte wachtwoorden. Kies een nieuw wachtwoord voordat u verdergaat."
)


def refused(password: str, user) -> bool:
    """Whether the current password rules refuse ``password`` for ``user``."""
    try:
        validate_password(password, user)
    except ValidationError:
        return True
    return False


def mark_if_refused(request, user, password: str | None) -> None:
    """At a login with the right password: mark the session when the rules refuse it now."""
    session = getattr(request, "session", None)
    if session is None or user is None or not password:
        return
    if refused(password, user):
        session[SESSION_KEY] = True


@receiver(password_changed, dispatch_uid="spiegel_password_renewed")
def drop_mark(sender, request=None, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(SESSION_KEY, None)


class PasswordRenewalMiddleware:
    """Sends a marked session's requests to the password change page (after MessageMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.get(SESSION_KEY)
            and not request.path.startswith(ALLOWED)
        ):
            messages.warning(request, MESSAGE)
            return redirect(CHANGE_URL)
        return self.get_response(request)
