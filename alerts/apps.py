from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts, appeals, news and events"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the personal-data section)
