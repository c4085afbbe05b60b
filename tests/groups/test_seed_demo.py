"""The synthetic Kent and Medway built by `seed_demo`: a county that tiles, people in it, groups run by someone."""

from io import StringIO

import pytest
import shapely
from allauth.account.models import EmailAddress
from django.core.management import call_command

from core.models import AuditEvent
from groups.models import Area, AreaMember, CommunityGroup, Membership, Postcode
from members.models import ConsentRecord, Member, MemberInterest, OrganisationOptIn, Preferences

pytestmark = pytest.mark.django_db

DISTRICTS = {
    "Ashford",
    "Canterbury",
    "Dartford",
    "Dover",
    "Folkestone and Hythe",
    "Gravesham",
    "Maidstone",
    "Medway",
    "Sevenoaks",
    "Swale",
    "Thanet",
    "Tonbridge and Malling",
    "Tunbridge Wells",
}
SYNTHETIC = "@demo.invalid"


def seed(members=60) -> str:
    out = StringIO()
    call_command("seed_demo", "--members", str(members), stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    return seed()


def areas_of(member, level):
    return list(Area.objects.filter(memberships__member=member, level=level))


def test_thirteen_districts_tile_the_county_and_wards_tile_their_district(seeded):
    force = Area.objects.get(level=Area.Level.FORCE)
    districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
    assert force.name == "Kent and Medway (synthetic)"
    assert {d.name for d in districts} == DISTRICTS
    assert all(d.parent_id == force.pk and d.code.startswith("SYN-D-") for d in districts)
    assert_tiles(force.shape, [d.shape for d in districts])
    # Every demo organisation is responsible for the county: its officers can target any of it.
    assert set(force.responsible_organisations.values_list("slug", flat=True)) >= {"kent-police", "kent-nhwa"}

    for district in districts:
        wards = list(district.children.filter(level=Area.Level.WARD))
        assert 3 <= len(wards) <= 6, district.name
        assert all(w.code.startswith("SYN-W-") and w.name.startswith(district.name) for w in wards)
        assert_tiles(district.shape, [w.shape for w in wards])
    # Every ward hangs under a district, and no two wards anywhere overlap.
    wards = list(Area.objects.filter(level=Area.Level.WARD).select_related("parent"))
    assert {w.parent.level for w in wards} == {Area.Level.DISTRICT}
    assert_no_overlap([w.shape for w in wards])


def assert_tiles(whole, parts):
    """The parts cover the whole, and no two of them overlap (up to the 1e-6 degree grid)."""
    assert_no_overlap(parts)
    union = shapely.union_all(parts)
    assert union.symmetric_difference(whole).area < 1e-5 * whole.area


def assert_no_overlap(shapes):
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(tree.geometries[left[pairs]], tree.geometries[right[pairs]]))
    assert overlap.sum() < 1e-9


def test_the_demo_resident_lives_in_maidstone_in_one_ward_and_coordinates_a_scheme(seeded):
    resident = Member.objects.get(email="resident@example.org")
    assert resident.postcode == "ME14 1XX"
    assert Postcode.objects.get(postcode="ME14 1XX").is_synthetic
    assert resident.longitude is not None
    [district] = areas_of(resident, Area.Level.DISTRICT)
    [ward] = areas_of(resident, Area.Level.WARD)
    assert district.name == "Maidstone"
    assert ward.parent_id == district.pk

    coordinating = Membership.objects.get(member=resident, role=Membership.Role.COORDINATOR)
    scheme = coordinating.group
    assert (scheme.kind, coordinating.status) == (CommunityGroup.Kind.SCHEME, Membership.Status.ACTIVE)
    assert scheme.area.level == Area.Level.CUSTOM
    assert AreaMember.objects.filter(area=scheme.area, member=resident).exists()  # they live in its streets
    assert f"resident@example.org coordinates the scheme “{scheme.name}”" in seeded
    interest = Membership.objects.filter(member=resident, group__kind=CommunityGroup.Kind.INTEREST)
    assert interest.count() == 1
    assert interest.get().role == Membership.Role.MEMBER


