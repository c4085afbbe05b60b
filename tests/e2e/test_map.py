"""The maps in a real browser: Leaflet from our own static files, no tiles, nothing fetched elsewhere.

Debian's Chromium, driven by Playwright, against pytest-django's live server. With
MAP_TILE_URL empty (the default) shapes and pins are drawn on the map's plain
background and every request the page makes goes to the live server. An officer
draws an area by clicking its corners (Leaflet.draw) and its page then shows how many
members live inside; a resident puts a pin by clicking, or with the keyboard alone.
Members are logged in by copying a session made with Django's test client into the
browser; `browser` (one Chromium for the module) comes from tests/e2e/conftest.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import shapely
from django.conf import settings
from django.test import Client

from groups.models import Area, AreaMember
from groups.services import area_draw, area_upsert, member_location_set
from tests.factories import MemberFactory, OfficerFactory, OrganisationFactory

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data; serialized_rollback brings back what the
    # migrations made (consent texts) for the tests after these.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
MAP_BACKGROUND = "rgb(230, 237, 242)"  # static/css/map.css


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture(autouse=True)
def _no_tiles(settings):
    settings.MAP_TILE_URL = ""  # the default, whatever the environment says


@dataclass
class Tab:
    """A browser tab and what it saw: every request, CSP violations, script errors."""

    page: object
    origin: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status == 200, (path, response and response.status)

    @property
    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith((self.origin + "/", "data:"))]


@pytest.fixture
def open_tab(browser, live_server):
    contexts = []

    def open_as(member, viewport=DESKTOP) -> Tab:
        context = browser.new_context(viewport=viewport, locale="en-GB")
        contexts.append(context)
        # A client of its own per tab: logging a second member in on one client would end
        # the first one's session (Django flushes it when someone else logs in).
        login = Client()
        login.force_login(member)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": login.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        tab = Tab(page=page, origin=live_server.url)
        page.on("request", lambda request: tab.requests.append(request.url))
        page.on("pageerror", lambda error: tab.problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda msg: (
                tab.problems.append(msg.text) if "Content Security Policy" in msg.text or msg.type == "error" else None
            ),
        )
        return tab

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def kent(transactional_db):
    """Maidstone district with two wards, residents living in a grid across it, and a Kent officer."""
    police = OrganisationFactory(name="Kent Police", slug="kent-police")
    district, _ = area_upsert(
        code="E07000110", name="Maidstone", level="district", geometry=square(0.40, 51.20, 0.60, 51.30)
    )
    for code, name, x0, x1 in (("E05005001", "High Street", 0.40, 0.50), ("E05005002", "Bridge", 0.50, 0.60)):
        area_upsert(code=code, name=name, level="ward", geometry=square(x0, 51.20, x1, 51.30), parent=district)
    residents = []
    for i in range(5):
        for j in range(5):
            member = MemberFactory(email=f"grid{i}{j}@example.org")
            member_location_set(member=member, longitude=0.41 + 0.045 * i, latitude=51.21 + 0.02 * j)
            residents.append(member)
    officer = OfficerFactory(email="officer@kent.police.example", organisation=police)
    return {"district": district, "officer": officer, "residents": residents}


def test_area_page_draws_the_shape_without_tiles_and_asks_nothing_of_other_sites(open_tab, kent):
    hotspot = area_draw(actor=kent["officer"], name="Hotspot", geometry=square(0.45, 51.22, 0.55, 51.28))
    tab = open_tab(kent["officer"])

    tab.goto(f"/areas/{hotspot.pk}/")

    tab.page.wait_for_selector("#area-map .leaflet-overlay-pane svg path")
    assert tab.page.locator("#area-map .leaflet-overlay-pane svg path").count() == 1
    assert tab.page.locator("#area-map .leaflet-tile").count() == 0
    background = tab.page.eval_on_selector("#area-map", "el => getComputedStyle(el).backgroundColor")
    assert background == MAP_BACKGROUND
    # The shape fills the map: it is drawn where the area is, not as a dot off in a corner.
    box = tab.page.locator("#area-map .leaflet-overlay-pane svg path").bounding_box()
    assert box["width"] > 200 and box["height"] > 100, box
    # Counted when the drawing committed: the 3 x 3 residents of the grid inside it.
    assert tab.page.locator("#member-count").inner_text() == "9"
    tab.page.wait_for_load_state("networkidle")
    assert tab.foreign_requests == []
    assert all(url.startswith(tab.origin) for url in tab.requests), tab.requests
    assert tab.problems == []


def test_area_list_map_draws_every_listed_area(open_tab, kent):
    tab = open_tab(kent["officer"])
    tab.goto("/areas/")
    tab.page.wait_for_selector("#area-map .leaflet-overlay-pane svg path")
    assert tab.page.locator("#area-map .leaflet-overlay-pane svg path").count() == 3  # district and two wards
    # Selecting a shape names it, with a link to its page.
    box = tab.page.locator("#area-map").bounding_box()
    tab.page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    popup = tab.page.locator(".leaflet-popup-content a")
    assert popup.inner_text() == "High Street"
    assert popup.get_attribute("href") == f"/areas/{Area.objects.get(code='E05005001').pk}/"
    assert tab.foreign_requests == [] and tab.problems == []


def _read_corners(text: str) -> list[tuple[float, float]]:
    """(longitude, latitude) from the Shape box's "latitude, longitude" lines."""
    pairs = [tuple(map(float, re.split(r"\s*,\s*", line.strip()))) for line in text.strip().splitlines()]
    return [(lon, lat) for lat, lon in pairs]


