"""/verzekeraar/... (portal.md, "Stable interfaces"). Strict patterns (a YYYY-vN period, a
fixed list of file names); everything else goes to ``not_found`` after the login check, so
anonymous requests always reach the login page and other accounts always get the same 404."""

from django.urls import path, re_path

from . import views

app_name = "insurers"

PERIOD = r"(?P<period>[0-9]{4}-v[1-3])"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("berichten/", views.messages_page, name="messages"),
    re_path(rf"^{PERIOD}/\Z", views.period, name="period"),
    re_path(rf"^{PERIOD}/behandelindex\.(?P<extension>csv|parquet|xlsx)\Z", views.download, name="download"),
    re_path(rf"^{PERIOD}/landelijk\.html\Z", views.national_overview, name="national"),
    re_path(rf"^{PERIOD}/(?P<name>plotly\.min\.js|spiegel\.js|spiegel\.css)\Z", views.national_asset, name="asset"),
    re_path(r"^(?P<rest>[\s\S]*)\Z", views.not_found),  # also newlines
]
