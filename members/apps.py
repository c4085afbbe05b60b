from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members and organisations"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the personal-data section)
