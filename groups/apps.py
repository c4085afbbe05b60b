from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Areas and community groups"

    def ready(self) -> None:
        from . import memberships, services  # noqa: F401  (register their personal-data sections)
