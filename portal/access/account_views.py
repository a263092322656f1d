"""The account's own pages beside allauth's (docs/security.md, V3.3.4 and V8.3):

- ``/accounts/``: "Mijn account", the links to every page about the account;
- ``/accounts/sessions/``: the account's active sessions (allauth.usersessions' records:
  started, address, browser, last use), each with a button that logs it out, and one for all
  the others. Only the account's own sessions are listed and can be ended: any other id is the
  portal's usual audited 404. A session's key is never shown; the form names a record's id;
- ``/accounts/export/``: "Mijn gegevens downloaden", the account's personal data as JSON
  (personal_data.export), audited;
- ``/accounts/delete/``: "Account verwijderen", with the password (checked through Django's
  authentication, so django-axes counts wrong ones and locks as at login), then
  personal_data.delete_account and a logout.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import audit, personal_data
from .forms import DeleteAccountForm
from .models import AuditEvent
from .permissions import deny, has_totp, login_required_view


def _name(user) -> str:
    return user.email or user.get_username()


@login_required_view
@require_GET
def account(request):
    return render(
        request,
        "access/account.html",
        {"has_totp": has_totp(request.user), "deletion_refusal": personal_data.deletion_refusal(request.user)},
    )


# -- sessions (ASVS 3.3.4) --------------------------------------------------------------------------


def _sessions(request):
    """The account's live sessions, oldest first: allauth's records whose session still
    holds a login (``purge_and_list`` drops the others)."""
    from allauth.usersessions.models import UserSession

    return sorted(UserSession.objects.purge_and_list(request.user), key=lambda s: (s.created_at, s.pk))


def _end(request, sessions) -> bool:
    """End these sessions (audited each); True when the request's own was among them."""
    current = request.session.session_key
    own = False
    for session in sessions:
        audit.record(
            AuditEvent.SESSION_ENDED,
            request=request,
            subject=_name(request.user),
            detail=f"session started {timezone.localtime(session.created_at).isoformat(timespec='seconds')} "
            f"from {session.ip}" + (" (this session)" if session.session_key == current else ""),
        )
        if session.session_key == current:
            own = True
        else:
            session.end()
    return own


@login_required_view
@never_cache
@require_http_methods(["GET", "POST"])
def sessions(request):
    from allauth.usersessions.models import UserSession

    if request.method == "POST":
        if request.POST.get("action") == "others":
            chosen = [s for s in _sessions(request) if s.session_key != request.session.session_key]
        else:
            raw = (request.POST.get("session") or "").strip()
            session = UserSession.objects.filter(pk=int(raw), user=request.user).first() if raw.isdigit() else None
            if session is None:
                raise deny(request, "", f"not the owner of session record {raw[:20]!r}")
            chosen = [session]
        if _end(request, chosen):
            logout(request)
            messages.info(request, "U bent uitgelogd.")
            return redirect("/")
        if chosen:
            messages.success(
                request,
                "De sessie is beëindigd: dat apparaat is uitgelogd."
                if len(chosen) == 1
                else f"{len(chosen)} sessies zijn beëindigd: die apparaten zijn uitgelogd.",
            )
        else:
            messages.info(request, "Er waren geen andere sessies.")
        return redirect("account_sessions")
    current = request.session.session_key
    rows = [{"session": s, "current": s.session_key == current} for s in _sessions(request)]
    return render(
        request,
        "usersessions/usersession_list.html",
        {"rows": rows, "others": any(not row["current"] for row in rows)},
    )


# -- export and deletion (ASVS 8.3.2) ---------------------------------------------------------------


@login_required_view
@require_GET
def export(request):
    data = personal_data.export(request.user, current_session_key=request.session.session_key)
    audit.record(AuditEvent.PERSONAL_EXPORT, request=request, subject=_name(request.user))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2) + "\n",
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="mijn-spiegel-gegevens-{stamp}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required_view
@never_cache
@require_http_methods(["GET", "POST"])
def delete(request):
    user = request.user
    refusal = personal_data.deletion_refusal(user)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST":
        if refusal:
            audit.record(AuditEvent.DELETE_REFUSED, request=request, subject=_name(user), detail=refusal[:500])
        elif form.is_valid():
            # the password through authentication: django-axes counts a wrong one (and locks) as at login
            credentials = {"email": user.email} if user.email else {"username": user.get_username()}
            checked = authenticate(request, password=form.cleaned_data["password"], **credentials)
            if checked is None or checked.pk != user.pk:
                locked = bool(getattr(request, "axes_locked_out", False))
                audit.record(
                    AuditEvent.DELETE_REFUSED,
                    request=request,
                    subject=_name(user),
                    detail="refused during lockout" if locked else "wrong password",
                )
                form.add_error(
                    "password",
                    "Er zijn te vaak onjuiste wachtwoorden ingevuld; probeer het later opnieuw. "
                    "Uw account is niet verwijderd."
                    if locked
                    else "Dit wachtwoord is niet juist. Uw account is niet verwijderd.",
                )
            else:
                try:
                    personal_data.delete_account(user, request=request)
                except personal_data.DeletionRefused as exc:
                    refusal = str(exc)
                else:
                    logout(request)
                    messages.success(
                        request,
                        "Uw account is verwijderd en u bent uitgelogd. Uw gegevens zijn gewist zoals de "
                        "privacyverklaring beschrijft.",
                    )
                    return redirect("/")
    status = 400 if request.method == "POST" else 200
    return render(request, "access/delete_account.html", {"form": form, "refusal": refusal}, status=status)
