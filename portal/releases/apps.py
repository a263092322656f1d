from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "portal.releases"
    label = "releases"
    default_auto_field = "django.db.models.BigAutoField"
