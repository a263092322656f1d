from django.apps import AppConfig


class InsurersConfig(AppConfig):
    name = "portal.insurers"
    label = "insurers"
    verbose_name = "Zorgverzekeraars"
