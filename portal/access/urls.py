"""/praktijk/... (portal.md, "Stable interfaces"). The patterns are strict (8-digit AGB,
YYYY-vN period, a discipline of the fixed list); everything else under /praktijk/ goes
to ``not_found`` after the login check, so anonymous requests always reach the login page."""

from django.urls import path, re_path

from . import views

app_name = "access"

AGB = r"(?P<agb>[0-9]{8})"
PERIOD = r"(?P<period>[0-9]{4}-v[1-3])"
DISCIPLINE = r"(?P<discipline>fysiotherapie|oefentherapie)"

urlpatterns = [
    path("", views.practices, name="practices"),
    path("aanvragen/", views.request_access, name="request"),
    re_path(rf"^{AGB}/\Z", views.practice, name="practice"),
    re_path(rf"^{AGB}/toegang/\Z", views.manage, name="manage"),
    re_path(rf"^{AGB}/{PERIOD}/{DISCIPLINE}\.(?P<extension>pdf|html)\Z", views.report, name="report"),
    re_path(
        rf"^{AGB}/{PERIOD}/(?P<name>plotly\.min\.js|spiegel\.js|spiegel\.css)\Z",
        views.report_asset,
        name="report_asset",
    ),
    re_path(rf"^{AGB}/{PERIOD}/{DISCIPLINE}/(?P<name>_funnel\.js)\Z", views.report_asset, name="funnel"),
    re_path(r"^(?P<rest>[\s\S]*)\Z", views.not_found),  # also newlines
]
