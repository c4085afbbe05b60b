"""An officer's search for cameras near an incident: what it finds, what it never shows,
and the record it leaves."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from cameras.models import LONGITUDE_STRIP, Camera, CameraSearch
from cameras.selectors import cameras_near
from core.models import AuditEvent
from tests.factories import MemberFactory

from .conftest import CENTRE, near

pytestmark = pytest.mark.django_db


def found(organisation, metres=500, at=CENTRE, **options):
    return [h.id for h in cameras_near(organisation=organisation, lon=at[0], lat=at[1], metres=metres, **options)]


def test_cameras_within_the_radius_are_found_nearest_first(organisation, kent_area, make_owner, camera_for):
    far = camera_for(make_owner(*near(450)))
    close = camera_for(make_owner(*near(0, 100)))
    middle = camera_for(make_owner(*near(-200, -200)))
    camera_for(make_owner(*near(600)))  # outside 500 m
    camera_for(make_owner(*near(400, 400)))  # 566 m away, inside the bounding box but not the circle

    assert found(organisation) == [close.pk, middle.pk, far.pk]


def test_a_dashcam_is_found_by_its_owners_home_a_little_further_out(
    organisation, kent_area, make_owner, camera_for, settings
):
    settings.CAMERA_DASHCAM_HOME_METRES = 1500
    dashcam = camera_for(make_owner(*near(1800)), kind="dashcam")
    camera_for(make_owner(*near(1800)), kind="doorbell")
    camera_for(make_owner(*near(2100)), kind="dashcam")  # beyond 500 + 1500 m

    assert found(organisation) == [dashcam.pk]


def test_only_willing_reachable_confirmed_cameras_are_found(
    organisation, other_organisation, kent_area, make_owner, camera_for, settings
):
    settings.CAMERA_CONFIRM_AFTER_DAYS, settings.CAMERA_CONFIRM_GRACE_DAYS = 365, 30
    findable = camera_for(make_owner(*near(10)))
    camera_for(make_owner(*near(20)), willing=False)
    camera_for(make_owner(*near(30), opt_in=[other_organisation]))  # does not hear from Kent Police
    unverified = make_owner(*near(40))
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    camera_for(unverified)
    suspended = make_owner(*near(50))
    camera_for(suspended)
    type(suspended).objects.filter(pk=suspended.pk).update(is_active=False)
    in_grace = camera_for(make_owner(*near(60)))
    Camera.objects.filter(pk=in_grace.pk).update(confirmed_at=timezone.now() - timedelta(days=390))
    lapsed = camera_for(make_owner(*near(70)))
    Camera.objects.filter(pk=lapsed.pk).update(confirmed_at=timezone.now() - timedelta(days=396))

    assert found(organisation) == [findable.pk, in_grace.pk]


def test_cameras_outside_the_forces_area_are_not_found(organisation, kent_area, make_owner, camera_for):
    # Kent's area ends at longitude 0.70: a camera 100 m beyond it, 300 m from the point searched.
    inside = camera_for(make_owner(0.6985, 51.30))
    camera_for(make_owner(0.7015, 51.30))

    assert found(organisation, at=(0.698, 51.30)) == [inside.pk]


def test_the_prefilter_changes_nothing_but_speed(organisation, kent_area, make_owner, camera_for, settings):
    settings.CAMERA_DASHCAM_HOME_METRES = 700  # the dashcams' wider box too
    rng = random.Random(6)
    owners = [make_owner(*near(rng.uniform(-1500, 1500), rng.uniform(-1500, 1500))) for _ in range(12)]
    for _ in range(150):
        kind = rng.choice(["doorbell", "cctv", "dashcam"])
        at = near(rng.uniform(-1500, 1500), rng.uniform(-1500, 1500))
        fields = {} if kind == "dashcam" else {"longitude": at[0], "latitude": at[1]}
        camera_for(rng.choice(owners), kind=kind, **fields)

    found_any = 0
    for _ in range(15):
        at = near(rng.uniform(-1000, 1000), rng.uniform(-1000, 1000))
        metres = rng.choice([100, 300, 500, 800])
        with_box = found(organisation, metres=metres, at=at)
        assert with_box == found(organisation, metres=metres, at=at, prefilter=False)
        found_any += len(with_box)
    assert found_any > 20  # the searches found plenty to compare


def test_a_search_is_recorded_and_audited_and_shows_no_owner(client_for, officer, kent_area, owner, camera_for):
    camera_for(owner, covers="The corner shop")
    data = {
        "incident_reference": "46/777/26",
        "incident_at": (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "latitude": str(CENTRE[1]),
        "longitude": str(CENTRE[0]),
        "radius_m": "300",
    }

    response = client_for(officer).post(reverse("cameras:search"), data)

    search = CameraSearch.objects.get()
    assert response["Location"] == reverse("cameras:search_detail", kwargs={"pk": search.pk})
    assert (search.officer, search.incident_reference, search.radius_m, search.result_count) == (
        officer,
        "46/777/26",
        300,
        1,
    )
    event = AuditEvent.objects.get(action="cameras.search.created")
    assert (event.actor, event.data["incident_reference"], event.data["results"]) == (officer, "46/777/26", 1)
    page = client_for(officer).get(response["Location"]).content.decode()
    assert "The corner shop" in page
    for personal in (owner.email, owner.first_name, owner.last_name, owner.address_line1, owner.postcode):
        assert personal not in page


def test_a_search_needs_an_incident_reference(client_for, officer, kent_area):
    data = {
        "incident_at": "2026-01-01T10:00",
        "latitude": str(CENTRE[1]),
        "longitude": str(CENTRE[0]),
        "radius_m": "300",
    }

    response = client_for(officer).post(reverse("cameras:search"), data)

    assert response.status_code == 400
    assert "Incident reference" in response.content.decode()
    assert not CameraSearch.objects.exists()


def test_a_search_outside_the_organisations_area_is_refused(client_for, officer_other_org, essex_area, kent_area):
    response = client_for(officer_other_org).post(
        reverse("api-cameras-searches"),
        {
            "incident_reference": "42/1/26",
            "incident_at": timezone.now().isoformat(),
            "latitude": CENTRE[1],
            "longitude": CENTRE[0],
            "radius_m": 500,
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"latitude": ["That point is outside your organisation's area. Search inside it."]}
    assert not CameraSearch.objects.exists()


def test_cameras_whose_footage_has_lapsed_are_flagged(organisation, kent_area, make_owner, camera_for):
    short = camera_for(make_owner(*near(10)), retention_days=7)
    long = camera_for(make_owner(*near(20)), retention_days=31)

    hits = cameras_near(
        organisation=organisation,
        lon=CENTRE[0],
        lat=CENTRE[1],
        metres=100,
        incident_at=timezone.now() - timedelta(days=10),
    )

    assert [(h.id, h.lapsed) for h in hits] == [(short.pk, True), (long.pk, False)]


def test_a_coordinator_or_resident_cannot_search(client_for, resident, kent_area):
    coordinator = MemberFactory(email="coordinator@example.org")
    for member in (resident, coordinator):
        assert client_for(member).get(reverse("cameras:search")).status_code == 403
        assert client_for(member).get(reverse("api-cameras-searches")).status_code == 403


def test_the_search_page_lists_searches_in_few_queries(
    client_for, officer, kent_area, search_near, django_assert_max_num_queries
):
    for _ in range(6):
        search_near()
    client = client_for(officer)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("cameras:search")).status_code == 200


def test_the_search_follows_the_same_rules_as_cameras_findable_by(
    organisation, other_organisation, kent_area, make_owner, camera_for
):
    """The search's SQL is written out for speed; it must find exactly what the ORM's rule allows."""
    from cameras.selectors import cameras_findable_by
    from groups.geometry import haversine_m

    rng = random.Random(7)
    for i in range(40):
        owner = make_owner(
            *near(rng.uniform(-900, 900), rng.uniform(-900, 900)),
            opt_in=[organisation] if i % 5 else [other_organisation],
        )
        if i % 7 == 0:
            EmailAddress.objects.filter(user=owner).update(verified=False)
        camera = camera_for(owner, willing=bool(i % 3))
        if i % 4 == 0:
            Camera.objects.filter(pk=camera.pk).update(
                confirmed_at=timezone.now() - timedelta(days=rng.choice([10, 400]))
            )

    allowed = cameras_findable_by(organisation=organisation).values_list("pk", "longitude", "latitude")
    expected = {pk for pk, lon, lat in allowed if haversine_m(CENTRE[0], CENTRE[1], [lon], [lat])[0] <= 1000}

    assert set(found(organisation, metres=1000)) == expected
    assert expected  # something to compare


def test_searches_across_strips_and_the_greenwich_meridian_miss_nothing(organisation, make_owner, camera_for):
    """The search reads the index strip by strip (0.01° of longitude each): cameras just
    either side of a strip's edge, and either side of longitude 0 where the strips' numbers
    turn negative, are found as by measuring the distance to every camera."""
    from groups.jurisdiction import territory_forget
    from groups.services import area_upsert

    from .conftest import square

    area, _ = area_upsert(code="E23000099", name="Meridian", level="force", geometry=square(-0.2, 51.3, 0.2, 51.6))
    organisation.areas.add(area)
    territory_forget(organisation=organisation)
    at = (0.0, 51.45)
    edges = [-0.02, -0.01, 0.0, 0.01]  # strip edges within 1.4 km of the point
    cameras = {}
    for edge in edges:
        for side in (-0.00001, 0.00001):
            cameras[edge + side] = camera_for(make_owner(edge + side, 51.45)).pk
    strips = Camera.objects.annotate(strip=LONGITUDE_STRIP).values_list("strip", flat=True)
    assert set(strips) == {-3, -2, -1, 0, 1}

    by_distance = found(organisation, metres=1500, at=at, prefilter=False)
    with_strips = found(organisation, metres=1500, at=at)
    assert with_strips == by_distance
    assert set(with_strips) == set(cameras.values())  # all eight, on both sides of each edge
    # A narrower circle finds only those within it: the two by the meridian.
    assert set(found(organisation, metres=100, at=at)) == {cameras[-0.00001], cameras[0.00001]}
    territory_forget(organisation=organisation)
