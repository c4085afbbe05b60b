"""The map pages through the test client: areas (officers), drawing one, and a resident's own place.

The geography: Kent (the force area) holds the Maidstone district, split into two
wards along longitude 0.5. Residents live in each ward; names never reach a page
about an area, only counts.
"""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest

from groups.area_views import shape_from_text
from groups.models import Area, AreaMember
from groups.services import area_draw, area_members_recompute, area_upsert, member_location_set
from mcv.settings import map_tile_origin
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def square(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def polygon(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [square(x0, y0, x1, y1)]}


KENT = polygon(0.0, 51.0, 1.0, 51.5)
MAIDSTONE = polygon(0.4, 51.2, 0.6, 51.35)
HIGH_STREET = polygon(0.4, 51.2, 0.5, 51.35)
BRIDGE = polygon(0.5, 51.2, 0.6, 51.35)
# Two triangles meeting at a point: a "bow tie", which crosses itself.
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[0.41, 51.21], [0.49, 51.29], [0.49, 51.21], [0.41, 51.29], [0.41, 51.21]]],
}


def placed(lon, lat, **kwargs):
    """A resident placed by a pin (no postcode directory in these tests)."""
    member = MemberFactory(**kwargs)
    member_location_set(member=member, longitude=lon, latitude=lat)
    return member


@pytest.fixture
def geography(db):
    kent, _ = area_upsert(code="E23000032", name="Kent", level="force", geometry=KENT, recompute=False)
    maidstone, _ = area_upsert(
        code="E07000110", name="Maidstone", level="district", geometry=MAIDSTONE, parent=kent, recompute=False
    )
    high, _ = area_upsert(
        code="E05005001", name="High Street", level="ward", geometry=HIGH_STREET, parent=maidstone, recompute=False
    )
    bridge, _ = area_upsert(
        code="E05005002", name="Bridge", level="ward", geometry=BRIDGE, parent=maidstone, recompute=False
    )
    return {"kent": kent, "maidstone": maidstone, "high": high, "bridge": bridge}


@pytest.fixture
def residents(geography):
    """Two residents in High Street ward, one in Bridge ward, one outside Maidstone."""
    return [
        placed(0.45, 51.25, email="high.one@example.org", first_name="Hilary", last_name="Highone"),
        placed(0.46, 51.30, email="high.two@example.org", first_name="Harper", last_name="Hightwo"),
        placed(0.55, 51.25, email="bridge@example.org", first_name="Brook", last_name="Bridger"),
        placed(0.80, 51.40, email="rural@example.org", first_name="Rowan", last_name="Rural"),
    ]


@pytest.fixture
def kent_hotspot(officer, residents, geography):
    """A custom area Kent Police drew around the High Street, and who lives in it counted."""
    area = area_draw(
        actor=officer,
        name="Kent hotspot",
        geometry=polygon(0.44, 51.24, 0.47, 51.31),
        parent=geography["maidstone"],
    )
    area_members_recompute(area_id=area.pk)  # what the drawing queued for after the commit
    area.refresh_from_db()
    return area


# --- reading pages


class _Tables(HTMLParser):
    """The text of each table's body rows, and each json_script block, of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.json: dict[str, str] = {}
        self._row = self._cell = self._script = None
        self._in_tbody = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = ""
        elif tag == "script" and a.get("type") == "application/json":
            self._script = a["id"]
            self.json[self._script] = ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._script:
            self.json[self._script] += data


def read(response) -> _Tables:
    page = _Tables()
    page.feed(response.content.decode())
    return page


def embedded(response, script_id: str) -> dict:
    return json.loads(read(response).json[script_id])


def map_element(response) -> dict[str, str]:
    """The attributes of the page's map container (a bare attribute, like `hidden`, maps to "")."""
    tag = re.search(r"<div [^>]*data-map=[^>]*>", response.content.decode(), re.S).group(0)
    return {k: unescape(v or "") for k, v in re.findall(r'\s([\w-]+)(?:="([^"]*)")?', tag[4:])}


# --- /areas/


