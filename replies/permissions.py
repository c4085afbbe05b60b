"""Who may do what with replies: plain predicates.

Reads are scoped in selectors.py (out of scope is a 404); these say what a member
who can see a thread may do with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from members.permissions import is_force_admin, is_officer

if TYPE_CHECKING:
    from members.models import Member, Organisation
    from notifications.models import Dispatch

    from .models import Thread


def is_resident(*, member: Member) -> bool:
    return member.is_authenticated and not member.is_officer


def is_replyable(*, dispatch: Dispatch) -> bool:
    """Whether residents may answer this message (its source is one of REPLY_SOURCE_TYPES)."""
    return dispatch.source_type in settings.REPLY_SOURCE_TYPES


def can_work_thread(*, member: Member, thread: Thread) -> bool:
    """An officer (or force admin) of the thread's organisation: read, answer, assign, close."""
    return is_officer(member=member) and member.organisation_id == thread.organisation_id


def can_be_assigned(*, member: Member, organisation: Organisation | int) -> bool:
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return member.is_active and member.is_officer and member.organisation_id == org_id and member.erased_at is None


def can_manage_reply_settings(*, member: Member) -> bool:
    return is_force_admin(member=member)
