"""Who may do what with cameras: plain predicates, and DRF classes over them.

* residents (coordinators included) register their own cameras and answer what they are asked;
* officers (force admins too) search, request and handle evidence, for their organisation;
* force admins also see the coverage map (counts per ward).

Coordinators are residents here: running a Neighbourhood Watch scheme gives no sight of
anyone's cameras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from members.permissions import IsAuthenticatedWithRequiredMFA, is_force_admin, is_officer

if TYPE_CHECKING:
    from members.models import Member


def can_register_cameras(*, member: Member) -> bool:
    return member.is_authenticated and not member.is_officer and member.erased_at is None


def can_search_cameras(*, member: Member) -> bool:
    return is_officer(member=member)


def can_see_coverage(*, member: Member) -> bool:
    return is_force_admin(member=member)


REGISTER_ONLY_RESIDENTS = "Registering cameras and answering footage requests is for residents."
SEARCH_ONLY_OFFICERS = "Only officers can search for cameras and request footage."
COVERAGE_ONLY_FORCE_ADMINS = "Only force admins can see the camera coverage map."


class IsCameraOwnerRole(IsAuthenticatedWithRequiredMFA):
    message = REGISTER_ONLY_RESIDENTS

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not can_register_cameras(member=request.user):
            self.message = REGISTER_ONLY_RESIDENTS
            return False
        return True


class CanSearchCameras(IsAuthenticatedWithRequiredMFA):
    message = SEARCH_ONLY_OFFICERS

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not can_search_cameras(member=request.user):
            self.message = SEARCH_ONLY_OFFICERS
            return False
        return True


class CanSeeCoverage(IsAuthenticatedWithRequiredMFA):
    message = COVERAGE_ONLY_FORCE_ADMINS

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not can_see_coverage(member=request.user):
            self.message = COVERAGE_ONLY_FORCE_ADMINS
            return False
        return True
