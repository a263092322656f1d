"""The owner's page of personal API tokens (/accounts/tokens/): list, create (shown once, after the
password is asked again), revoke.

A new token's secret exists only in the response to the POST that made it: it is not stored
(tokens.py keeps its SHA-256), not put in a redirect URL and not in a message, which would
keep it in the session until the next page. That response is marked ``no-store``, so the
browser does not keep it either. Every account sees and revokes only its own tokens; another
account's token id is the portal's usual audited 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.access import tokens as token_store
from portal.access.models import ApiToken
from portal.access.permissions import deny, login_required_view

DAYS_ERROR = f"Een API-sleutel is 1 tot {token_store.MAX_DAYS} dagen geldig."
USAGE_PATH = "/api/v1/periods/"


class TokenForm(forms.Form):
    name = forms.CharField(label="Omschrijving (waarvoor u de sleutel gebruikt)", max_length=100, required=False)
    days = forms.IntegerField(
        label=f"Geldig (dagen, 1 tot {token_store.MAX_DAYS})",
        min_value=1,
        max_value=token_store.MAX_DAYS,
        initial=token_store.DEFAULT_DAYS,
        error_messages={
            "required": DAYS_ERROR,
            "invalid": DAYS_ERROR,
            "min_value": DAYS_ERROR,
            "max_value": DAYS_ERROR,
        },
    )


@dataclass(frozen=True)
class TokenRow:
    """A token as its owner's list shows it; the state in the page's words."""

    token: ApiToken
    state: str

    @property
    def pk(self) -> int:
        return self.token.pk


def token_state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "ingetrokken"
    if token.expires_at <= now:
        return "verlopen"
    return "geldig"


def _rows(user) -> list[TokenRow]:
    now = timezone.now()
    return [TokenRow(token, token_state(token, now)) for token in ApiToken.objects.filter(user=user)]


def _page(request, form: TokenForm, *, new_token: token_store.NewToken | None = None, status: int = 200):
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "rows": _rows(request.user),
            "new_token": new_token,
            "usage_url": request.build_absolute_uri(USAGE_PATH),
            "max_days": token_store.MAX_DAYS,
        },
        status=status,
    )


@reauthentication_required
def _create(request):
    """Make a token and show it in this response only (no redirect: a redirect would need the
    secret in its URL or in the session).

    A token is a credential of its own, so making one asks for the password (or the second
    factor) again, as a change of the e-mail address does. allauth keeps the POST while it asks
    and replays it after, so the token is still shown once, in that response."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        made = token_store.create_token(
            request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"], request=request
        )
    except token_store.TokenRefused as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=400)
    return _page(request, TokenForm(), new_token=made)


def _revoke(request):
    """Revoke one of the account's own tokens; any other id is the audited 404 of every page."""
    raw = (request.POST.get("token") or "").strip()
    token = ApiToken.objects.filter(pk=int(raw), user=request.user).first() if raw.isdigit() else None
    if token is None:
        raise deny(request, "", f"not the owner of API token {raw[:20]!r}")
    if token_store.revoke_token(token, actor=request.user.email or request.user.get_username(), request=request):
        messages.success(request, f"De API-sleutel {token_store.TOKEN_PREFIX}{token.prefix}… is ingetrokken.")
    else:
        messages.info(request, f"De API-sleutel {token_store.TOKEN_PREFIX}{token.prefix}… was al ingetrokken.")
    return redirect("api_tokens")


@login_required_view
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request):
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            return _create(request)
        if action == "revoke":
            return _revoke(request)
        return _page(request, TokenForm(), status=400)
    return _page(request, TokenForm())
