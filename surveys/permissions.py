"""Who may do what with surveys and polls: plain predicates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from members.permissions import is_officer

if TYPE_CHECKING:
    from members.models import Member

    from .models import Poll, Survey


def can_manage_survey(*, member: Member, survey: Survey) -> bool:
    """Officers build, publish and read the results of their own organisation's surveys only."""
    return is_officer(member=member) and survey.organisation_id == member.organisation_id


def can_manage_poll(*, member: Member, poll: Poll) -> bool:
    return is_officer(member=member) and poll.organisation_id == member.organisation_id


def is_resident(*, member: Member) -> bool:
    return member.is_authenticated and not member.is_officer
