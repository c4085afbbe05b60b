from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        # A quick poll's one-tap answer links, signed per delivery, in the alert's email.
        from notifications.personalise import register

        from .email import poll_email_block

        register(poll_email_block)