def test_officer_draws_an_area_by_clicking_its_corners_and_sees_how_many_live_inside(open_tab, kent):
    tab = open_tab(kent["officer"])
    tab.goto("/areas/draw/")
    page = tab.page
    page.wait_for_selector("#draw-map .leaflet-overlay-pane svg path")  # Maidstone's outline
    page.fill("#id_name", "Town centre")

    page.click(".leaflet-draw-draw-polygon")
    box = page.locator("#draw-map").bounding_box()
    corners = [(0.30, 0.25), (0.70, 0.25), (0.70, 0.75), (0.30, 0.75)]
    points = [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in corners]
    for x, y in points:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)  # a person's pace: Leaflet.draw ignores a click within 50 ms of the last
    page.mouse.click(*points[0])  # back on the first corner: the shape is closed

    shape_text = page.input_value("#id_shape")
    drawn = _read_corners(shape_text)
    assert len(drawn) == 4, shape_text
    assert "The shape has 4 corners" in page.inner_text("#draw-status")
    polygon = shapely.Polygon(drawn)
    expected = sum(bool(shapely.intersects_xy(polygon, m.longitude, m.latitude)) for m in kent["residents"])
    assert 0 < expected < len(kent["residents"])  # a real test: some inside, some not

    with page.expect_navigation():
        page.get_by_role("button", name="Save the area").click()

    area = Area.objects.get(name="Town centre")
    assert page.url == f"{tab.origin}/areas/{area.pk}/"
    assert area.organisation == kent["officer"].organisation
    assert page.locator("#member-count").inner_text() == str(expected)
    assert AreaMember.objects.filter(area=area).count() == expected
    page.wait_for_selector("#area-map .leaflet-overlay-pane svg path")
    assert tab.foreign_requests == [] and tab.problems == []


def test_resident_puts_a_pin_by_clicking_the_map_and_lands_in_a_ward(open_tab, kent):
    resident = MemberFactory(email="newcomer@example.org")
    assert resident.longitude is None
    tab = open_tab(resident)
    tab.goto("/me/location/")
    page = tab.page
    page.wait_for_selector("#pin-map .leaflet-overlay-pane svg path")  # Maidstone, for bearings

    box = page.locator("#pin-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)  # Bridge, east of 0.5
    assert page.locator("#pin-map .leaflet-marker-icon").count() == 1
    latitude, longitude = float(page.input_value("#id_latitude")), float(page.input_value("#id_longitude"))
    assert 51.2 < latitude < 51.3 and 0.5 < longitude < 0.6, (latitude, longitude)
    with page.expect_navigation():
        page.get_by_role("button", name="Save my place").click()

    resident.refresh_from_db()
    assert (resident.location_source, resident.latitude, resident.longitude) == ("pin", latitude, longitude)
    assert "Bridge (ward)" in page.inner_text("#my-areas")
    assert page.locator("#pin-map .leaflet-marker-icon").count() == 1  # the saved pin, shown again
    assert tab.foreign_requests == [] and tab.problems == []


def test_resident_puts_a_pin_with_the_keyboard_alone(open_tab, kent):
    resident = MemberFactory(email="keys@example.org")
    tab = open_tab(resident)
    tab.goto("/me/location/")
    page = tab.page
    page.wait_for_selector("#pin-map .leaflet-overlay-pane svg path")

    page.focus("#pin-map")  # the map takes focus (Tab reaches it); arrow keys move it
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # on to the map's zoom buttons ...
    for _ in range(10):
        if page.evaluate("() => document.activeElement.id") == "pin-centre":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "pin-centre"
    page.keyboard.press("Enter")

    assert page.input_value("#id_latitude") and page.input_value("#id_longitude")
    assert "Pin put at latitude" in page.inner_text("#pin-status")
    page.focus("#id_longitude")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    resident.refresh_from_db()
    assert resident.location_source == "pin"
    assert AreaMember.objects.filter(member=resident, area__code="E07000110").exists()


@pytest.mark.parametrize("which", ["list", "detail", "draw", "location"])
def test_map_pages_meet_wcag_aa_fit_a_phone_and_keep_to_csp(open_tab, kent, which):
    from axe_playwright_python.sync_playwright import Axe

    resident = kent["residents"][0]
    who, path = {
        "list": (kent["officer"], "/areas/"),
        "detail": (kent["officer"], f"/areas/{kent['district'].pk}/"),
        "draw": (kent["officer"], "/areas/draw/"),
        "location": (resident, "/me/location/"),
    }[which]
    tab = open_tab(who)
    tab.goto(path)
    tab.page.wait_for_selector(".leaflet-overlay-pane svg path")
    axe = Axe()
    problems = {}
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab.page.set_viewport_size(viewport)
        results = axe.run(tab.page, options={"runOnly": {"type": "tag", "values": WCAG_AA_TAGS}})
        problems[f"axe at {name}"] = [
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in results.response["violations"]
        ]
    scroll_width, inner_width = tab.page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
    if scroll_width > inner_width:
        problems["scrolls sideways on a phone"] = [f"{scroll_width}px wide"]
    problems["requests elsewhere"] = tab.foreign_requests
    problems["CSP and script errors"] = tab.problems
    assert {k: v for k, v in problems.items() if v} == {}
