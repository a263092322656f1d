"""The account's own pages under /accounts/, beside allauth's (account_views.py). Included
before allauth's URLs: ``sessions/`` is also allauth.usersessions' path, whose page can only
end every other session at once; the portal's view lists the same records and ends any one."""

from django.urls import path

from . import account_views

urlpatterns = [
    path("", account_views.account, name="account_overview"),
    path("sessions/", account_views.sessions, name="account_sessions"),
    path("export/", account_views.export, name="account_export"),
    path("delete/", account_views.delete, name="account_delete"),
]
