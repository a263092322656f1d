"""Operators' side of the public pages: calendar notices, news items, contact messages."""

from __future__ import annotations

from django.contrib import admin

from portal.public.calendar import planned_date
from portal.public.models import ContactMessage, NewsItem, PeriodNotice


@admin.register(PeriodNotice)
class PeriodNoticeAdmin(admin.ModelAdmin):
    list_display = ("period", "planned_date", "default_planned_date", "has_text", "updated_at")
    search_fields = ("period",)

    @admin.display(description="standaarddatum")
    def default_planned_date(self, obj):
        try:
            return planned_date(obj.period)
        except KeyError:
            return "onbekende periode"

    @admin.display(description="eigen tekst", boolean=True)
    def has_text(self, obj):
        return bool(obj.postponement_text.strip())


@admin.register(NewsItem)
class NewsItemAdmin(admin.ModelAdmin):
    list_display = ("title", "published_at", "visible")
    list_filter = ("visible",)
    search_fields = ("title", "body")


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "topic", "insurer", "name", "email", "practice_agb", "subject", "mailed_to")
    list_filter = ("topic", "insurer", "created_at")
    # name, subject and message are encrypted in the database: SQL cannot search them
    search_fields = ("email", "practice_agb")
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "topic",
        "insurer",
        "name",
        "email",
        "practice_agb",
        "subject",
        "message",
        "user",
        "ip_address",
        "mailed_to",
        "mailed_at",
        "mail_error",
    )

    def has_add_permission(self, request):
        return False  # messages come from the form only

    def has_change_permission(self, request, obj=None):
        return False  # read them, never rewrite them (delete stays possible for privacy requests)
