"""The areas API (GeoJSON) through DRF's API client: officers only, scoped to their organisation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from groups.models import Area, AreaMember
from groups.services import area_draw, area_upsert
from tests.groups import test_area_pages as pages
from tests.groups.test_area_pages import BOW_TIE, polygon

pytestmark = pytest.mark.django_db

# The geography and people of the page tests (fixtures).
geography, residents, kent_hotspot = pages.geography, pages.residents, pages.kent_hotspot

PROPERTIES = {"id", "code", "name", "level", "parent", "member_count", "members_computed_at", "is_synthetic"}


@pytest.fixture
def api():
    def as_member(member):
        client = APIClient()
        if member is not None:
            client.force_login(member)
        return client

    return as_member


def test_officer_gets_areas_as_a_geojson_feature_collection(api, officer, residents, geography):
    response = api(officer).get("/api/v1/areas/")

    assert response.status_code == 200
    body = response.json()
    assert (body["type"], body["count"], body["limit"], body["offset"], body["next"]) == (
        "FeatureCollection",
        4,
        50,
        0,
        None,
    )
    assert [f["properties"]["name"] for f in body["features"]] == ["Kent", "Maidstone", "Bridge", "High Street"]
    high = body["features"][3]
    assert high == {
        "type": "Feature",
        "id": geography["high"].pk,
        "bbox": [0.4, 51.2, 0.5, 51.35],
        "geometry": geography["high"].geometry,
        "properties": {
            "id": geography["high"].pk,
            "code": "E05005001",
            "name": "High Street",
            "level": "ward",
            "parent": "E07000110",
            "member_count": 2,
            "members_computed_at": None,
            "is_synthetic": False,
        },
    }


def test_areas_filter_by_level_and_parent_code(api, officer, geography):
    client = api(officer)

    def names(**params):
        return [f["properties"]["name"] for f in client.get("/api/v1/areas/", params).json()["features"]]

    assert names(level="ward") == ["Bridge", "High Street"]
    assert names(parent="E23000032") == ["Maidstone"]
    assert names(level="ward", parent="E07000110") == ["Bridge", "High Street"]
    assert names(parent="NO-SUCH-CODE") == []


def test_an_unknown_level_is_a_400_saying_so(api, officer, geography):
    response = api(officer).get("/api/v1/areas/", {"level": "county"})
    assert response.status_code == 400
    assert response.json() == {"level": ["Select a valid choice. county is not one of the available choices."]}


def test_limit_pages_the_collection_and_is_capped(api, officer, geography):
    client = api(officer)

    first = client.get("/api/v1/areas/", {"limit": 3}).json()
    rest = client.get(first["next"]).json()
    huge = client.get("/api/v1/areas/", {"limit": 100000}).json()

    assert [len(first["features"]), first["count"], first["limit"]] == [3, 4, 3]
    assert first["next"].endswith("/api/v1/areas/?limit=3&offset=3")
    assert [f["properties"]["name"] for f in rest["features"]] == ["High Street"]
    assert huge["limit"] == 200


@pytest.mark.parametrize("how_many", [5, 50])
def test_area_list_queries_do_not_grow_with_the_areas(api, officer, geography, how_many, django_assert_max_num_queries):
    for i in range(how_many):
        area_upsert(
            code=f"C{i:03}",
            name=f"Area {i:03}",
            level="ward",
            geometry=polygon(0.4, 51.2, 0.41, 51.21),
            parent=geography["high"],
            recompute=False,
        )
    client = api(officer)
    # Session, member, MFA check, the count, one for the page of areas with their parents.
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/areas/")
    assert len(response.json()["features"]) == min(how_many + 4, 50)


def test_one_area_is_a_feature_with_its_exact_shape(api, officer, geography):
    response = api(officer).get(f"/api/v1/areas/{geography['maidstone'].pk}/")

    assert response.status_code == 200
    feature = response.json()
    assert feature["geometry"] == geography["maidstone"].geometry
    assert feature["bbox"] == [0.4, 51.2, 0.6, 51.35]
    assert feature["properties"]["parent"] == "E23000032"
    assert set(feature["properties"]) == PROPERTIES


def test_officer_draws_an_area_and_members_inside_are_counted(
    api, officer, residents, geography, django_capture_on_commit_callbacks
):
    client = api(officer)
    assert not Area.objects.filter(level="custom").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/areas/",
            {"name": "High Street hotspot", "geometry": polygon(0.44, 51.24, 0.47, 51.31), "parent": "E07000110"},
            format="json",
        )

    assert response.status_code == 201
    area = Area.objects.get(level="custom")
    assert response["Location"] == f"/api/v1/areas/{area.pk}/"
    feature = response.json()
    assert (feature["type"], feature["id"], feature["bbox"]) == ("Feature", area.pk, [0.44, 51.24, 0.47, 51.31])
    assert (feature["properties"]["level"], feature["properties"]["parent"]) == ("custom", "E07000110")
    assert area.organisation == officer.organisation
    members = set(AreaMember.objects.filter(area=area).values_list("member__email", flat=True))
    assert members == {"high.one@example.org", "high.two@example.org"}
    # The count, once the drawing committed and the recompute ran.
    counted = client.get(f"/api/v1/areas/{area.pk}/").json()["properties"]
    assert counted["member_count"] == 2
    assert counted["members_computed_at"] is not None


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"name": "Bad", "geometry": BOW_TIE},
            {"geometry": ["The shape is not a valid polygon: Self-intersection[0.45 51.25]."]},
        ),
        (
            {"name": "Bad", "geometry": {"type": "LineString", "coordinates": [[0.4, 51.2], [0.5, 51.3]]}},
            {"geometry": ["The shape must be a Polygon or MultiPolygon, not LineString."]},
        ),
        (
            {"name": "Bad", "geometry": {"type": "Polygon", "coordinates": [[[0.4, 51.2], [0.5, 51.2], [0.4, 51.2]]]}},
            {"geometry": ["The shape is not a valid polygon: Too few points in geometry component[0.4 51.2]."]},
        ),
        (
            {"name": "Bad", "geometry": polygon(100.0, 51.0, 200.0, 52.0)},
            {"geometry": ["The shape is not in longitude/latitude (WGS84) coordinates."]},
        ),
        ({"name": "", "geometry": polygon(0.4, 51.2, 0.5, 51.3)}, {"name": ["This field may not be blank."]}),
        (
            {"name": "Bad", "geometry": polygon(0.4, 51.2, 0.5, 51.3), "parent": "NOPE"},
            {"parent": ["No area you can see has this code."]},
        ),
        ({"name": "Bad"}, {"geometry": ["This field is required."]}),
    ],
    ids=["crosses itself", "a line", "too few corners", "not degrees", "no name", "unknown parent", "no geometry"],
)
def test_a_bad_drawing_is_a_400_with_the_reason_and_nothing_is_made(api, officer, body, errors):
    response = api(officer).post("/api/v1/areas/", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not Area.objects.filter(level="custom").exists()


def test_residents_are_refused_the_areas_api(api, resident, geography):
    client = api(resident)
    refused = {"detail": "Only officers can do this."}

    for response in (
        client.get("/api/v1/areas/"),
        client.get(f"/api/v1/areas/{geography['high'].pk}/"),
        client.post("/api/v1/areas/", {"name": "Mine", "geometry": polygon(0.4, 51.2, 0.5, 51.3)}, format="json"),
    ):
        assert (response.status_code, response.json()) == (403, refused)
    assert not Area.objects.filter(level="custom").exists()


def test_anonymous_requests_are_refused(api, geography):
    client = api(None)
    for response in (client.get("/api/v1/areas/"), client.get(f"/api/v1/areas/{geography['high'].pk}/")):
        assert (response.status_code, response.json()) == (
            403,
            {"detail": "Authentication credentials were not provided."},
        )


def test_another_forces_custom_area_is_404_and_absent_from_the_list(
    api, officer, officer_other_org, geography, kent_hotspot
):
    essex = api(officer_other_org)

    one = essex.get(f"/api/v1/areas/{kent_hotspot.pk}/")
    listed = essex.get("/api/v1/areas/", {"level": "custom"}).json()
    inside = essex.post(
        "/api/v1/areas/",
        {"name": "Under Kent's", "geometry": polygon(0.44, 51.24, 0.45, 51.25), "parent": kent_hotspot.code},
        format="json",
    )

    assert one.status_code == 404
    assert (listed["count"], listed["features"]) == (0, [])
    assert (inside.status_code, inside.json()) == (400, {"parent": ["No area you can see has this code."]})
    # Kent's own officer sees it.
    assert api(officer).get(f"/api/v1/areas/{kent_hotspot.pk}/").status_code == 200


def test_each_force_sees_its_own_custom_areas_only(api, officer, officer_other_org, force_admin, geography):
    area_draw(actor=officer, name="Kent patch", geometry=polygon(0.41, 51.21, 0.42, 51.22))
    area_draw(actor=officer_other_org, name="Essex patch", geometry=polygon(0.41, 51.21, 0.42, 51.22))

    def custom(member):
        features = api(member).get("/api/v1/areas/", {"level": "custom"}).json()["features"]
        return [f["properties"]["name"] for f in features]

    assert custom(officer) == custom(force_admin) == ["Kent patch"]
    assert custom(officer_other_org) == ["Essex patch"]


def test_the_areas_api_is_documented(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    listing = schema["paths"]["/api/v1/areas/"]
    assert {p["name"] for p in listing["get"]["parameters"]} >= {"level", "parent", "limit", "offset"}
    assert "post" in listing
    assert "get" in schema["paths"]["/api/v1/areas/{id}/"]
    assert "201" in listing["post"]["responses"]