def test_officer_lists_areas_with_how_many_live_in_each(client, officer, residents, geography):
    client.force_login(officer)

    response = client.get("/areas/")

    assert response.status_code == 200
    assert read(response).rows == [
        ["Kent", "Force area", "–", "4"],
        ["Maidstone", "District", "Kent", "3"],
        ["Bridge", "Ward", "Maidstone", "1"],
        ["High Street", "Ward", "Maidstone", "2"],
    ]
    # The map draws the same areas, from the page itself.
    features = embedded(response, "areas-geojson")["features"]
    assert [(f["properties"]["name"], f["properties"]["member_count"]) for f in features] == [
        ("Kent", 4),
        ("Maidstone", 3),
        ("Bridge", 1),
        ("High Street", 2),
    ]
    assert map_element(response)["data-geojson"] == "areas-geojson"
    # Counts, never who.
    body = response.content.decode()
    for resident in residents:
        assert resident.email not in body
        assert resident.last_name not in body


def test_officer_filters_areas_by_level_and_by_parent(client, officer, geography):
    client.force_login(officer)

    wards = read(client.get("/areas/", {"level": "ward"})).rows
    in_kent = read(client.get("/areas/", {"parent": "E23000032"})).rows
    wards_in_maidstone = read(client.get("/areas/", {"level": "ward", "parent": "E07000110"})).rows
    districts_in_maidstone = read(client.get("/areas/", {"level": "district", "parent": "E07000110"})).rows

    assert [r[0] for r in wards] == ["Bridge", "High Street"]
    assert [r[0] for r in in_kent] == ["Maidstone"]
    assert [r[0] for r in wards_in_maidstone] == ["Bridge", "High Street"]
    assert districts_in_maidstone == [["No areas match."]]


def test_parent_filter_offers_only_areas_with_something_inside(client, officer, geography):
    client.force_login(officer)
    body = client.get("/areas/").content.decode()
    options = re.findall(r'<option value="([^"]*)"', body.split('name="parent"')[1].split("</select>")[0])
    assert options == ["", "E23000032", "E07000110"]


def test_a_filter_that_makes_no_sense_is_an_error_not_a_guess(client, officer, geography):
    client.force_login(officer)

    response = client.get("/areas/", {"level": "county", "parent": "NOPE"})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Select a valid choice. county is not one of the available choices." in body
    assert "Select a valid choice. That choice is not one of the available choices." in body
    assert response.context["page"].paginator.count == 4  # the list, unfiltered, still shows


def test_area_list_is_paginated_and_pages_keep_the_filter(client, officer, geography):
    for i in range(55):
        area_upsert(
            code=f"W{i:03}",
            name=f"Ward {i:03}",
            level="ward",
            geometry=polygon(0.4, 51.2, 0.41, 51.21),
            parent=geography["maidstone"],
            recompute=False,
        )
    client.force_login(officer)

    first = client.get("/areas/", {"level": "ward"})
    second = client.get("/areas/", {"level": "ward", "page": 2})

    assert len(read(first).rows) == 50
    assert len(read(second).rows) == 7  # 55 + Bridge + High Street
    assert 'href="?level=ward&amp;page=2"' in first.content.decode()
    assert len(embedded(second, "areas-geojson")["features"]) == 7


@pytest.mark.parametrize("how_many", [5, 50])
def test_area_list_queries_do_not_grow_with_the_areas(
    client, officer, geography, how_many, django_assert_max_num_queries
):
    for i in range(how_many):
        area_upsert(
            code=f"C{i:03}",
            name=f"Area {i:03}",
            level="ward",
            geometry=polygon(0.4, 51.2, 0.41, 51.21),
            parent=geography["high"] if i % 2 else geography["maidstone"],
            recompute=False,
        )
    client.force_login(officer)
    # Session, member, MFA check, their organisation, the parent options, the count, one
    # for the page of areas with their parents, and the nav's reply count (base.html):
    # eight, however many areas there are.
    with django_assert_max_num_queries(8):
        response = client.get("/areas/")
    assert response.status_code == 200
    assert len(read(response).rows) == min(how_many + 4, 50)


