from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "Lees-API"

    def ready(self) -> None:
        from . import authentication  # noqa: F401  (registers the schema's bearer scheme)
