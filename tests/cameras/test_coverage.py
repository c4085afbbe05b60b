"""Force admins' coverage map: cameras per ward of their areas, counts only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from groups.services import area_upsert

from .conftest import square

pytestmark = pytest.mark.django_db


@pytest.fixture
def wards(kent_area):
    west, _ = area_upsert(
        code="E05CAM01", name="West Ward", level="ward", geometry=square(0.40, 51.20, 0.55, 51.40), parent=kent_area
    )
    east, _ = area_upsert(
        code="E05CAM02", name="East Ward", level="ward", geometry=square(0.55, 51.20, 0.70, 51.40), parent=kent_area
    )
    return west, east


def test_coverage_counts_cameras_per_ward_and_shows_no_camera(
    client_for, force_admin, wards, make_owner, camera_for, other_organisation
):
    for lon in (0.45, 0.50, 0.52):
        camera_for(make_owner(lon, 51.30), covers="Somebody's drive")
    camera_for(make_owner(0.60, 51.30), willing=False)
    camera_for(make_owner(0.61, 51.30, opt_in=[other_organisation]))  # not Kent's to count

    response = client_for(force_admin).get(reverse("cameras:coverage"))

    page = response.content.decode()
    rows = {r.area.name: (r.registered, r.findable) for r in response.context["page"]}
    assert rows == {"West Ward": (3, 3), "East Ward": (1, 0)}
    assert "4 cameras registered, 3 can be asked." in page
    assert "Somebody&#x27;s drive" not in page and "Somebody's drive" not in page
    api = client_for(force_admin).get(reverse("api-cameras-coverage")).json()
    assert {r["name"]: (r["registered"], r["findable"]) for r in api["results"]} == rows


def test_coverage_is_for_force_admins(client_for, officer, resident, wards):
    assert client_for(officer).get(reverse("cameras:coverage")).status_code == 403
    assert client_for(resident).get(reverse("cameras:coverage")).status_code == 403