def test_residents_may_not_see_the_areas_pages(client, resident, geography):
    client.force_login(resident)
    for url in ("/areas/", f"/areas/{geography['high'].pk}/", "/areas/draw/"):
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_asked_to_log_in(client, geography):
    for url in ("/areas/", f"/areas/{geography['high'].pk}/", "/areas/draw/", "/me/location/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


# --- /areas/<id>/


def test_area_page_shows_where_it_sits_what_is_inside_and_a_count(client, officer, residents, geography, kent_hotspot):
    client.force_login(officer)

    response = client.get(f"/areas/{geography['maidstone'].pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', body, re.S).group(0)
    assert re.findall(r">([^<>]+)</(?:a|li)>", crumbs) == ["Areas", "Kent", "Maidstone"]
    assert '<span id="member-count">3</span>' in body
    assert read(response).rows == [
        ["Bridge", "Ward", "1"],
        ["High Street", "Ward", "2"],
        ["Kent hotspot", "Custom area", "2"],
    ]
    shape = embedded(response, "area-geojson")["features"][0]
    assert shape["properties"]["code"] == "E07000110"
    assert shape["bbox"] == [0.4, 51.2, 0.6, 51.35]
    children = embedded(response, "children-geojson")["features"]
    assert {f["properties"]["name"] for f in children} == {"Bridge", "High Street", "Kent hotspot"}
    for resident in residents:
        assert resident.email not in body
        assert resident.last_name not in body


def test_ward_page_chain_runs_force_district_ward(client, force_admin, geography):
    client.force_login(force_admin)
    body = client.get(f"/areas/{geography['high'].pk}/").content.decode()
    assert "Kent (force area) › Maidstone (district)" in body
    assert "<p>None.</p>" in body  # nothing inside a ward


def test_another_forces_custom_area_does_not_exist_for_its_officers(client, officer_other_org, geography, kent_hotspot):
    client.force_login(officer_other_org)

    page = client.get(f"/areas/{kent_hotspot.pk}/")
    listing = client.get("/areas/", {"level": "custom"})
    maidstone = client.get(f"/areas/{geography['maidstone'].pk}/")

    assert page.status_code == 404
    assert read(listing).rows == [["No areas match."]]
    assert "Kent hotspot" not in maidstone.content.decode()
    assert "Kent hotspot" not in json.dumps(embedded(maidstone, "children-geojson"))


def test_an_unknown_area_is_not_found(client, officer):
    client.force_login(officer)
    assert client.get("/areas/999999/").status_code == 404


# --- /areas/draw/

LINES_AROUND_HIGH_STREET_RESIDENTS = "51.24, 0.44\n51.24, 0.47\n51.31, 0.47\n51.31, 0.44\n"


def test_officer_draws_an_area_and_sees_how_many_live_inside(
    client, officer, residents, geography, django_capture_on_commit_callbacks
):
    client.force_login(officer)
    assert not Area.objects.filter(level="custom").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/areas/draw/",
            {
                "name": "High Street hotspot",
                "parent": geography["maidstone"].pk,
                "shape": LINES_AROUND_HIGH_STREET_RESIDENTS,
            },
        )

    area = Area.objects.get(level="custom")
    assert response.status_code == 302
    assert response["Location"] == f"/areas/{area.pk}/"
    assert (area.name, area.parent, area.organisation, area.created_by) == (
        "High Street hotspot",
        geography["maidstone"],
        officer.organisation,
        officer,
    )
    assert (area.min_lon, area.min_lat, area.max_lon, area.max_lat) == (0.44, 51.24, 0.47, 51.31)
    inside = set(AreaMember.objects.filter(area=area).values_list("member__email", flat=True))
    assert inside == {"high.one@example.org", "high.two@example.org"}

    page = client.get(response["Location"])
    assert '<span id="member-count">2</span>' in page.content.decode()
    assert "“High Street hotspot” is saved." in page.content.decode()


def test_officer_may_paste_geojson_instead(client, officer, residents, django_capture_on_commit_callbacks):
    client.force_login(officer)
    feature = {"type": "Feature", "properties": {}, "geometry": polygon(0.5, 51.2, 0.6, 51.3)}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/areas/draw/", {"name": "Bridge end", "shape": json.dumps(feature)})

    assert response.status_code == 302
    area = Area.objects.get(name="Bridge end")
    assert area.geometry == polygon(0.5, 51.2, 0.6, 51.3)
    assert area.parent is None
    assert list(AreaMember.objects.filter(area=area).values_list("member__email", flat=True)) == ["bridge@example.org"]


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        (json.dumps(BOW_TIE), "The shape is not a valid polygon: Self-intersection"),
        (
            json.dumps({"type": "Point", "coordinates": [0.5, 51.2]}),
            "The shape must be a Polygon or MultiPolygon, not Point.",
        ),
        ('{"type": "Polygon", "coordinates": [[0.5, 51.2', "This is not valid GeoJSON"),
        ("51.2, 0.4\n51.3 north, 0.5\n51.2, 0.6", "Line 2 is not &quot;latitude, longitude&quot;"),
        ("51.2, 0.4\n51.3, 0.5", "An area needs at least three corners; there are 2."),
        ("51.2, 0.4\n95, 0.5\n51.2, 0.6", "Line 2: latitude must be between -90 and 90"),
        ("", "This field is required."),
    ],
    ids=["crosses itself", "a point", "broken json", "not a number", "two corners", "off the globe", "empty"],
)
def test_a_bad_shape_is_a_form_error_with_the_reason_and_nothing_is_made(client, officer, shape, reason):
    client.force_login(officer)

    response = client.post("/areas/draw/", {"name": "Bad", "shape": shape})

    assert response.status_code == 400
    body = response.content.decode()
    assert reason in body
    assert 'id="id_shape_error"' in body
    assert "<title>Error: " in body
    assert not Area.objects.filter(name="Bad").exists()


