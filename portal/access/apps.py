from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "portal.access"
    label = "access"
    verbose_name = "Toegang tot praktijken"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import account_notices, password_renewal, signals  # noqa: F401  (the receivers)
