"""URLs of the portal; the stable ones are listed in ../shared/spec/portal.md."""

from django.contrib import admin
from django.urls import include, path

from portal.api import pages as api_pages
from portal.public.views import favicon

urlpatterns = [
    # browsers ask for /favicon.ico whatever the page says: the portal's icon, from the static files
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    # the owner's page of personal API tokens, beside allauth's account pages
    path("accounts/tokens/", api_pages.tokens, name="api_tokens"),
    # the account's overview, sessions, export and deletion (portal/access/account_views.py)
    path("accounts/", include("portal.access.account_urls")),
    path("accounts/", include("allauth.urls")),
    path("praktijk/", include("portal.access.urls")),
    path("verzekeraar/", include("portal.insurers.urls")),
    path("api/", include("portal.api.urls")),
    path("beheer/", include("portal.operators.urls")),
    path("", include("portal.public.urls")),
]

# an unexpected error: a generic page with a reference for support, logged with the traceback
handler500 = "portal.access.errors.server_error"
