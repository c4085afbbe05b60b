"""Celery tasks of the groups app: thin wrappers over services, taking ids."""

from celery import shared_task


@shared_task(acks_late=True)
def area_members_recompute_task(*, area_id: int) -> dict[str, int]:
    """Recompute who lives in one area (after an import or a redraw). Safe to run twice."""
    from .models import Area
    from .services import area_members_recompute

    if not Area.objects.filter(pk=area_id).exists():
        return {"members": 0, "added": 0, "removed": 0}
    return area_members_recompute(area_id=area_id)


@shared_task
def send_membership_decision(*, member_id: int, group_id: int, approved: bool) -> None:
    """Tell a member whether their request to join a group was approved."""
    from core.email import member_email_send
    from members.models import Member

    from .models import CommunityGroup

    member = Member.objects.filter(pk=member_id, is_active=True).first()
    group = CommunityGroup.objects.filter(pk=group_id).first()
    if member is None or group is None:
        return
    member_email_send(
        member=member, template="groups/email/membership_decision", context={"group": group, "approved": approved}
    )


@shared_task
def send_group_invitation(*, invitation_id: int) -> None:
    """Email an invitation link to join a group (the person may not have an account yet)."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.urls import reverse

    from .memberships import invitation_token
    from .models import GroupInvitation

    invitation = GroupInvitation.objects.select_related("group", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        return
    url = settings.SITE_URL.rstrip("/") + reverse(
        "groups:invitation_accept", kwargs={"token": invitation_token(invitation)}
    )
    ctx = {"invitation": invitation, "group": invitation.group, "accept_url": url, "SITE_NAME": settings.SITE_NAME}
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] " + render_to_string("groups/email/invitation_subject.txt", ctx).strip(),
        body=render_to_string("groups/email/invitation_message.txt", ctx),
        to=[invitation.email],
    )
    message.send()
