from django.urls import path

from . import views

app_name = "insurers"
urlpatterns = [path("", views.overview, name="overview")]
