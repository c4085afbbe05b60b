from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Messages (dispatch and delivery)"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the personal-data section)
