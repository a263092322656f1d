"""Forms of the account's own pages: the consent at sign-up, the deletion of the account.

``SignupConsentForm`` is ``ACCOUNT_SIGNUP_FORM_CLASS``: allauth's sign-up form is built on it,
so its box comes after the e-mail address and the passwords, and ``signup`` runs once the new
account is saved. The box is unticked and required (ASVS 8.3.3: opt-in); a sign-up without it
is refused with a message saying why. With an address that already has an account, allauth
saves nothing (it mails the owner instead, ``ACCOUNT_PREVENT_ENUMERATION``) and so no consent
is recorded either.

This module must not import ``allauth.account.forms``: allauth imports it while building its own.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.safestring import mark_safe

CONSENT_LABEL = "Ik heb de privacyverklaring gelezen en ga akkoord"
CONSENT_REQUIRED = (
    "U kunt alleen een account aanvragen als u de privacyverklaring heeft gelezen en ermee akkoord gaat: "
    "vink het vakje aan."
)
PRIVACY_URL = "/privacy/"


class SignupConsentForm(forms.Form):
    consent = forms.BooleanField(
        label=CONSENT_LABEL,
        required=True,
        initial=False,
        error_messages={"required": CONSENT_REQUIRED},
        help_text=mark_safe(
            f'In de <a href="{PRIVACY_URL}">privacyverklaring</a> leest u welke gegevens het portaal van u '
            "bewaart, waarom, hoe lang en wie ze ziet."
        ),
    )

    def signup(self, request, user) -> None:
        """allauth calls this once the new account is saved: the consent and its audit line."""
        from portal.public.privacy import STATEMENT_VERSION

        from . import audit
        from .models import AuditEvent, PrivacyConsent

        PrivacyConsent.objects.create(user=user, statement=STATEMENT_VERSION, given_at=timezone.now())
        name = user.email or user.get_username()
        audit.record(
            AuditEvent.CONSENT,
            request=request,
            actor=name,
            subject=name,
            detail=f"privacy statement {STATEMENT_VERSION} accepted at sign-up",
        )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Uw wachtwoord",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Vul uw wachtwoord in om uw account te verwijderen."},
    )
