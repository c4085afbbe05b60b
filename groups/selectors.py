"""Reads of areas and groups, always scoped to the member asking."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from members.models import Member, OrganisationOptIn
from members.permissions import is_officer

from .models import Area, AreaMember, CommunityGroup, Membership


def areas_visible_to(*, viewer: Member) -> QuerySet[Area]:
    """Fixed areas (force, districts, wards) for everyone; custom areas only for their organisation."""
    visible = Q(level__in=[Area.Level.FORCE, Area.Level.DISTRICT, Area.Level.WARD])
    if is_officer(member=viewer):
        visible |= Q(level=Area.Level.CUSTOM, organisation_id=viewer.organisation_id)
    return Area.objects.filter(visible).select_related("parent")


def groups_of(*, member: Member) -> QuerySet[Membership]:
    """The member's own memberships (in, or asked to join), with their groups."""
    return Membership.objects.filter(member=member).select_related("group", "group__area").order_by("group__name")


def groups_open_to(*, member: Member) -> QuerySet[CommunityGroup]:
    """Groups the resident may join or ask to join: interest groups, and place groups where they live."""
    lives_there = Exists(AreaMember.objects.filter(area_id=OuterRef("area_id"), member=member))
    already = Exists(Membership.objects.filter(group_id=OuterRef("pk"), member=member))
    return (
        CommunityGroup.objects.exclude(join_policy=CommunityGroup.JoinPolicy.INVITATION)
        .filter(Q(area__isnull=True) | lives_there)
        .exclude(already)
        .select_related("area", "organisation")
        .annotate(active_members=Count("memberships", filter=Q(memberships__status=Membership.Status.ACTIVE)))
        .order_by("kind", "name")
    )


def groups_near(*, member: Member, km: float = 5.0) -> QuerySet[CommunityGroup]:
    """Place groups whose area comes within about `km` of where the member lives (bbox test)."""
    if member.longitude is None:
        return CommunityGroup.objects.none()
    dlat = km / 111.0
    dlon = km / 70.0  # a degree of longitude is about 70 km at Kent's latitude
    return (
        CommunityGroup.objects.filter(
            area__min_lon__lte=member.longitude + dlon,
            area__max_lon__gte=member.longitude - dlon,
            area__min_lat__lte=member.latitude + dlat,
            area__max_lat__gte=member.latitude - dlat,
        )
        .select_related("area", "organisation")
        .order_by("name")
    )


def groups_managed_by(*, member: Member) -> QuerySet[CommunityGroup]:
    """Coordinators: their own groups. Officers: their organisation's groups. Others: none."""
    if is_officer(member=member):
        qs = CommunityGroup.objects.filter(organisation_id=member.organisation_id)
    elif member.is_authenticated:
        qs = CommunityGroup.objects.filter(
            memberships__member=member,
            memberships__role=Membership.Role.COORDINATOR,
            memberships__status=Membership.Status.ACTIVE,
        )
    else:
        return CommunityGroup.objects.none()
    return qs.select_related("area", "organisation").annotate(
        active_members=Count("memberships", filter=Q(memberships__status=Membership.Status.ACTIVE), distinct=True),
        pending_members=Count("memberships", filter=Q(memberships__status=Membership.Status.PENDING), distinct=True),
    )


def group_roster(*, group: CommunityGroup, viewer: Member) -> dict:
    """What a coordinator (or the organisation's officer) may see of a group's members.

    Names and contact details only of those who agreed to share them with the
    group's coordinators; of the rest, only how many there are. Pending requests show
    the name the person gave, so the coordinator can decide. An officer sees, besides,
    only members who opted in to the officer's organisation.
    """
    memberships = group.memberships.select_related("member")
    if viewer.is_officer:
        opted_in = Exists(
            OrganisationOptIn.objects.filter(member_id=OuterRef("member_id"), organisation_id=viewer.organisation_id)
        )
        memberships = memberships.filter(opted_in)
    active = group.memberships.filter(status=Membership.Status.ACTIVE)
    shared = memberships.filter(status=Membership.Status.ACTIVE).filter(
        Q(share_contact=True) | Q(role=Membership.Role.COORDINATOR)
    )
    return {
        "shared": shared.order_by("member__last_name", "member__first_name"),
        "not_shared_count": active.count() - shared.count(),
        "pending": memberships.filter(status=Membership.Status.PENDING).order_by("created_at"),
    }


def groups_visible_to(*, viewer: Member) -> QuerySet[CommunityGroup]:
    """Groups a member may see: their own, those open to them; officers: their organisation's."""
    if is_officer(member=viewer):
        return CommunityGroup.objects.filter(organisation_id=viewer.organisation_id).select_related(
            "area", "organisation"
        )
    if not viewer.is_authenticated or viewer.is_officer:
        return CommunityGroup.objects.none()
    lives_there = Exists(AreaMember.objects.filter(area_id=OuterRef("area_id"), member=viewer))
    mine = Exists(Membership.objects.filter(group_id=OuterRef("pk"), member=viewer))
    open_to_me = ~Q(join_policy=CommunityGroup.JoinPolicy.INVITATION) & (Q(area__isnull=True) | lives_there)
    return CommunityGroup.objects.filter(mine | open_to_me).select_related("area", "organisation")
