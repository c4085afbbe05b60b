"""Who an officer's audience reaches: areas, groups, drawn shapes, circles, exclusions,
interests, and only residents who opted in to the organisation."""

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError

from groups.models import CommunityGroup, Membership
from members.models import Member, MemberInterest
from notifications.audience import audience_member_ids, audience_size_by_channel, audience_spec_clean
from tests.factories import MemberFactory, OfficerFactory

from .conftest import square

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(wards, place, organisation, other_organisation):
    """Who lives where, and who of them Kent Police may message."""
    return {
        "north": place(0.05, 51.05),
        "north_east": place(0.09, 51.09),
        "south": place(0.05, 50.95),
        "not_opted_in": place(0.05, 51.05, opt_in=[]),
        "other_force_only": place(0.05, 51.05, opt_in=[other_organisation]),
        "erased": place(0.05, 51.05),
        "unverified": place(0.05, 51.05),
        "elsewhere": place(5.0, 53.0),
    }


@pytest.fixture
def audience_of(town, organisation):
    """`audience_of(spec, category="")`: the names (keys of `town`) the audience reaches."""
    names = {m.pk: name for name, m in town.items()}
    Member.objects.filter(pk=town["erased"].pk).update(erased_at="2026-01-01T00:00Z", is_active=False)
    EmailAddress.objects.filter(user=town["unverified"]).update(verified=False)

    def resolve(spec, category=""):
        ids = audience_member_ids(spec=spec, organisation=organisation, category=category)
        return {names.get(pk, pk) for pk in ids}

    return resolve


def test_an_area_reaches_its_opted_in_verified_residents_only(wards, audience_of, organisation):
    north, _ = wards
    OfficerFactory(organisation=organisation)  # staff are never an audience

    assert audience_of({"include": [{"area": north.pk}]}) == {"north", "north_east"}


def test_parts_add_up_and_exclusions_take_away(wards, audience_of):
    north, south = wards
    both = {"include": [{"area": north.pk}, {"area": south.pk}]}
    assert audience_of(both) == {"north", "north_east", "south"}

    # A ward minus a drawn hotspot around the north-east corner.
    minus_hotspot = {**both, "exclude": [{"polygon": square(0.08, 51.08, 0.1, 51.1)}]}
    assert audience_of(minus_hotspot) == {"north", "south"}
    assert audience_of({**both, "exclude": [{"area": south.pk}]}) == {"north", "north_east"}


def test_a_drawn_polygon_and_a_circle_test_exactly_after_the_box(audience_of):
    # A triangle whose bounding box holds both northern residents, but only one is inside it.
    triangle = {"type": "Polygon", "coordinates": [[[0.0, 51.0], [0.1, 51.0], [0.0, 51.1], [0.0, 51.0]]]}
    assert audience_of({"include": [{"polygon": triangle}]}) == {"north"}
    # "north_east" is 5.2 km from "north", "south" 11.1 km.
    assert audience_of({"include": [{"radius": {"lon": 0.05, "lat": 51.05, "metres": 2000}}]}) == {"north"}
    assert audience_of({"include": [{"radius": {"lon": 0.05, "lat": 51.05, "metres": 7000}}]}) == {
        "north",
        "north_east",
    }
    assert audience_of({"include": [{"radius": {"lon": 0.05, "lat": 51.05, "metres": 12000}}]}) == {
        "north",
        "north_east",
        "south",
    }
    # The circle's box contains "north", the circle does not (1.1 km away, 1 km radius).
    assert audience_of({"include": [{"radius": {"lon": 0.05, "lat": 51.06, "metres": 1000}}]}) == set()


def test_a_group_reaches_its_active_members(town, audience_of, organisation):
    group = CommunityGroup.objects.create(name="Rural Watch", slug="rural", kind="interest", organisation=organisation)
    Membership.objects.create(group=group, member=town["south"], status=Membership.Status.ACTIVE)
    Membership.objects.create(group=group, member=town["north"], status=Membership.Status.PENDING)
    Membership.objects.create(group=group, member=town["not_opted_in"], status=Membership.Status.ACTIVE)

    assert audience_of({"include": [{"group": group.pk}]}) == {"south"}


def test_interest_only_narrows_to_those_who_chose_the_category(wards, town, audience_of):
    north, _ = wards
    MemberInterest.objects.filter(member=town["north"], interest="burglary").delete()
    spec = {"include": [{"area": north.pk}], "interest_only": True}

    assert audience_of(spec, category="burglary") == {"north_east"}
    assert audience_of({**spec, "interest_only": False}, category="burglary") == {"north", "north_east"}
    # A message with no category is for everyone, interest_only or not.
    assert audience_of(spec) == {"north", "north_east"}


