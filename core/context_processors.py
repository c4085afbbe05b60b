from django.conf import settings


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "DEV_MAILBOX": settings.DEV_MAILBOX,
    }