def test_drawing_needs_a_name_and_a_parent_the_officer_can_see(client, officer, officer_other_org, geography):
    theirs = area_draw(actor=officer_other_org, name="Essex patch", geometry=polygon(0.4, 51.2, 0.5, 51.3))
    client.force_login(officer)

    response = client.post(
        "/areas/draw/", {"name": "  ", "parent": theirs.pk, "shape": LINES_AROUND_HIGH_STREET_RESIDENTS}
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["parent"] == ["Select a valid choice. That choice is not one of the available choices."]
    assert Area.objects.filter(level="custom").count() == 1


def test_draw_page_offers_force_and_districts_as_parents_and_the_shape_box(client, officer, geography):
    client.force_login(officer)
    response = client.get("/areas/draw/")
    body = response.content.decode()
    parents = re.findall(r'<option value="([^"]*)"', body.split('name="parent"')[1].split("</select>")[0])
    assert parents == ["", str(geography["kent"].pk), str(geography["maidstone"].pk)]
    assert '<textarea name="shape"' in body and '<label for="id_shape">Shape</label>' in body
    attrs = map_element(response)
    assert (attrs["data-map"], attrs["data-shape-input"]) == ("draw", "id_shape")
    assert [f["properties"]["name"] for f in embedded(response, "reference-geojson")["features"]] == ["Maidstone"]


def test_shape_from_text_closes_the_ring_and_reads_latitude_first():
    assert shape_from_text("51.1, 0.1\n51.1; 0.2\n 51.2   0.2 \n51.1, 0.1\n") == {
        "type": "Polygon",
        "coordinates": [[[0.1, 51.1], [0.2, 51.1], [0.2, 51.2], [0.1, 51.1]]],
    }


# --- /me/location/


def test_resident_with_an_unknown_postcode_puts_a_pin_and_lands_in_the_right_ward(client, resident, geography):
    assert resident.longitude is None
    client.force_login(resident)
    page = client.get("/me/location/")
    assert "We do not know where your postcode, <strong>ME14 1XX</strong>, is yet." in page.content.decode()
    assert "data-pin" not in map_element(page)

    response = client.post("/me/location/", {"action": "pin", "latitude": "51.2500", "longitude": "0.5500"})

    assert response.status_code == 302
    assert response["Location"] == "/me/location/"
    resident.refresh_from_db()
    assert (resident.latitude, resident.longitude, resident.location_source) == (51.25, 0.55, "pin")
    areas = set(AreaMember.objects.filter(member=resident).values_list("area__code", flat=True))
    assert areas == {"E23000032", "E07000110", "E05005002"}  # Kent, Maidstone, Bridge
    geography["bridge"].refresh_from_db()
    assert geography["bridge"].member_count == 1

    page = client.get("/me/location/")
    body = page.content.decode()
    assert "Your pin is saved. You are in Kent, Maidstone, Bridge." in body
    assert "Bridge (ward)" in body
    assert map_element(page)["data-pin"] == "51.25,0.55"


def test_moving_the_pin_moves_the_resident_between_wards(client, resident, geography):
    member_location_set(member=resident, longitude=0.45, latitude=51.25)
    assert set(AreaMember.objects.filter(member=resident).values_list("area__code", flat=True)) >= {"E05005001"}
    client.force_login(resident)

    client.post("/me/location/", {"action": "pin", "latitude": "51.25", "longitude": "0.55"})

    wards = set(AreaMember.objects.filter(member=resident, area__level="ward").values_list("area__code", flat=True))
    assert wards == {"E05005002"}


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"latitude": "", "longitude": ""}, "latitude", "Enter the latitude, or put a pin on the map."),
        ({"latitude": "north", "longitude": "0.5"}, "latitude", "Enter the latitude as a number, like 51.2720."),
        ({"latitude": "51.2", "longitude": "200"}, "longitude", "Longitude must be between -180 and 180."),
        ({"latitude": "-91", "longitude": "0.5"}, "latitude", "Latitude must be between -90 and 90."),
    ],
    ids=["empty", "words", "longitude off the globe", "latitude off the globe"],
)
def test_bad_coordinates_are_clear_errors_and_change_nothing(client, resident, data, field, error):
    client.force_login(resident)

    response = client.post("/me/location/", {"action": "pin", **data})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [error]
    assert f'id="id_{field}_error"' in response.content.decode()
    resident.refresh_from_db()
    assert resident.longitude is None