def test_an_audience_with_nothing_to_include_reaches_nobody(audience_of, wards):
    assert audience_of({"include": []}) == set()
    assert audience_of({"include": [{"polygon": square(10, 10, 11, 11)}]}) == set()
    assert audience_of({"include": [{"polygon": square(10, 10, 11, 11)}], "exclude": [{"area": wards[0].pk}]}) == set()


def test_channel_counts_for_the_officer_in_one_or_two_queries(wards, place, organisation, django_assert_num_queries):
    north, _ = wards
    place(0.01, 51.01, phone="+447700900001", channel_sms=True, sms_lowest_priority=3)
    place(0.02, 51.02, phone="+447700900002", channel_sms=True, sms_lowest_priority=1)
    place(0.03, 51.03, channel_sms=True, sms_lowest_priority=5)  # no phone number
    place(0.04, 51.04, channel_email=False, channel_inbox=False)
    spec = {"include": [{"area": north.pk}]}

    with django_assert_num_queries(1):
        counts = audience_size_by_channel(spec=spec, organisation=organisation, priority=3)
    assert counts == {"members": 4, "inbox": 3, "email": 3, "sms": 1, "push": 0}
    assert audience_size_by_channel(spec=spec, organisation=organisation, priority=1)["sms"] == 2

    drawn = {
        "include": [{"polygon": square(0, 51, 0.1, 51.1)}],
        "exclude": [{"radius": {"lon": 0.04, "lat": 51.04, "metres": 100}}],
    }
    # Shapes alone: one scan of their boxes, counted there.
    with django_assert_num_queries(1):
        counts = audience_size_by_channel(spec=drawn, organisation=organisation, priority=3)
    assert counts == {"members": 3, "inbox": 3, "email": 3, "sms": 1, "push": 0}
    # Shapes and an area: the members outside the shapes' boxes are counted in a second query.
    drawn_and_area = {**drawn, "include": [{"polygon": square(0, 51, 0.015, 51.015)}, {"area": north.pk}]}
    with django_assert_num_queries(2):
        counts = audience_size_by_channel(spec=drawn_and_area, organisation=organisation, priority=3)
    assert counts == {"members": 3, "inbox": 3, "email": 3, "sms": 1, "push": 0}


def test_the_members_of_another_organisation_are_never_counted(wards, place, other_organisation):
    north, _ = wards
    place(0.05, 51.05)
    counts = audience_size_by_channel(
        spec={"include": [{"area": north.pk}]}, organisation=other_organisation, priority=3
    )
    assert counts == {"members": 0, "inbox": 0, "email": 0, "sms": 0, "push": 0}


def test_the_spec_is_checked_and_normalised():
    clean = audience_spec_clean(
        spec={"include": [{"area": "7"}, {"radius": {"lon": "0.5", "lat": 51, "metres": 300}}], "interest_only": 1}
    )
    assert clean == {
        "include": [{"area": 7}, {"radius": {"lon": 0.5, "lat": 51.0, "metres": 300.0}}],
        "exclude": [],
        "interest_only": True,
    }
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    for bad, says in [
        ({"include": []}, "at least one"),
        ({"include": [{"area": 1}], "everyone": True}, "Unknown audience keys"),
        ({"include": [{"ward": 1}]}, "Unknown audience part"),
        ({"include": [{"area": True}]}, "by its id"),
        ({"include": [{"area": "²"}]}, "by its id"),  # "²".isdigit(), yet int("²") raises
        ({"include": [{"group": 2**64}]}, "by its id"),  # would overflow in the database
        ({"include": [{"members": [1, "²"]}]}, "by their ids"),
        ({"include": [{"polygon": bowtie}]}, "not a valid polygon"),
        ({"include": [{"radius": {"lon": 0, "lat": 51, "metres": 500_000}}]}, "radius"),
        ({"include": [{"radius": {"lon": 0, "lat": 51}}]}, "lon, lat and metres"),
        ([{"area": 1}], "must be an object"),
    ]:
        with pytest.raises(ValidationError, match=says):
            audience_spec_clean(spec=bad)


def test_members_who_have_not_been_placed_are_reached_by_groups_but_not_by_shapes(place, organisation, wards):
    unplaced = MemberFactory(opt_in=[organisation])
    group = CommunityGroup.objects.create(name="Horse Watch", slug="horse", kind="interest", organisation=organisation)
    Membership.objects.create(group=group, member=unplaced)
    spec = {"include": [{"group": group.pk}, {"polygon": square(-180, -90, 180, 90)}]}

    assert list(audience_member_ids(spec=spec, organisation=organisation)) == [unplaced.pk]
