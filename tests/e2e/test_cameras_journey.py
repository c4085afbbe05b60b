"""The camera register's whole loop in a real browser, as the people in it would do it.

A resident registers their doorbell camera; an officer searches near it with an
incident reference and sends a footage request; the resident finds the request in
their inbox and uploads a short video; the officer downloads it, and the download is
in the chain-of-custody log. Every page on the way is checked by axe-core (WCAG 2.2
AA) and for CSP, and asks nothing of any other site. Then a force admin's coverage map
shades the ward the camera is in.

Debian's Chromium through Playwright, against pytest-django's live server; members are
logged in by copying a test-client session into the browser.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from cameras.models import Camera, CameraSearch, CustodyEntry, Evidence
from groups.jurisdiction import territory_forget
from groups.services import area_upsert, member_location_set
from tests.factories import ForceAdminFactory, MemberFactory, OfficerFactory, OrganisationFactory

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data; serialized_rollback brings back what the
    # migrations made (consent texts) for the tests after these.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 800}
HOME = (0.52, 51.27)  # (lon, lat), Maidstone
# The start of an MP4 file (its ftyp box) and some bytes: a "video" as far as any type check goes.
VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture(autouse=True)
def _local_only(settings, tmp_path):
    settings.MAP_TILE_URL = ""  # no tiles: nothing fetched from elsewhere
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "evidence")},
        },
    }


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@dataclass
class Tab:
    """A browser tab as one member, and what it saw: CSP problems, script errors, foreign requests."""

    page: object
    origin: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status == 200, (path, response and response.status)

    def check_accessible(self, axe) -> None:
        """axe-core's WCAG 2.x A and AA rules on the page as it is now, and nothing blocked by CSP."""
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(axe.axe_script)
        results = self.page.evaluate(
            "(options) => axe.run(document, options)",
            {"runOnly": {"type": "tag", "values": WCAG_AA_TAGS}, "resultTypes": ["violations"]},
        )
        violations = [
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in results["violations"]
        ]
        assert violations == [], f"{self.page.url}: {violations}"
        assert self.problems == [], f"{self.page.url}: {self.problems}"
        foreign = [u for u in self.requests if not u.startswith((self.origin + "/", "data:", "blob:"))]
        assert foreign == [], foreign


@pytest.fixture
def open_tab(browser, live_server):
    contexts = []

    def open_as(member) -> Tab:
        context = browser.new_context(viewport=DESKTOP, locale="en-GB", accept_downloads=True)
        contexts.append(context)
        # A client of its own: logging another member in on one client would end this session.
        client = Client()
        client.force_login(member)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
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
            lambda msg: tab.problems.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        return tab

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def kent(transactional_db):
    police = OrganisationFactory(name="Kent Police", slug="kent-police")
    force, _ = area_upsert(code="E23000032", name="Kent", level="force", geometry=square(0.40, 51.20, 0.70, 51.40))
    area_upsert(
        code="E05009999", name="High Street", level="ward", geometry=square(0.50, 51.25, 0.55, 51.30), parent=force
    )
    police.areas.add(force)
    territory_forget(organisation=police)
    resident = MemberFactory(
        email="camera.owner@example.org", first_name="Alexandra", last_name="Quinnell", opt_in=[police]
    )
    member_location_set(member=resident, longitude=HOME[0], latitude=HOME[1])
    yield {
        "police": police,
        "resident": resident,
        "officer": OfficerFactory(
            email="officer@kent.police.example", organisation=police, first_name="Jo", last_name="Officer"
        ),
        "force_admin": ForceAdminFactory(email="admin@kent.police.example", organisation=police),
    }
    territory_forget(organisation=police)


