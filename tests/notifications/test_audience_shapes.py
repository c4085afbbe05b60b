"""Drawn shapes and circles: the officer's live count and the fan-out reach the same
members, on the edges, in holes, in several parts, and mixed with areas and groups.

The live count of an audience with shapes is computed apart from the fan-out's query
(numpy counts the members the box scan brings back), so every test here checks the
count against the deliveries the fan-out actually makes.
"""

import math
from datetime import UTC, datetime

import pytest

from groups.geometry import haversine_m
from groups.models import CommunityGroup, Membership
from members.models import MemberInterest, Preferences
from notifications.audience import (
    DELIVERED_CHANNELS,
    audience_member_ids,
    audience_size_by_channel,
    audience_spec_clean,
)
from notifications.models import Delivery, PushSubscription
from notifications.services import dispatch_fan_out
from tests.factories import MemberFactory

from .conftest import square
from .test_push import b64url, key_pair

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EARTH_RADIUS_M = 6_371_008.8


@pytest.fixture
def reach(organisation, make_dispatch):
    """`reach(spec, priority=3, category="")`: the members the fan-out delivers to, once
    it is checked that the officer's live count said exactly that, in all and per channel."""

    def resolve(spec, *, priority=3, category=""):
        spec = audience_spec_clean(spec=spec)
        counts = audience_size_by_channel(spec=spec, organisation=organisation, category=category, priority=priority)
        audience = set(audience_member_ids(spec=spec, organisation=organisation, category=category))
        dispatch = make_dispatch(spec, priority=priority, category=category)
        dispatch_fan_out(dispatch_id=dispatch.pk, now=NOON)
        delivered = Delivery.objects.filter(dispatch=dispatch)
        assert set(delivered.values_list("member_id", flat=True)) <= audience
        assert counts == {
            "members": len(audience),
            **{channel: delivered.filter(channel=channel).count() for channel in DELIVERED_CHANNELS},
        }
        return audience

    return resolve


def pks(*members):
    return {m.pk for m in members}


def test_members_on_a_drawn_edge_or_corner_are_inside_and_a_hair_outside_is_not(place, reach):
    # A right triangle: two straight edges, and a slanted one across its bounding box.
    triangle = {"type": "Polygon", "coordinates": [[[0.02, 51.02], [0.08, 51.02], [0.02, 51.08], [0.02, 51.02]]]}
    corner = place(0.02, 51.02)
    on_bottom_edge = place(0.05, 51.02)
    on_left_edge = place(0.02, 51.05)
    inside = place(0.03, 51.03)
    just_inside_the_slant = place(0.05 - 1e-6, 51.05 - 1e-6)  # about 10 cm in
    place(0.05 + 1e-6, 51.05 + 1e-6)  # in the box, 10 cm beyond the slanted edge
    place(0.06, 51.06)  # in the box, beyond the slanted edge
    place(0.05, 51.02 - 1e-7)  # a centimetre below the bottom edge
    place(0.02 - 1e-7, 51.05)  # a centimetre left of the left edge

    assert reach({"include": [{"polygon": triangle}]}) == pks(
        corner, on_bottom_edge, on_left_edge, inside, just_inside_the_slant
    )


def test_a_hole_is_outside_but_its_edge_is_not_and_every_part_of_a_multipolygon_counts(place, reach):
    ring = place(0.03, 51.03)
    in_the_hole = place(0.05, 51.05)
    on_the_holes_edge = place(0.04, 51.05)
    outer = square(0.01, 51.01, 0.09, 51.09)["coordinates"][0]
    hole = square(0.04, 51.04, 0.06, 51.06)["coordinates"][0]
    assert reach({"include": [{"polygon": {"type": "Polygon", "coordinates": [outer, hole]}}]}) == pks(
        ring, on_the_holes_edge
    )

    west = place(0.015, 51.015)
    east = place(0.085, 51.085)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            square(0.01, 51.01, 0.02, 51.02)["coordinates"],
            square(0.08, 51.08, 0.09, 51.09)["coordinates"],
        ],
    }
    # In the parts' common bounding box but in neither part: ring, in_the_hole, on_the_holes_edge.
    assert reach({"include": [{"polygon": multi}]}) == pks(west, east)
    assert in_the_hole.pk in reach(
        {"include": [{"polygon": multi}, {"radius": {"lon": 0.05, "lat": 51.05, "metres": 10}}]}
    )


def test_a_circle_reaches_who_is_within_its_radius_not_its_box(place, reach):
    lon, lat, metres = 0.05, 51.05, 1_000
    dlat = math.degrees(metres / EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(lat))
    north_inside = place(lon, lat + dlat * 0.99)
    east_inside = place(lon + dlon * 0.99, lat)
    north_beyond = place(lon, lat + dlat * 1.005)  # still in the circle's box
    corner_of_box = place(lon + dlon * 0.9, lat + dlat * 0.9)
    centre = place(lon, lat)
    assert haversine_m(lon, lat, [north_beyond.longitude], [north_beyond.latitude])[0] > metres
    assert haversine_m(lon, lat, [corner_of_box.longitude], [corner_of_box.latitude])[0] > metres

    assert reach({"include": [{"radius": {"lon": lon, "lat": lat, "metres": metres}}]}) == pks(
        north_inside, east_inside, centre
    )


