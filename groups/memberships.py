"""The verbs of community groups: join, leave, approve, remove, invite, appoint coordinators."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core import personal_data
from core.services import audit_record
from members.models import Member

from . import tasks
from .models import CommunityGroup, GroupInvitation, Membership
from .permissions import can_appoint_coordinator, can_manage_group, lives_in_group_area

_INVITATION_SALT = "groups.invitation"


@transaction.atomic
def group_join(*, member: Member, group: CommunityGroup, share_contact: bool = False) -> Membership:
    """A resident joins a group, or asks to, as its join policy says. Joining twice changes nothing."""
    existing = Membership.objects.filter(group=group, member=member).first()
    if existing is not None:
        return existing
    if member.is_officer:
        raise PermissionDenied("Officers manage groups; they do not join them.")
    if group.join_policy == CommunityGroup.JoinPolicy.INVITATION:
        raise PermissionDenied("This group is by invitation only. Ask its coordinator for an invitation.")
    if not lives_in_group_area(member=member, group=group):
        raise PermissionDenied(f"This group is for people who live in {group.area.name}.")
    status = (
        Membership.Status.ACTIVE if group.join_policy == CommunityGroup.JoinPolicy.OPEN else Membership.Status.PENDING
    )
    membership = Membership.objects.create(group=group, member=member, status=status, share_contact=share_contact)
    audit_record(
        actor=member,
        action="groups.membership.joined" if status == Membership.Status.ACTIVE else "groups.membership.requested",
        target=membership,
        organisation=group.organisation,
    )
    return membership


@transaction.atomic
def group_leave(*, member: Member, group: CommunityGroup) -> bool:
    """Leave a group (or withdraw a request to join). Returns whether they were in it."""
    deleted, _ = Membership.objects.filter(group=group, member=member).delete()
    if deleted:
        audit_record(actor=member, action="groups.membership.left", target=group, organisation=group.organisation)
    return bool(deleted)


@transaction.atomic
def membership_share_contact_set(*, member: Member, group: CommunityGroup, share: bool) -> Membership:
    membership = Membership.objects.select_for_update().get(group=group, member=member)
    if membership.share_contact != share:
        membership.share_contact = share
        membership.save(update_fields=["share_contact"])
    return membership


@transaction.atomic
def membership_decide(*, actor: Member, membership: Membership, approve: bool) -> Membership | None:
    """A coordinator (or the organisation's officer) approves or declines someone who asked to join."""
    group = membership.group
    if not can_manage_group(member=actor, group=group):
        raise PermissionDenied("Only this group's coordinators can approve joiners.")
    if membership.status != Membership.Status.PENDING:
        raise ValidationError("This request has already been decided.")
    member_id = membership.member_id
    if approve:
        membership.status = Membership.Status.ACTIVE
        membership.decided_at = timezone.now()
        membership.save(update_fields=["status", "decided_at"])
        result: Membership | None = membership
    else:
        membership.delete()
        result = None
    audit_record(
        actor=actor,
        action="groups.membership.approved" if approve else "groups.membership.declined",
        target=group,
        organisation=group.organisation,
    )
    tasks.send_membership_decision.delay_on_commit(member_id=member_id, group_id=group.pk, approved=approve)
    return result


@transaction.atomic
def membership_remove(*, actor: Member, membership: Membership) -> None:
    """A coordinator removes a member from their group."""
    group = membership.group
    if not can_manage_group(member=actor, group=group):
        raise PermissionDenied("Only this group's coordinators can remove members.")
    if membership.member_id == actor.pk:
        raise ValidationError("To leave the group yourself, use Leave.")
    membership.delete()
    audit_record(actor=actor, action="groups.membership.removed", target=group, organisation=group.organisation)


@transaction.atomic
def coordinator_appoint(*, actor: Member, group: CommunityGroup, member: Member) -> Membership:
    """A force admin makes a member the coordinator of one of their organisation's groups."""
    if not can_appoint_coordinator(member=actor, group=group):
        raise PermissionDenied("Only the organisation's force admins appoint coordinators.")
    if member.is_officer or member.erased_at is not None or not member.is_active:
        raise ValidationError({"member": "Only an active resident can be a coordinator."})
    membership, _ = Membership.objects.update_or_create(
        group=group,
        member=member,
        defaults={
            "role": Membership.Role.COORDINATOR,
            "status": Membership.Status.ACTIVE,
            "decided_at": timezone.now(),
        },
    )
    audit_record(actor=actor, action="groups.coordinator.appointed", target=membership, organisation=group.organisation)
    return membership


def invitation_token(invitation: GroupInvitation) -> str:
    return signing.dumps({"i": invitation.pk}, salt=_INVITATION_SALT)


@transaction.atomic
def invitation_create(*, actor: Member, group: CommunityGroup, email: str) -> GroupInvitation:
    """A coordinator invites someone by email; the link in the email lets them join."""
    if not can_manage_group(member=actor, group=group):
        raise PermissionDenied("Only this group's coordinators can invite people.")
    email = email.strip().lower()
    invitation = GroupInvitation.objects.create(group=group, email=email, invited_by=actor)
    audit_record(actor=actor, action="groups.invitation.created", target=group, organisation=group.organisation)
    tasks.send_group_invitation.delay_on_commit(invitation_id=invitation.pk)
    return invitation


def invitation_from_token(token: str) -> GroupInvitation | None:
    try:
        data = signing.loads(token, salt=_INVITATION_SALT, max_age=60 * 60 * 24 * 30)
    except signing.BadSignature:
        return None
    return GroupInvitation.objects.select_related("group").filter(pk=data.get("i")).first()


@transaction.atomic
def invitation_accept(*, member: Member, invitation: GroupInvitation) -> Membership:
    """The invited person joins, whatever the join policy: the coordinator vouched for them."""
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation has already been used.")
    if invitation.email.lower() != member.email.lower():
        raise PermissionDenied("This invitation was sent to another email address.")
    if member.is_officer:
        raise PermissionDenied("Officers manage groups; they do not join them.")
    membership, created = Membership.objects.get_or_create(
        group=invitation.group, member=member, defaults={"status": Membership.Status.ACTIVE}
    )
    if not created and membership.status == Membership.Status.PENDING:
        membership.status = Membership.Status.ACTIVE
        membership.save(update_fields=["status"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = member
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=member,
        action="groups.invitation.accepted",
        target=invitation.group,
        organisation=invitation.group.organisation,
    )
    return membership


# --- personal data


def _export_groups(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "group": m.group.name,
            "kind": m.group.kind,
            "role": m.role,
            "status": m.status,
            "share_contact_with_coordinators": m.share_contact,
            "since": m.created_at.isoformat(),
        }
        for m in Membership.objects.filter(member=member).select_related("group")
    ]


def _erase_groups(member: Member) -> None:
    Membership.objects.filter(member=member).delete()
    GroupInvitation.objects.filter(email__iexact=member.email).delete()


personal_data.register("groups", export=_export_groups, erase=_erase_groups)
