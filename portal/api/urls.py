"""/api/v1/... (portal.md, "The read API"); the schema and its docs pages beside it."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import views

app_name = "api"
urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's start-up script as a file: no inline script (portal/headers.py)
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("v1/redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("v1/periods/", views.PeriodList.as_view(), name="periods"),
    # the path parts are checked in the views, so that a malformed one is the API's JSON 404
    re_path(r"^v1/periods/(?P<period>[^/]+)/reference/\Z", views.ReferenceTable.as_view(), name="reference"),
    re_path(r"^v1/periods/(?P<period>[^/]+)/index/\Z", views.IndexTable.as_view(), name="index"),
    re_path(r"^v1/practices/(?P<agb>[^/]+)/\Z", views.PracticeDetail.as_view(), name="practice"),
    re_path(r"^(?P<rest>[\s\S]*)\Z", views.NotFoundView.as_view()),
]
