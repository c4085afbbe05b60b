"""Who lives in which area: right at holes, multipolygon parts and shared ward edges."""

import pytest
from django.core.exceptions import ValidationError

from groups.models import Area, AreaMember, Postcode
from groups.services import area_members_recompute, area_upsert, member_areas_recompute, member_location_set
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def square(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


# Two wards sharing the edge x = 1.0; ward A has a hole; district D is a MultiPolygon of two parts.
WARD_A = {"type": "Polygon", "coordinates": [square(0.0, 51.0, 1.0, 52.0), square(0.4, 51.4, 0.6, 51.6)]}
WARD_B = {"type": "Polygon", "coordinates": [square(1.0, 51.0, 2.0, 52.0)]}
DISTRICT = {
    "type": "MultiPolygon",
    "coordinates": [[square(0.0, 51.0, 2.0, 52.0)], [square(5.0, 51.0, 6.0, 52.0)]],
}


def placed(lon, lat, **kwargs):
    member = MemberFactory(**kwargs)
    member_location_set(member=member, longitude=lon, latitude=lat)
    return member


@pytest.fixture
def geography():
    district, _ = area_upsert(code="E07000001", name="District", level="district", geometry=DISTRICT, recompute=False)
    a, _ = area_upsert(code="E05000001", name="Ward A", level="ward", geometry=WARD_A, parent=district, recompute=False)
    b, _ = area_upsert(code="E05000002", name="Ward B", level="ward", geometry=WARD_B, parent=district, recompute=False)
    return district, a, b


def members_of(area):
    return set(AreaMember.objects.filter(area=area).values_list("member__email", flat=True))


def test_recompute_honours_holes_multipolygon_parts_and_shared_edges(geography):
    district, ward_a, ward_b = geography
    placed(0.2, 51.2, email="in-a@example.org")
    placed(0.5, 51.5, email="in-hole@example.org")
    placed(1.0, 51.5, email="on-edge@example.org")
    placed(1.5, 51.5, email="in-b@example.org")
    placed(5.5, 51.5, email="second-part@example.org")
    placed(3.5, 51.5, email="between-parts@example.org")

    for area in geography:
        area_members_recompute(area_id=area.pk)

    assert members_of(ward_a) == {"in-a@example.org", "on-edge@example.org"}
    assert members_of(ward_b) == {"in-b@example.org"}
    assert members_of(district) == {
        "in-a@example.org",
        "in-hole@example.org",
        "on-edge@example.org",
        "in-b@example.org",
        "second-part@example.org",
    }
    district.refresh_from_db()
    assert district.member_count == 5


def test_a_member_on_a_shared_edge_is_in_exactly_one_ward_either_way(geography):
    _, ward_a, ward_b = geography
    member = placed(1.0, 51.7, email="edge@example.org")
    by_member = {a for a in member_areas_recompute(member=member) if a in (ward_a.pk, ward_b.pk)}
    AreaMember.objects.all().delete()
    area_members_recompute(area_id=ward_a.pk)
    area_members_recompute(area_id=ward_b.pk)
    by_area = set(AreaMember.objects.filter(member=member).values_list("area_id", flat=True))
    assert by_member == by_area == {ward_a.pk}


def test_moving_keeps_membership_and_counts_right(geography):
    _, ward_a, ward_b = geography
    member = placed(0.2, 51.2, email="mover@example.org")
    assert members_of(ward_a) == {"mover@example.org"}
    Postcode.objects.create(postcode="ME14 1XX", longitude=1.5, latitude=51.5)

    member_location_set(member=member, postcode="me141xx")

    assert members_of(ward_a) == set() and members_of(ward_b) == {"mover@example.org"}
    counts = dict(Area.objects.values_list("code", "member_count"))
    assert counts == {"E07000001": 1, "E05000001": 0, "E05000002": 1}


def test_recompute_is_idempotent_and_follows_a_redraw(geography):
    _, ward_a, _ = geography
    placed(0.2, 51.2, email="a@example.org")
    placed(0.8, 51.8, email="b@example.org")
    first = area_members_recompute(area_id=ward_a.pk)
    again = area_members_recompute(area_id=ward_a.pk)
    assert (first["members"], again["added"], again["removed"]) == (2, 0, 0)

    area_upsert(
        code="E05000001",
        name="Ward A",
        level="ward",
        geometry={"type": "Polygon", "coordinates": [square(0.0, 51.0, 0.5, 51.5)]},
        recompute=False,
    )
    redrawn = area_members_recompute(area_id=ward_a.pk)

    assert redrawn == {"members": 1, "added": 0, "removed": 1}
    assert members_of(ward_a) == {"a@example.org"}


def test_erasing_a_member_removes_them_from_every_area(geography):
    district, ward_a, _ = geography
    member = placed(0.2, 51.2, email="leaving@example.org")
    from members.services import member_erase

    member_erase(member=member, actor=member)

    assert members_of(ward_a) == set() and members_of(district) == set()
    district.refresh_from_db()
    assert district.member_count == 0


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [0, 51]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "not a valid polygon"),
        ({"type": "Polygon", "coordinates": [square(500000, 100000, 600000, 200000)]}, "WGS84"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "cannot be read"),
    ],
)
def test_bad_shapes_are_refused_with_a_reason(geometry, message):
    with pytest.raises(ValidationError, match=message):
        area_upsert(code="X", name="X", level="custom", geometry=geometry)
    assert not Area.objects.exists()