def test_a_pin_outside_every_area_is_saved_with_a_warning(client, resident, geography):
    client.force_login(resident)
    response = client.post("/me/location/", {"action": "pin", "latitude": "55.9", "longitude": "-3.2"}, follow=True)
    assert "outside every area we cover" in response.content.decode()
    assert not AreaMember.objects.filter(member=resident).exists()


def test_resident_goes_back_from_a_pin_to_their_postcode(client, resident, geography):
    from groups.models import Postcode

    Postcode.objects.create(postcode="ME14 1XX", latitude=51.3, longitude=0.45)
    member_location_set(member=resident, longitude=0.55, latitude=51.25)
    client.force_login(resident)
    assert "Use my postcode, ME14 1XX, instead" in client.get("/me/location/").content.decode()

    response = client.post("/me/location/", {"action": "postcode"}, follow=True)

    resident.refresh_from_db()
    assert (resident.latitude, resident.longitude, resident.location_source) == (51.3, 0.45, "postcode")
    assert "You are placed at your postcode, ME14 1XX." in response.content.decode()
    assert "High Street (ward)" in response.content.decode()


def test_officers_are_not_placed_on_the_map(client, officer):
    client.force_login(officer)
    assert client.get("/me/location/").status_code == 403
    assert client.post("/me/location/", {"action": "pin", "latitude": "51.2", "longitude": "0.5"}).status_code == 403
    officer.refresh_from_db()
    assert officer.longitude is None


# --- every map page: CSP, text alternatives, tiles only when configured


@pytest.fixture
def map_pages(officer, resident, geography, kent_hotspot):
    """(who, page, the text that says what the map shows, for those who cannot use it)."""
    return [
        (officer, "/areas/", '<table class="table">'),
        (officer, f"/areas/{geography['maidstone'].pk}/", '<dl class="summary-list">'),
        (officer, f"/areas/{kent_hotspot.pk}/", "a shape with 4 corners"),
        (officer, "/areas/draw/", '<textarea name="shape"'),
        (resident, "/me/location/", '<input type="text" name="latitude"'),
    ]


def test_map_pages_keep_to_csp_and_have_text_alternatives(client, map_pages):
    from tests.core.test_pages_accessibility import is_own_origin, parse

    for member, url, alternative in map_pages:
        client.force_login(member)
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        html = parse(body)
        for script in html.scripts:
            if script.get("type") == "application/json":
                continue  # data for map.js (json_script): never run
            assert is_own_origin(script.get("src", "")) and not script.get("inline"), (url, script)
        assert html.inline_style_attrs == [] and html.handler_attrs == [] and html.styles == [], url
        assert html.h1_count == 1, url
        assert all(f.get("id") in html.labels_for for f in html.fields), url
        for owner, ref in html.described_by:
            assert ref in html.ids, (url, owner, ref)
        attrs = map_element(response)
        # Shown by map.js only, and named for screen readers; the page says the same without it.
        assert "hidden" in attrs and attrs["role"] == "region" and attrs["aria-label"], url
        assert "data-tile-url" not in attrs, url
        assert alternative in body, url
        csp = response.headers["Content-Security-Policy"]
        assert "img-src 'self' data:;" in csp, csp


def test_tiles_are_passed_to_the_map_only_when_configured(client, officer, geography, settings):
    settings.MAP_TILE_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© Example <a href='https://example.org'>tiles</a>"
    client.force_login(officer)

    attrs = map_element(client.get("/areas/"))

    assert attrs["data-tile-url"] == "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    assert attrs["data-tile-attribution"] == "© Example <a href='https://example.org'>tiles</a>"


def test_csp_allows_images_from_the_tile_server_origin():
    assert map_tile_origin("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert (
        map_tile_origin("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?key=k") == "https://tiles.example.org:8443"
    )


def test_the_map_script_fetches_nothing_from_elsewhere():
    """map.js itself names no other site: tiles come only from data-tile-url."""
    from django.conf import settings

    source = (settings.BASE_DIR / "static/js/map.js").read_text()
    assert not re.findall(r"https?://", source)
