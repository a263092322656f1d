"""URLs of the portal; the stable ones are listed in ../shared/spec/portal.md."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("praktijk/", include("portal.access.urls")),
    path("", include("portal.public.urls")),
]
