from django.conf import settings
from django.utils.functional import SimpleLazyObject


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "DEV_MAILBOX": settings.DEV_MAILBOX,
        "inbox_unread": SimpleLazyObject(lambda: _inbox_unread(request)),
    }


def _inbox_unread(request) -> int:
    """Residents' unread messages, for the nav (one count query, only when a page shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_officer:
        return 0
    from notifications.selectors import inbox_unread_count

    return inbox_unread_count(member=user)
