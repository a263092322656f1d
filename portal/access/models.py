"""Who may see which practice: access requests and grants, managers, and the audit log.

A practice is known only by its AGB code (8 digits); the portal has no practice table,
because which practices exist is what the published releases say (catalog.py).

- ``PracticeAccess``: one row per (account, practice): the account's request and its
  fate (pending, approved, refused, revoked). Access to the reports = status approved.
- ``PracticeManager``: the authorisation managers (autorisatiebeheerders) of a practice.
  A manager sees the practice's reports too (the practice holder is one).
- ``InsurerStaff``: accounts appointed by operators as staff of one insurer (a concern of
  ``dbt_project/seeds/required_insurers.csv``): they read every practice's published index
  rows and the national figures, never a practice's report.
- ``ApiToken``: personal tokens of the read API, stored as a SHA-256 hash of a random
  secret (tokens.py), with an expiry; revoked by setting ``revoked_at``.
- ``PrivacyConsent``: when an account agreed to the privacy statement (/privacy/), and to
  which version of it: the sign-up form's required box (forms.py).
- ``KnownDevice``: the browsers and networks an account has logged in from, each only as a
  digest (devices.py), so that a login from a new one is mailed to the owner (ASVS 2.2.3).
- ``AuditEvent``: append-only; the ORM refuses to change or delete a row.

The one permission check every view uses is ``portal/access/permissions.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

agb_validator = RegexValidator(r"^[0-9]{8}$", "Een AGB-code bestaat uit 8 cijfers.")


class PracticeAccess(models.Model):
    PENDING, APPROVED, REFUSED, REVOKED = "pending", "approved", "refused", "revoked"
    STATUS_CHOICES = [
        (PENDING, "aangevraagd"),
        (APPROVED, "toegekend"),
        (REFUSED, "geweigerd"),
        (REVOKED, "ingetrokken"),
    ]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_access")
    agb = models.CharField("AGB-code", max_length=8, validators=[agb_validator], db_index=True)
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField("besloten door", max_length=254, blank=True)

    class Meta:
        verbose_name = "toegang tot een praktijk"
        verbose_name_plural = "toegang tot praktijken"
        constraints = [models.UniqueConstraint(fields=["user", "agb"], name="one_access_row_per_user_and_practice")]
        ordering = ["agb", "requested_at"]

    def __str__(self) -> str:
        return f"{self.user.email} → {self.agb} ({self.get_status_display()})"


class PracticeManager(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_practices")
    agb = models.CharField("AGB-code", max_length=8, validators=[agb_validator], db_index=True)
    appointed_at = models.DateTimeField(auto_now_add=True)
    appointed_by = models.CharField("benoemd door", max_length=254, blank=True)

    class Meta:
        verbose_name = "autorisatiebeheerder"
        verbose_name_plural = "autorisatiebeheerders"
        constraints = [models.UniqueConstraint(fields=["user", "agb"], name="one_manager_row_per_user_and_practice")]
        ordering = ["agb", "appointed_at"]

    def __str__(self) -> str:
        return f"{self.user.email} beheert {self.agb}"


class InsurerStaff(models.Model):
    """An account's appointment as staff of one insurer (portal.md, role "insurer user")."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="insurer_staff")
    insurer_id = models.CharField("zorgverzekeraar", max_length=40, db_index=True)
    appointed_at = models.DateTimeField(auto_now_add=True)
    appointed_by = models.CharField("benoemd door", max_length=254, blank=True)

    class Meta:
        verbose_name = "medewerker van een zorgverzekeraar"
        verbose_name_plural = "medewerkers van zorgverzekeraars"
        ordering = ["insurer_id", "appointed_at"]

    def __str__(self) -> str:
        return f"{self.user.email} ({self.insurer_id})"


