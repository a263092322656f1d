"""Who may see which practice: access requests and grants, managers, and the audit log.

A practice is known only by its AGB code (8 digits); the portal has no practice table,
because which practices exist is what the published releases say (catalog.py).

- ``PracticeAccess``: one row per (account, practice): the account's request and its
  fate (pending, approved, refused, revoked). Access to the reports = status approved.
- ``PracticeManager``: the authorisation managers (autorisatiebeheerders) of a practice.
  A manager sees the practice's reports too (the practice holder is one).
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
