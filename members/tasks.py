"""Celery tasks of the members app: thin wrappers over services, taking ids."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.email import member_email_send

_FIELD_LABELS = {
    "channel_inbox": "Messages in the app",
    "channel_email": "Email",
    "channel_sms": "Text messages",
    "channel_push": "Web push notifications",
    "frequency": "How often",
    "quiet_hours_start": "Quiet hours",
    "quiet_hours_end": "Quiet hours",
    "sms_lowest_priority": "Which alerts come by text",
    "interests": "What you hear about",
}


@shared_task
def send_preferences_confirmation(*, member_id: int, changed: list[str]) -> None:
    """Tell a member their settings were changed through the link in a message."""
    from .models import Member

    member = Member.objects.filter(pk=member_id, is_active=True).first()
    if member is None:
        return
    labels = sorted({_FIELD_LABELS.get(f, f) for f in changed})
    member_email_send(
        member=member,
        template="members/email/preferences_changed",
        context={"changes": labels, "preferences": member.preferences},
    )


@shared_task
def send_officer_invitation(*, member_id: int) -> None:
    """Email a new officer a link to choose their password (allauth's reset-from-key page)."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str
    from django.urls import reverse

    from .models import Member

    member = Member.objects.filter(pk=member_id, is_active=True).first()
    if member is None:
        return
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(member), "key": default_token_generator.make_token(member)},
    )
    member_email_send(
        member=member,
        template="members/email/officer_invitation",
        context={"set_password_url": settings.SITE_URL.rstrip("/") + path},
    )


@shared_task
def purge_unverified_accounts() -> int:
    """Delete sign-ups whose email was never verified within UNVERIFIED_ACCOUNT_DAYS.

    They gave us an address and a name but never showed the email is theirs: we have
    no reason to keep it. Returns how many were deleted. Runs nightly (beat).
    """
    from .selectors import members_unverified_since

    cutoff = timezone.now() - timedelta(days=settings.UNVERIFIED_ACCOUNT_DAYS)
    _, per_model = members_unverified_since(cutoff=cutoff).delete()
    return per_model.get("members.Member", 0)
