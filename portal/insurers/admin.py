"""The operators' admin of insurer staff: appoint an account as staff of an insurer, or remove
it. Both go through ``portal.access.actions`` so they are audited as an operator's act; a
row is never changed in place (remove and appoint again, which is audited too)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from portal.access import actions
from portal.access.models import InsurerStaff


def _operator(request) -> str:
    return f"operator {request.user.get_username()} (admin)"


def _insurer_choices() -> list[tuple[str, str]]:
    from orchestration.core.seeds import insurers

    return [("", "—")] + sorted(((i.insurer_id, i.insurer_name) for i in insurers()), key=lambda c: c[1].lower())


class InsurerStaffForm(forms.ModelForm):
    """The insurer is picked from the required-insurers seed, never typed."""

    insurer_id = forms.ChoiceField(label="Zorgverzekeraar", choices=_insurer_choices)

    class Meta:
        model = InsurerStaff
        fields = ("insurer_id", "user")


@admin.register(InsurerStaff)
class InsurerStaffAdmin(admin.ModelAdmin):
    form = InsurerStaffForm
    list_display = ("user", "insurer_id", "appointed_at", "appointed_by")
    list_filter = ("insurer_id",)
    search_fields = ("insurer_id", "user__email")
    autocomplete_fields = ("user",)
    fields = ("insurer_id", "user")

    def has_change_permission(self, request, obj=None):
        return False  # appoint or remove; never silently re-point a row

    def save_model(self, request, obj, form, change):
        try:
            appointed = actions.appoint_insurer_user(
                obj.user, obj.insurer_id, actor=_operator(request), request=request
            )
        except actions.ActionRefused as exc:
            messages.error(request, str(exc))
            return
        if not appointed:
            messages.info(request, f"{obj.user.email} was al medewerker van {obj.insurer_id}.")
        # the row the action wrote, so the admin's log entry and redirect name a real object
        obj.pk = InsurerStaff.objects.filter(user=obj.user).values_list("pk", flat=True).first()

    def delete_model(self, request, obj):
        actions.remove_insurer_user(obj, actor=_operator(request), request=request)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
