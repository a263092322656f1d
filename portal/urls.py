"""URLs of the portal; the stable ones are listed in ../shared/spec/portal.md."""

from django.contrib import admin
from django.urls import include, path

from portal.public.views import favicon

urlpatterns = [
    # browsers ask for /favicon.ico whatever the page says: the portal's icon, from the static files
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("praktijk/", include("portal.access.urls")),
    path("", include("portal.public.urls")),
]
