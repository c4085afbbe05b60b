from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"
    verbose_name = "Replies and ratings"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the personal-data section)
