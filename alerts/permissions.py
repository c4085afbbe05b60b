"""Who may do what with alerts and group messages: plain predicates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from groups.permissions import is_coordinator
from members.permissions import is_officer

if TYPE_CHECKING:
    from groups.models import CommunityGroup
    from members.models import Member

    from .models import Alert


def can_compose_alert(*, member: Member) -> bool:
    """Officers (and force admins) of an organisation, past the MFA gate."""
    return is_officer(member=member)


def can_manage_alert(*, member: Member, alert: Alert) -> bool:
    """The officers of the organisation that wrote it: a shared desk, not one officer's property."""
    return is_officer(member=member) and member.organisation_id == alert.organisation_id


def can_message_group(*, member: Member, group: CommunityGroup) -> bool:
    """A group's own active coordinators, and nobody else (officers send alerts instead)."""
    return member.is_authenticated and not member.is_officer and is_coordinator(member=member, group=group)
