"""Who may do what with groups: plain predicates over the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from members.permissions import is_force_admin, is_officer

from .models import AreaMember, CommunityGroup, Membership

if TYPE_CHECKING:
    from members.models import Member


def is_coordinator(*, member: Member, group: CommunityGroup) -> bool:
    return Membership.objects.filter(
        group=group, member=member, role=Membership.Role.COORDINATOR, status=Membership.Status.ACTIVE
    ).exists()


def can_manage_group(*, member: Member, group: CommunityGroup) -> bool:
    """The group's own coordinators, and the officers of the organisation it belongs to."""
    if not member.is_authenticated:
        return False
    if is_officer(member=member):
        return member.organisation_id == group.organisation_id
    return is_coordinator(member=member, group=group)


def can_appoint_coordinator(*, member: Member, group: CommunityGroup) -> bool:
    return is_force_admin(member=member) and member.organisation_id == group.organisation_id


def lives_in_group_area(*, member: Member, group: CommunityGroup) -> bool:
    if group.area_id is None:
        return True
    return AreaMember.objects.filter(area_id=group.area_id, member=member).exists()


def group_open_to(*, member: Member, group: CommunityGroup) -> bool:
    """Whether a resident may join (or ask to join) without an invitation."""
    if member.is_officer or group.join_policy == CommunityGroup.JoinPolicy.INVITATION:
        return False
    return lives_in_group_area(member=member, group=group)
