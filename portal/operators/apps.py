from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    name = "portal.operators"
    label = "operators"
    verbose_name = "Vrijgave door operators"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib import admin

        from . import webauthn_server
        from .admin_guard import guard_admin_site

        # in service mode the admin, like the release pages, wants an operator with a second factor
        guard_admin_site(admin.site)
        # security keys only with approved signature algorithms (ASVS 2.9.3)
        webauthn_server.install()