def test_a_doorbell_camera_from_registration_to_evidence_in_the_custody_log(
    open_tab, axe, kent, tmp_path, settings, live_server
):
    settings.SITE_URL = live_server.url  # the links in messages lead back here
    resident, officer = kent["resident"], kent["officer"]

    # The resident registers their doorbell camera, at home.
    owner_tab = open_tab(resident)
    owner_tab.goto("/cameras/new/")
    owner_tab.page.wait_for_selector("#camera-map .leaflet-marker-icon")  # their home, pinned
    owner_tab.check_accessible(axe)
    owner_tab.page.get_by_label("Doorbell camera").check()
    owner_tab.page.get_by_label("At my home").check()
    owner_tab.page.get_by_label("What does it cover? (optional)").fill("The front path and the pavement")
    owner_tab.page.get_by_label("How many days does it keep footage?").fill("30")
    with owner_tab.page.expect_navigation():
        owner_tab.page.get_by_role("button", name="Register the camera").click()
    assert owner_tab.page.url.endswith("/cameras/")
    assert "The front path and the pavement" in owner_tab.page.locator("#my-cameras").inner_text()
    owner_tab.check_accessible(axe)
    camera = Camera.objects.get(owner=resident)
    assert (camera.kind, camera.longitude, camera.latitude) == ("doorbell", *HOME)

    # An officer searches near it, with the incident reference, and sees it without its owner.
    officer_tab = open_tab(officer)
    officer_tab.goto("/cameras/search/")
    officer_tab.check_accessible(axe)
    incident = timezone.localtime() - timedelta(hours=20)
    officer_tab.page.get_by_label("Incident reference").fill("46/E2E/26")
    officer_tab.page.get_by_label("When did it happen?").fill(incident.strftime("%Y-%m-%dT%H:%M"))
    officer_tab.page.get_by_label("Latitude").fill("51.2712")
    officer_tab.page.get_by_label("Longitude").fill("0.5205")
    officer_tab.page.get_by_label("Radius in metres").fill("300")
    with officer_tab.page.expect_navigation():
        officer_tab.page.get_by_role("button", name="Search").click()
    officer_tab.page.wait_for_selector("#results-map .leaflet-marker-icon")
    assert officer_tab.page.locator("#results-map .leaflet-marker-icon").count() == 1
    results = officer_tab.page.locator("#hits").inner_text()
    assert "The front path and the pavement" in results
    body = officer_tab.page.locator("main").inner_text()
    for personal in ("Alexandra", "Quinnell", resident.email, resident.address_line1):
        assert personal not in body
    officer_tab.check_accessible(axe)
    assert CameraSearch.objects.get().incident_reference == "46/E2E/26"

    # …and sends the footage request.
    officer_tab.page.get_by_label("camera 1", exact=False).check()
    officer_tab.page.get_by_label("Where it happened").fill("High Street, outside the bakery")
    officer_tab.page.get_by_label("Message to the owners").fill("A bike was stolen. Did your camera see anyone?")
    with officer_tab.page.expect_navigation():
        officer_tab.page.get_by_role("button", name="Send the footage request").click()
    assert "/cameras/requests/" in officer_tab.page.url
    request_url = officer_tab.page.url.removeprefix(officer_tab.origin)
    officer_tab.check_accessible(axe)

    # The resident finds it in their inbox and uploads a short video.
    owner_tab.goto("/inbox/")
    owner_tab.page.get_by_role("link", name="Footage request from Kent Police", exact=False).first.click()
    owner_tab.page.get_by_role("link", name="Read more").click()
    owner_tab.page.wait_for_selector("#answer-form")
    assert "High Street, outside the bakery" in owner_tab.page.locator("main").inner_text()
    owner_tab.check_accessible(axe)
    owner_tab.page.get_by_label("I have footage: I am uploading it").check()
    owner_tab.page.get_by_label("The footage or photo").set_input_files(
        files=[{"name": "doorbell-clip.mp4", "mimeType": "video/mp4", "buffer": VIDEO}]
    )
    with owner_tab.page.expect_navigation():
        owner_tab.page.get_by_role("button", name="Send my answer").click()
    assert "Thank you: your file is with Kent Police." in owner_tab.page.locator("main").inner_text()
    owner_tab.check_accessible(axe)
    evidence = Evidence.objects.get()
    assert evidence.sha256 == hashlib.sha256(VIDEO).hexdigest()

    # The officer downloads it: the bytes received, and a line in the custody log.
    officer_tab.goto(request_url)
    assert evidence.sha256 in officer_tab.page.locator("main").inner_text()
    with officer_tab.page.expect_download() as download_info:
        officer_tab.page.get_by_role("link", name="Download doorbell-clip.mp4").click()
    saved = tmp_path / "downloaded.mp4"
    download_info.value.save_as(saved)
    assert Path(saved).read_bytes() == VIDEO
    officer_tab.page.get_by_role("link", name="Chain of custody").click()
    officer_tab.page.wait_for_selector("#custody")
    log = officer_tab.page.locator("#custody").inner_text()
    assert "Received from the owner" in log
    assert "Downloaded" in log and "Jo Officer (Kent Police)" in log
    officer_tab.check_accessible(axe)
    assert list(CustodyEntry.objects.values_list("action", "actor")) == [
        ("received", resident.pk),
        ("downloaded", officer.pk),
    ]

    # A force admin's coverage map shades the ward the camera is in, with the table beside it.
    admin_tab = open_tab(kent["force_admin"])
    admin_tab.goto("/cameras/coverage/")
    admin_tab.page.wait_for_selector("#coverage-map .leaflet-overlay-pane svg path")
    assert admin_tab.page.locator("#coverage-map .leaflet-overlay-pane svg path").count() == 1
    assert "High Street" in admin_tab.page.locator("#coverage").inner_text()
    admin_tab.check_accessible(axe)
