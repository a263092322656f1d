from django.urls import path, re_path

from portal.public import views

app_name = "public"
urlpatterns = [
    path("", views.home, name="home"),
    path("kalender/", views.kalender, name="kalender"),
    path("methode/", views.methode, name="methode"),
    re_path(
        r"^methode/(?P<period>[0-9]{4}-v[1-3])/reference_strata\.csv$", views.reference_table, name="reference_table"
    ),
    path("labels/", views.labels, name="labels"),
    path("vragen/", views.vragen, name="vragen"),
    path("contact/", views.contact, name="contact"),
    path("contact/verzonden/", views.contact_sent, name="contact_sent"),
    path("privacy/", views.privacy, name="privacy"),
]
