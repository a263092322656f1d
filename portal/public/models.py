"""The portal's own records for its public pages: per-period calendar settings written by
the operators, news items and contact messages (portal.md, "Release calendar and
notices", "Contact").

The *state* of a period (in voorbereiding, gepubliceerd, uitgesteld) is not stored
here: it is derived at every request from ``releases/`` and the platform's readiness
file (``portal.public.calendar``). Operators only add what the platform cannot know:
another planned date and the text shown when a period is late.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from portal.access.encrypted_fields import EncryptedTextField

PERIOD_RE = re.compile(r"^[0-9]{4}-v[1-3]$")


def validate_period(value: str) -> None:
    from orchestration.core.seeds import periods

    if not PERIOD_RE.match(value or ""):
        raise ValidationError("Een periode schrijft u als JJJJ-vN, bijvoorbeeld 2024-v1.")
    if value not in periods():
        raise ValidationError("Deze periode staat niet in de periodenlijst (dbt_project/seeds/periods.csv).")


class PeriodNotice(models.Model):
    """What the operators add to one period on the calendar."""

    period = models.CharField(
        "periode", max_length=7, unique=True, validators=[validate_period], help_text="JJJJ-vN, bijvoorbeeld 2022-v1."
    )
    planned_date = models.DateField(
        "geplande publicatiedatum",
        null=True,
        blank=True,
        help_text="Leeg: de standaard (de afsluitdatum van de periode plus het ingestelde aantal weken).",
    )
    postponement_text = models.TextField(
        "tekst bij uitstel",
        blank=True,
        help_text="Getoond zolang de periode na de geplande datum niet gepubliceerd is. Leeg: de standaardtekst "
        "(de gegevens van een zorgverzekeraar konden nog niet worden gegarandeerd). Noem geen "
        "zorgverzekeraar tenzij die daarmee heeft ingestemd.",
    )
    updated_at = models.DateTimeField("gewijzigd", auto_now=True)

    class Meta:
        verbose_name = "kalender: periode"
        verbose_name_plural = "kalender: perioden"
        ordering = ["-period"]

    def __str__(self) -> str:
        return self.period


class NewsItem(models.Model):
    title = models.CharField("titel", max_length=200)
    body = models.TextField("tekst")
    published_at = models.DateTimeField(
        "publicatiedatum",
        default=timezone.now,
        help_text="Een bericht met een datum in de toekomst verschijnt pas dan.",
    )
    visible = models.BooleanField("zichtbaar", default=True)

    class Meta:
        verbose_name = "nieuwsbericht"
        verbose_name_plural = "nieuwsberichten"
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ContactMessage(models.Model):
    TOPIC_ACCESS = "toegang"
    TOPIC_METHOD = "methode"
    TOPIC_POLICY = "beleid"
    TOPICS = [
        (TOPIC_ACCESS, "Toegang en account"),
        (TOPIC_METHOD, "De rekenmethodiek"),
        (TOPIC_POLICY, "Beleid en inhoud (per zorgverzekeraar)"),
    ]

    created_at = models.DateTimeField("ontvangen", default=timezone.now, db_index=True)
    topic = models.CharField("onderwerp", max_length=10, choices=TOPICS)
    insurer = models.CharField("zorgverzekeraar", max_length=40, blank=True)
    # what the sender typed is stored encrypted (portal/access/encrypted_fields.py); the
    # address stays plain: a person's messages are found by it for an export or deletion
    name = EncryptedTextField("naam", max_length=200, stored_as="contact message")
    email = models.EmailField("e-mailadres", db_index=True)
    practice_agb = models.CharField("praktijk (AGB)", max_length=8, blank=True)
    subject = EncryptedTextField("kort onderwerp", max_length=200, stored_as="contact message")
    message = EncryptedTextField("bericht", stored_as="contact message")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name="account"
    )
    ip_address = models.GenericIPAddressField("afzenderadres (IP)", null=True, blank=True)
    mailed_to = models.CharField("gemaild naar", max_length=254, blank=True)
    mailed_at = models.DateTimeField("gemaild op", null=True, blank=True)
    mail_error = models.CharField("fout bij mailen", max_length=500, blank=True)

    class Meta:
        verbose_name = "contactbericht"
        verbose_name_plural = "contactberichten"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_topic_display()}: {self.subject}"