class ApiToken(models.Model):
    """A personal token of the read API. Only the SHA-256 of the secret is stored: the token
    itself is shown once, when it is made (tokens.create_token)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("omschrijving", max_length=100, blank=True)
    prefix = models.CharField("begin van de sleutel", max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField("verloopt op")
    revoked_at = models.DateTimeField("ingetrokken op", null=True, blank=True)
    last_used_at = models.DateTimeField("laatst gebruikt", null=True, blank=True)
    # when the owner was mailed that the token expires soon (token_notices.py): once per token
    expiry_notice_sent_at = models.DateTimeField("verloopbericht gestuurd op", null=True, blank=True)

    class Meta:
        verbose_name = "API-sleutel"
        verbose_name_plural = "API-sleutels"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… van {self.user.email}"

    def is_usable(self, now=None) -> bool:
        from django.utils import timezone

        now = now or timezone.now()
        return self.revoked_at is None and now < self.expires_at and self.user.is_active


class PrivacyConsent(models.Model):
    """An account's opt-in to the privacy statement (ASVS 8.3.3): given at sign-up, before the
    account is used; ``statement`` is the version it agreed to (portal/public/privacy.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="privacy_consents")
    statement = models.CharField("versie van de privacyverklaring", max_length=20)
    given_at = models.DateTimeField("akkoord gegeven op")

    class Meta:
        verbose_name = "akkoord met de privacyverklaring"
        verbose_name_plural = "akkoorden met de privacyverklaring"
        ordering = ["given_at", "id"]

    def __str__(self) -> str:
        return f"{self.user.email or self.user.get_username()}: privacyverklaring {self.statement}"


