"""allauth's second-factor forms, counted: a few wrong codes lock an account's second factor
for a while (``MFA_FAILURE_LIMIT`` in ``MFA_LOCKOUT``), and every wrong code is audited.

allauth's own throttle for these forms is its ``login_failed`` rate, which the portal turns
off because django-axes throttles password logins; axes never sees the code form, so the
count is kept here, in the shared cache (the gunicorn workers count together). A refused code
that is a TOTP code already used (a replay) is also mailed to the account's holder.

The security key's forms (WebAuthn, ASVS 2.3.2) need no count: a signature cannot be guessed.
They only get a Dutch label: allauth leaves the label of their ``name`` field to Django, which
shows the English field name ("Name") on the portal's Dutch pages."""

from __future__ import annotations

from allauth.core import context
from allauth.mfa.base import forms as mfa_forms
from allauth.mfa.webauthn import forms as webauthn_forms
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxLengthValidator

from portal.access import alarms, audit, notify
from portal.access.models import AuditEvent

LOCKED_TEXT = "Te veel onjuiste codes. Probeer het later opnieuw."
KEY_NAME_LABEL = "Naam van de sleutel"
REPLAY_SUBJECT = "Een al gebruikte code is geweigerd"
REPLAY_TEXT = (
    "Bij het inloggen op uw account is zojuist een code uit uw authenticator-app ingevuld die al eerder\n"
    "was gebruikt. Het portaal heeft die code geweigerd.\n\n"
    "Was u dat zelf, bijvoorbeeld door twee keer op Inloggen te klikken, dan hoeft u niets te doen.\n"
    "Was u het niet, dan kent iemand anders uw wachtwoord en heeft die een code van u gezien. Wijzig dan\n"
    "meteen uw wachtwoord en neem contact met ons op."
)
CODE_MAX_LENGTH = 64  # a TOTP code has 6 digits, a recovery code 34 (settings); allauth's field has no bound


def _key(user) -> str:
    return f"spiegel.mfa.failures.{user.pk}"


class _Counted:
    """The count before allauth checks the code, and after it failed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        code = self.fields["code"]
        code.max_length = CODE_MAX_LENGTH
        code.validators.append(MaxLengthValidator(CODE_MAX_LENGTH))
        code.widget.attrs["maxlength"] = str(CODE_MAX_LENGTH)

    def clean_code(self) -> str:
        key = _key(self.user)
        failures = int(cache.get(key, 0))
        actor = self.user.email or self.user.get_username()
        if failures >= settings.MFA_FAILURE_LIMIT:
            audit.record(AuditEvent.MFA_FAILED, request=context.request, actor=actor, detail="locked: too many codes")
            alarms.limit_reached("second_factor", actor, request=context.request, detail="a code while locked")
            raise forms.ValidationError(LOCKED_TEXT)
        try:
            code = super().clean_code()
        except forms.ValidationError:
            cache.set(key, failures + 1, timeout=int(settings.MFA_LOCKOUT.total_seconds()))
            detail = f"wrong code ({failures + 1} of {settings.MFA_FAILURE_LIMIT})"
            if replayed_totp(self.user, self.cleaned_data.get("code", "")):
                notify_replay(self.user)
                detail += ", a used TOTP code again: the holder was mailed"
            audit.record(AuditEvent.MFA_FAILED, request=context.request, actor=actor, detail=detail)
            if failures + 1 >= settings.MFA_FAILURE_LIMIT:
                alarms.limit_reached("second_factor", actor, request=context.request, detail=detail)
            raise
        cache.delete(key)
        return code


def replayed_totp(user, code: str) -> bool:
    """True when ``code`` is a current TOTP code of the account that was already used: allauth
    refuses it because its used-code marker is still in the cache (allauth's private
    ``_get_used_cache_key``; allauth gives no other way to tell a replay from a wrong code).
    Someone else then has the password and has seen a code (ASVS 2.8.5)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import validate_totp_code
    from allauth.mfa.utils import decrypt

    for authenticator in Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP):
        if not validate_totp_code(decrypt(authenticator.data["secret"]), code):
            continue
        if cache.get(authenticator.wrap()._get_used_cache_key(code)):  # noqa: SLF001
            return True
    return False


def notify_replay(user) -> None:
    """A mail to the account's holder: the refused code was seen by someone with the password."""
    notify.owner_notice(user.email, REPLAY_SUBJECT, REPLAY_TEXT)


class AuthenticateForm(_Counted, mfa_forms.AuthenticateForm):
    pass


class ReauthenticateForm(_Counted, mfa_forms.ReauthenticateForm):
    pass


class _DutchKeyName:
    """The security key's ``name`` field with the portal's Dutch label."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = KEY_NAME_LABEL


class AddWebAuthnForm(_DutchKeyName, webauthn_forms.AddWebAuthnForm):
    pass


class EditWebAuthnForm(_DutchKeyName, webauthn_forms.EditWebAuthnForm):
    pass
