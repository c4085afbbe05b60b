from django.apps import AppConfig


class CamerasConfig(AppConfig):
    name = "cameras"
    verbose_name = "Cameras and footage evidence"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the personal-data section)
