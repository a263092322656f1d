"""How long a login lasts: an idle limit and an absolute limit (ASVS 3.3.2 at level 2: at most
12 hours, or 30 minutes without use).

- idle: ``SESSION_COOKIE_AGE`` (``SPIEGEL_PORTAL_SESSION_IDLE_SECONDS``, default 30 minutes).
  Django stores a session's expiry when the session is saved; ``SessionTimeoutMiddleware``
  saves it again when the account uses it and the last save is more than a minute old (not on
  every request: every save is a database write), so the expiry moves with use.
- absolute: ``SESSION_ABSOLUTE_SECONDS`` (``SPIEGEL_PORTAL_SESSION_SECONDS``, default 8 hours)
  after the login, however busy the session: then it is flushed and the account logs in again.

Both limits are also checked here on every request, so they hold whatever the session backend.
A session that ran out is logged out (audited, with the reason) and the request goes on as
anonymous: a page behind an account sends it to the login page.

An account's sessions are listed at /accounts/sessions/ (ASVS 3.3.4, allauth.usersessions,
portal/access/account_views.py): ``ActiveSessionsMiddleware`` keeps allauth's record of each
(address, browser, last use) up to date at the same pace as the idle expiry.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

STARTED = "spiegel_login_at"
SEEN = "spiegel_seen_at"
EXPIRED = "_spiegel_session_expired"
TOUCHED = "_spiegel_session_touched"
TRACKED = "spiegel_tracked"
TOUCH_SECONDS = 60


def start(session) -> None:
    """At login (a ``user_logged_in`` receiver): the clock of both limits starts."""
    now = time.time()
    session[STARTED] = now
    session[SEEN] = now


def expiry_reason(session, now: float) -> str:
    """Why this session has run out, or "" while it is valid."""
    started = session.get(STARTED)
    seen = session.get(SEEN, started)
    if started is None:
        return ""
    if now - started > settings.SESSION_ABSOLUTE_SECONDS:
        return f"session expired: {settings.SESSION_ABSOLUTE_SECONDS} s after login"
    if now - seen > settings.SESSION_COOKIE_AGE:
        return f"session expired: {settings.SESSION_COOKIE_AGE} s without use"
    return ""


class SessionTimeoutMiddleware:
    """After ``AuthenticationMiddleware``: logs out a session past either limit, and moves the
    idle expiry of one in use."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest) -> None:
        session, now = request.session, time.time()
        if STARTED not in session:  # a session from before these limits: they start now
            start(session)
            setattr(request, TOUCHED, True)
            return
        reason = expiry_reason(session, now)
        if reason:
            setattr(request, EXPIRED, reason)
            logout(request)
        elif now - session.get(SEEN, 0) > TOUCH_SECONDS:
            session[SEEN] = now
            setattr(request, TOUCHED, True)


class ActiveSessionsMiddleware:
    """After ``SessionTimeoutMiddleware``: allauth.usersessions' record of this session (the
    list at /accounts/sessions/: started, address, browser, last use). allauth's own
    ``UserSessionsMiddleware`` writes that record on every request; this one calls the same
    function (``USERSESSIONS_TRACK_ACTIVITY``) only when the idle expiry moved (at most once a
    minute) or the session is not yet recorded under its current key, so a busy session costs
    no extra write per request. The session keeps a digest of its key, never the key itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user, session = getattr(request, "user", None), getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None and session.session_key:
            digest = hashlib.sha256(session.session_key.encode()).hexdigest()[:16]
            if getattr(request, TOUCHED, False) or session.get(TRACKED) != digest:
                from allauth.usersessions.internal.usersessionkit import track_activity

                track_activity(request, user=user, session=session)
                session[TRACKED] = digest
        return self.get_response(request)
