"""/beheer/vrijgave/...: the operators' release pages (docs/release-four-eyes.md)."""

from django.urls import path, re_path

from . import views

app_name = "operators"

PERIOD = r"(?P<period>[0-9]{4}-v[1-3])"

urlpatterns = [
    path("vrijgave/", views.overview, name="overview"),
    re_path(rf"^vrijgave/{PERIOD}/\Z", views.period_page, name="period"),
    re_path(rf"^vrijgave/{PERIOD}/aftekenen/\Z", views.sign_off, name="signoff"),
    re_path(rf"^vrijgave/{PERIOD}/publiceren/\Z", views.publish, name="publish"),
]