def test_a_shape_excluded_from_an_area_and_a_group_takes_away_only_who_is_inside_it(wards, place, organisation, reach):
    north, _ = wards
    hotspot = square(0.04, 51.04, 0.06, 51.06)
    in_hotspot = place(0.05, 51.05)
    on_hotspot_edge = place(0.04, 51.05)
    near_hotspot = place(0.061, 51.05)
    elsewhere_in_ward = place(0.01, 51.09)
    place(0.05, 50.95)  # the south ward: never included
    place(5.0, 53.0)  # outside everything
    unplaced = MemberFactory(opt_in=[organisation])  # reached by the group, never by a shape
    group_member_in_hotspot = place(0.045, 51.045)
    group = CommunityGroup.objects.create(
        name="Street Watch", slug="street", kind="interest", organisation=organisation
    )
    for member in (unplaced, group_member_in_hotspot):
        Membership.objects.create(group=group, member=member, status=Membership.Status.ACTIVE)

    spec = {"include": [{"area": north.pk}, {"group": group.pk}], "exclude": [{"polygon": hotspot}]}
    assert reach(spec) == pks(near_hotspot, elsewhere_in_ward, unplaced)
    assert in_hotspot.pk and on_hotspot_edge.pk

    circle = {"radius": {"lon": 0.05, "lat": 51.05, "metres": 100}}
    assert reach({**spec, "exclude": [circle]}) == pks(
        on_hotspot_edge, near_hotspot, elsewhere_in_ward, unplaced, group_member_in_hotspot
    )


def test_a_shape_with_nobody_in_it_reaches_nobody_and_an_area_beside_it_still_counts(wards, place, reach):
    north, _ = wards
    in_ward = place(0.05, 51.05)
    nowhere = {"polygon": square(10, 10, 11, 11)}

    assert reach({"include": [nowhere]}) == set()
    assert reach({"include": [nowhere, {"area": north.pk}]}) == pks(in_ward)
    assert reach({"include": [{"area": north.pk}], "exclude": [nowhere]}) == pks(in_ward)


def test_interest_only_narrows_shapes_and_areas_alike(wards, place, reach):
    north, _ = wards
    in_shape_chose = place(0.02, 51.02)
    in_shape_did_not = place(0.03, 51.03)
    in_ward_chose = place(0.08, 51.08)
    in_ward_did_not = place(0.09, 51.09)
    MemberInterest.objects.filter(member__in=[in_shape_did_not, in_ward_did_not], interest="burglary").delete()
    spec = {"include": [{"polygon": square(0.01, 51.01, 0.04, 51.04)}, {"area": north.pk}], "interest_only": True}

    assert reach(spec, category="burglary") == pks(in_shape_chose, in_ward_chose)
    assert reach({**spec, "interest_only": False}, category="burglary") == pks(
        in_shape_chose, in_shape_did_not, in_ward_chose, in_ward_did_not
    )


@pytest.fixture
def vapid(settings):
    private, public = key_pair()
    settings.VAPID_PRIVATE_KEY = b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = public
    settings.VAPID_SUBJECT = "mailto:digital@kent.police.example"


@pytest.mark.parametrize("priority", [1, 3, 5])
def test_the_count_per_channel_inside_a_shape_is_what_the_fan_out_sends(vapid, wards, place, reach, priority):
    north, _ = wards
    people = [
        place(0.02, 51.02, phone="+447700900001", channel_sms=True, sms_lowest_priority=3),
        place(0.021, 51.02, phone="+447700900002", channel_sms=True, sms_lowest_priority=5, frequency="daily_digest"),
        place(0.022, 51.02, channel_sms=True, sms_lowest_priority=5),  # no phone number
        place(0.023, 51.02, channel_email=False, channel_inbox=False),  # counted, sent nothing
        place(0.024, 51.02, channel_push=True),
        place(0.025, 51.02, channel_push=True, frequency="daily_digest"),
        place(0.026, 51.02, channel_push=True),  # wants pushes, no browser
        place(0.09, 51.09, channel_push=True, phone="+447700900003", channel_sms=True, sms_lowest_priority=5),
    ]
    for n, member in enumerate(people[4:6] + people[7:]):
        PushSubscription.objects.create(
            member=member, endpoint=f"https://fcm.googleapis.com/fcm/send/{n}", p256dh="k", auth="a"
        )
    Preferences.objects.filter(member=people[0]).update(channel_email=False)
    shape = {"polygon": square(0.01, 51.01, 0.03, 51.03)}

    assert reach({"include": [shape]}, priority=priority) == pks(*people[:7])
    # The same members, and the one outside the shape but in the ward, counted in two parts.
    assert reach({"include": [shape, {"area": north.pk}]}, priority=priority) == pks(*people)


def test_a_group_excluded_from_a_shape_and_an_area_takes_away_its_members_in_both(wards, place, organisation, reach):
    north, south = wards
    in_shape = place(0.02, 51.02)
    in_shape_excluded = place(0.021, 51.021)
    in_ward_excluded = place(0.09, 51.09)
    in_south_ward = place(0.05, 50.95)
    group = CommunityGroup.objects.create(name="Opted out", slug="out", kind="interest", organisation=organisation)
    for member in (in_shape_excluded, in_ward_excluded):
        Membership.objects.create(group=group, member=member, status=Membership.Status.ACTIVE)
    shape = {"polygon": square(0.01, 51.01, 0.03, 51.03)}

    spec = {"include": [shape, {"area": north.pk}], "exclude": [{"group": group.pk}]}
    assert reach(spec) == pks(in_shape)
    assert reach({"include": [shape, {"area": south.pk}], "exclude": [{"group": group.pk}]}) == pks(
        in_shape, in_south_ward
    )