class KnownDevice(models.Model):
    """A browser and network an account logged in from: only the SHA-256 of the user agent and
    the address's network prefix (devices.py), never either of them, and when it was first and
    last seen. Kept until the account is deleted (personal_data.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="known_devices")
    digest = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField("eerst gezien")
    last_seen_at = models.DateTimeField("laatst gezien")

    class Meta:
        verbose_name = "bekend apparaat"
        verbose_name_plural = "bekende apparaten"
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="one_known_device_row_per_digest")]
        ordering = ["first_seen_at", "id"]

    def __str__(self) -> str:
        return f"{self.digest[:12]}… van {self.user.email or self.user.get_username()}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")

    # bulk_update goes through update(); bulk_create only adds rows and stays allowed


class AuditEvent(models.Model):
    """One line of the audit log: who did what, when, from where, about which practice."""

    REQUEST = "request"
    GRANT = "grant"
    REFUSAL = "refusal"
    REVOCATION = "revocation"
    MANAGER_APPOINTED = "manager_appointed"
    MANAGER_REMOVED = "manager_removed"
    DOWNLOAD = "download"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    DENIED = "denied"
    LOGIN_REQUIRED = "login_required"
    CSRF_FAILURE = "csrf_failure"
    INSURER_APPOINTED = "insurer_appointed"
    INSURER_REMOVED = "insurer_removed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    TOKEN_REFUSED = "token_refused"
    API_CALL = "api_call"
    EXPORT = "export"
    # the release by operators (docs/release-four-eyes.md): the portal's release page, the
    # CLI with a token and the Dagster steps write these; subject "periode <period>"
    SIGNOFF_REQUESTED = "signoff_requested"
    SIGNOFF_RECORDED = "signoff_recorded"
    SIGNOFF_REFUSED = "signoff_refused"
    PUBLISH_REQUESTED = "publish_requested"
    PUBLISH_REFUSED = "publish_refused"
    PUBLISHED = "published"
    OPERATOR_REFUSED = "operator_refused"
    MFA_FAILED = "mfa_failed"
    OPERATOR_APPOINTED = "operator_appointed"
    OPERATOR_REMOVED = "operator_removed"
    LOGIN = "login"
    LOGOUT = "logout"
    # the account's own data (docs/security.md, V8.3): consent at sign-up, its sessions, the
    # export and the deletion of its data; the daily purge of what is past its retention period
    CONSENT = "consent"
    SESSION_ENDED = "session_ended"
    PERSONAL_EXPORT = "personal_export"
    ACCOUNT_DELETED = "account_deleted"
    DELETE_REFUSED = "delete_refused"
    RETENTION_PURGE = "retention_purge"
    NEW_DEVICE = "new_device"
    SECOND_FACTOR_RESET = "second_factor_reset"
    ACTION_CHOICES = [
        (REQUEST, "toegang aangevraagd"),
        (GRANT, "toegang toegekend"),
        (REFUSAL, "toegang geweigerd"),
        (REVOCATION, "toegang ingetrokken"),
        (MANAGER_APPOINTED, "beheerder benoemd"),
        (MANAGER_REMOVED, "beheerder verwijderd"),
        (DOWNLOAD, "rapport gedownload"),
        (LOGIN_FAILED, "mislukte inlogpoging"),
        (LOCKOUT, "account geblokkeerd na mislukte pogingen"),
        (DENIED, "toegang geweigerd (404)"),
        (LOGIN_REQUIRED, "anoniem verzoek naar inloggen gestuurd"),
        (CSRF_FAILURE, "formulier zonder geldig CSRF-token"),
        (INSURER_APPOINTED, "medewerker zorgverzekeraar benoemd"),
        (INSURER_REMOVED, "medewerker zorgverzekeraar verwijderd"),
        (TOKEN_CREATED, "API-sleutel gemaakt"),
        (TOKEN_REVOKED, "API-sleutel ingetrokken"),
        (TOKEN_REFUSED, "ongeldige, verlopen of ingetrokken API-sleutel"),
        (API_CALL, "API-verzoek"),
        (EXPORT, "indextabel gedownload"),
        (SIGNOFF_REQUESTED, "aftekening gevraagd"),
        (SIGNOFF_RECORDED, "aftekening vastgelegd"),
        (SIGNOFF_REFUSED, "aftekening geweigerd"),
        (PUBLISH_REQUESTED, "publicatie gevraagd"),
        (PUBLISH_REFUSED, "publicatie geweigerd"),
        (PUBLISHED, "gepubliceerd"),
        (OPERATOR_REFUSED, "geen bewezen operator"),
        (MFA_FAILED, "onjuiste code van de tweede factor"),
        (OPERATOR_APPOINTED, "operator benoemd"),
        (OPERATOR_REMOVED, "operator verwijderd"),
        (LOGIN, "ingelogd"),
        (LOGOUT, "uitgelogd of sessie verlopen"),
        (CONSENT, "akkoord met de privacyverklaring"),
        (SESSION_ENDED, "sessie beëindigd door het account"),
        (PERSONAL_EXPORT, "eigen gegevens gedownload"),
        (ACCOUNT_DELETED, "account verwijderd"),
        (DELETE_REFUSED, "verwijderen van een account geweigerd"),
        (RETENTION_PURGE, "verlopen gegevens verwijderd (bewaartermijnen)"),
        (NEW_DEVICE, "ingelogd vanaf een nieuw apparaat (eigenaar gemaild)"),
        (SECOND_FACTOR_RESET, "tweede factor verwijderd na controle van de identiteit"),
    ]

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField("wie", max_length=254, help_text="e-mailadres, 'operator (...)' of 'anoniem'")
    action = models.CharField("wat", max_length=20, choices=ACTION_CHOICES)
    agb = models.CharField("AGB-code", max_length=8, blank=True, db_index=True)
    subject = models.CharField(
        "betreft", max_length=254, blank=True, help_text="het account waarover besloten is, of het gevraagde pad"
    )
    detail = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField("vanaf", null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "auditregel"
        verbose_name_plural = "auditlog"
        ordering = ["at", "id"]

    def save(self, *args, **kwargs):
        if self.pk is not None or kwargs.get("force_update"):
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")

    def line(self) -> str:
        """The line ``spiegel portal audit`` prints."""
        from django.utils import timezone

        when = timezone.localtime(self.at).isoformat(timespec="seconds")
        parts = [when, self.action, f"agb={self.agb or '-'}", f"by={self.actor}", f"ip={self.ip or '-'}"]
        if self.subject:
            parts.append(f"subject={self.subject}")
        if self.detail:
            parts.append(f"detail={self.detail}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.line()
