"""The operators' admin: managers (appointing the first one of a practice), access rows and
the audit log (read-only). Appointments and removals made here are audited as an operator's."""

from __future__ import annotations

from allauth.mfa import admin as mfa_admin
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages

from . import actions
from .models import AuditEvent, PracticeAccess, PracticeManager


def _operator(request) -> str:
    return f"operator {request.user.get_username()} (admin)"


class ReadOnly:
    """An admin page that lists and shows, and never adds, changes or deletes a row."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PracticeManager)
class PracticeManagerAdmin(admin.ModelAdmin):
    list_display = ("agb", "user", "appointed_at", "appointed_by")
    search_fields = ("agb", "user__email")
    autocomplete_fields = ("user",)
    fields = ("agb", "user")

    def has_change_permission(self, request, obj=None):
        return False  # appoint or remove; never silently re-point a row

    def save_model(self, request, obj, form, change):
        if not actions.appoint_manager(obj.user, obj.agb, actor=_operator(request), request=request):
            messages.info(request, f"{obj.user.email} was al beheerder van {obj.agb}.")

    def delete_model(self, request, obj):
        try:
            actions.remove_manager(obj, actor=_operator(request), request=request)
        except actions.ActionRefused as exc:
            messages.error(request, str(exc))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(PracticeAccess)
class PracticeAccessAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("agb", "user", "status", "requested_at", "decided_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("agb", "user__email")
    actions = ["revoke_selected"]

    @admin.action(description="Toegang intrekken")
    def revoke_selected(self, request, queryset):
        for access in queryset.filter(status=PracticeAccess.APPROVED):
            actions.revoke(access, actor=_operator(request), request=request)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("at", "action", "agb", "actor", "subject", "ip", "detail")
    list_filter = ("action",)
    search_fields = ("agb", "actor", "subject")
    date_hierarchy = "at"


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnly, mfa_admin.AuthenticatorAdmin):
    """Second factors, listed and never changed here (ASVS 2.5.7): deleting one in the admin would
    let any operator strip another account's factor without proof of who asked. A lost factor is
    removed by ``spiegel portal reset-second-factor``, which names who checked the holder's
    identity and how. The data (the encrypted TOTP secret, the recovery seed, the key) is not
    shown either."""

    exclude = ("data",)
