"""allauth's second-factor forms, counted: a few wrong codes lock an account's second factor
for a while (``MFA_FAILURE_LIMIT`` in ``MFA_LOCKOUT``), and every wrong code is audited.

allauth's own throttle for these forms is its ``login_failed`` rate, which the portal turns
off because django-axes throttles password logins; axes never sees the code form, so the
count is kept here, in the shared cache (the gunicorn workers count together)."""

from __future__ import annotations

from allauth.core import context
from allauth.mfa.base import forms as mfa_forms
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxLengthValidator

from portal.access import audit
from portal.access.models import AuditEvent

LOCKED_TEXT = "Te veel onjuiste codes. Probeer het later opnieuw."
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
            raise forms.ValidationError(LOCKED_TEXT)
        try:
            code = super().clean_code()
        except forms.ValidationError:
            cache.set(key, failures + 1, timeout=int(settings.MFA_LOCKOUT.total_seconds()))
            audit.record(
                AuditEvent.MFA_FAILED,
                request=context.request,
                actor=actor,
                detail=f"wrong code ({failures + 1} of {settings.MFA_FAILURE_LIMIT})",
            )
            raise
        cache.delete(key)
        return code


class AuthenticateForm(_Counted, mfa_forms.AuthenticateForm):
    pass


class ReauthenticateForm(_Counted, mfa_forms.ReauthenticateForm):
    pass
