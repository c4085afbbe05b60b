"""The signed link to a member's settings that every message carries.

It lets anyone holding the message change what the member hears without logging
in, so nobody needs to remember a password to stop unwanted messages. A change
made through it is confirmed to the member by email (see `preferences_update`).
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Member

_SALT = "members.preferences-link"


def preferences_link_token(*, member: Member) -> str:
    # The email is part of what is signed: a link stops working when the address
    # changes, or once the member is erased.
    return signing.dumps({"m": member.pk, "e": member.email}, salt=_SALT, compress=True)


def preferences_link_member(*, token: str) -> Member | None:
    """The member a link was made for, or None if it is forged, expired or stale."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.PREFERENCES_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    member = Member.objects.filter(pk=payload.get("m"), is_active=True, erased_at__isnull=True).first()
    if member is None or member.email != payload.get("e"):
        return None
    return member


def preferences_link_url(*, member: Member) -> str:
    path = reverse("members:preferences_link", kwargs={"token": preferences_link_token(member=member)})
    return urljoin(settings.SITE_URL, path)
