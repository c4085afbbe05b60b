from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Areas and community groups"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the personal-data section)
