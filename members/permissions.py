"""Who may do what with members and organisations: plain predicates, and DRF classes over them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.mfa.models import Authenticator
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from .models import Member


def has_mfa(*, member: Member) -> bool:
    """Whether the member has an authenticator app (TOTP) set up."""
    cached = getattr(member, "_mcv_has_mfa", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=member, type=Authenticator.Type.TOTP).exists()
        member._mcv_has_mfa = cached
    return cached


def mfa_satisfied(*, member: Member) -> bool:
    """Officers, force admins and superusers may do nothing until they have set up MFA."""
    return not member.must_use_mfa or has_mfa(member=member)


def is_officer(*, member: Member) -> bool:
    return member.is_authenticated and member.is_officer and mfa_satisfied(member=member)


def is_force_admin(*, member: Member) -> bool:
    return member.is_authenticated and member.is_force_admin and mfa_satisfied(member=member)


def can_manage_officer(*, member: Member, officer: Member) -> bool:
    return is_force_admin(member=member) and officer.is_officer and officer.organisation_id == member.organisation_id


MFA_REQUIRED_MESSAGE = (
    "Officers and force admins must set up two-factor authentication before using MCV. "
    "Set it up at /accounts/2fa/totp/activate/."
)


class IsAuthenticatedWithRequiredMFA(BasePermission):
    """The project-wide default: logged in, and staff roles have MFA set up."""

    message = "Authentication credentials were not provided."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not mfa_satisfied(member=user):
            self.message = MFA_REQUIRED_MESSAGE
            return False
        return True


class IsResident(IsAuthenticatedWithRequiredMFA):
    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and not request.user.is_officer


class IsOfficer(IsAuthenticatedWithRequiredMFA):
    message = "Only officers can do this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.is_officer