def test_every_synthetic_member_lives_in_one_district_and_one_ward_and_signed_up_properly(seeded):
    members = list(Member.objects.filter(email__endswith=SYNTHETIC))
    assert len(members) == 60
    assert not any(m.has_usable_password() for m in members)
    levels = {m.pk: [] for m in members}
    for member_id, level, code, parent_code in AreaMember.objects.filter(member__in=members).values_list(
        "member_id", "area__level", "area__code", "area__parent__code"
    ):
        levels[member_id].append((level, code, parent_code))
    for member in members:
        districts = [code for level, code, _ in levels[member.pk] if level == Area.Level.DISTRICT]
        wards = [(code, parent) for level, code, parent in levels[member.pk] if level == Area.Level.WARD]
        assert len(districts) == 1, member.email
        assert len(wards) == 1, member.email
        assert wards[0][1] == districts[0]  # the ward is in the district
        assert Postcode.objects.filter(postcode=member.postcode, is_synthetic=True).exists()

    assert EmailAddress.objects.filter(user__in=members, verified=True, primary=True).count() == 60
    assert Preferences.objects.filter(member__in=members).count() == 60
    assert not Member.objects.filter(email__endswith=SYNTHETIC, interests__isnull=True).exists()
    police = OrganisationOptIn.objects.filter(member__in=members, organisation__slug="kent-police")
    assert police.count() == 60
    # Every opt-in was given with the consent text of the time, recorded.
    for opt_in in OrganisationOptIn.objects.filter(member__in=members):
        assert ConsentRecord.objects.filter(
            member_id=opt_in.member_id, organisation_id=opt_in.organisation_id, given=True
        ).exists()


def test_groups_of_every_kind_each_with_a_coordinator_and_all_synthetic(seeded):
    groups = list(CommunityGroup.objects.all())
    assert {g.kind for g in groups} == set(CommunityGroup.Kind.values)
    interest = {g.name: g.join_policy for g in groups if g.kind == CommunityGroup.Kind.INTEREST}
    assert set(interest) == {
        "Rural Watch",
        "Business Watch",
        "Retail",
        "Licensed Premises",
        "Universities",
        "Horse Watch",
    }
    assert set(interest.values()) == set(CommunityGroup.JoinPolicy.values)
    for group in groups:
        coordinators = group.memberships.filter(role=Membership.Role.COORDINATOR)
        synthetic = coordinators.filter(member__email__endswith=SYNTHETIC)
        assert synthetic.filter(status=Membership.Status.ACTIVE, share_contact=True).exists(), group.name
        assert group.memberships.filter(role=Membership.Role.MEMBER).exists(), group.name

    schemes = [g for g in groups if g.kind == CommunityGroup.Kind.SCHEME]
    for scheme in schemes:
        assert (scheme.organisation.slug, scheme.join_policy) == ("kent-nhwa", CommunityGroup.JoinPolicy.APPROVAL)
        assert scheme.area.code.startswith("SYN-S-")
        ward = scheme.area.parent
        assert ward.level == Area.Level.WARD
        assert ward.shape.buffer(1e-6).contains(scheme.area.shape)
        # Its members live in its streets.
        members = scheme.memberships.filter(member__email__endswith=SYNTHETIC).values_list("member", flat=True)
        assert AreaMember.objects.filter(area=scheme.area, member__in=members).count() == len(members)
    scheme_memberships = Membership.objects.filter(group__kind=CommunityGroup.Kind.SCHEME)
    assert {(m.status, m.share_contact) for m in scheme_memberships} >= {
        (Membership.Status.ACTIVE, True),
        (Membership.Status.ACTIVE, False),
        (Membership.Status.PENDING, True),
        (Membership.Status.PENDING, False),
    }

    assert all(g.is_synthetic for g in groups)
    assert not Area.objects.filter(is_synthetic=False).exists()
    assert not Postcode.objects.filter(is_synthetic=False).exists()
    assert Postcode.objects.count() >= 3 * Area.objects.filter(level=Area.Level.WARD).count()
    assert "13 districts" in seeded
    assert "60 members" in seeded
    assert "all synthetic" in seeded


COUNTED = (
    Area,
    AreaMember,
    Postcode,
    Member,
    EmailAddress,
    Preferences,
    MemberInterest,
    OrganisationOptIn,
    ConsentRecord,
    CommunityGroup,
    Membership,
    AuditEvent,
)


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_running_it_again_changes_nothing(seeded):
    before = counts()
    shapes = dict(Area.objects.values_list("code", "updated_at"))
    seed()
    assert counts() == before
    assert dict(Area.objects.values_list("code", "updated_at")) == shapes


def test_a_bigger_run_adds_only_the_missing_residents_and_places_everyone(seeded):
    seed(members=90)
    members = Member.objects.filter(email__endswith=SYNTHETIC)
    assert members.count() == 90
    placed = AreaMember.objects.filter(member__in=members, area__level=Area.Level.WARD)
    assert placed.count() == 90
    assert Area.objects.get(level=Area.Level.FORCE).member_count == 90 + 2  # and the two demo residents


def test_demo_residents_made_before_the_county_existed_are_placed_in_it():
    # What an older seed_demo left: the demo resident with a postcode nobody could place.
    from tests.factories import MemberFactory

    resident = MemberFactory(email="resident@example.org", postcode="ME14 1XX")
    assert resident.longitude is None

    seed(members=0)

    resident.refresh_from_db()
    assert resident.location_source == "postcode"
    assert [a.name for a in areas_of(resident, Area.Level.DISTRICT)] == ["Maidstone"]
    assert len(areas_of(resident, Area.Level.WARD)) == 1
