"""Reads of members and organisations, always scoped to the member asking."""

from __future__ import annotations

from datetime import datetime

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, QuerySet

from .models import ConsentRecord, Member, Organisation, OrganisationOptIn
from .permissions import is_force_admin, is_officer


def organisations_active() -> QuerySet[Organisation]:
    return Organisation.objects.filter(is_active=True)


def organisations_with_opt_in(*, member: Member) -> QuerySet[Organisation]:
    """Every active organisation, each annotated `opted_in` for this member."""
    return organisations_active().annotate(
        opted_in=Exists(OrganisationOptIn.objects.filter(member=member, organisation=OuterRef("pk")))
    )


def consent_history(*, member: Member) -> QuerySet[ConsentRecord]:
    return member.consent_records.select_related("consent_text", "organisation").order_by("-at", "-id")


def members_reachable_by(*, organisation: Organisation) -> QuerySet[Member]:
    """The residents who opted in to hearing from (and being seen by) this organisation."""
    return Member.objects.filter(
        is_active=True,
        erased_at__isnull=True,
        organisation_opt_ins__organisation=organisation,
    )


def members_visible_to(*, viewer: Member) -> QuerySet[Member]:
    """The residents an officer may see: only those who opted in to the officer's organisation."""
    if not is_officer(member=viewer):
        return Member.objects.none()
    return members_reachable_by(organisation=viewer.organisation).filter(role=Member.Role.RESIDENT)


def officers_visible_to(*, viewer: Member) -> QuerySet[Member]:
    """A force admin's own organisation's officers and admins."""
    if not is_force_admin(member=viewer):
        return Member.objects.none()
    return Member.objects.filter(
        organisation=viewer.organisation,
        role__in=[Member.Role.OFFICER, Member.Role.FORCE_ADMIN],
    ).order_by("last_name", "first_name", "id")


def members_unverified_since(*, cutoff: datetime) -> QuerySet[Member]:
    """Residents who signed up before `cutoff` and never verified any email address."""
    return Member.objects.filter(
        role=Member.Role.RESIDENT,
        date_joined__lt=cutoff,
        last_login__isnull=True,
        erased_at__isnull=True,
    ).exclude(Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)))
