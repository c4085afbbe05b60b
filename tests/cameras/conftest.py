"""A patch of Kent for the camera tests: Kent Police responsible for it, residents living
in it with cameras, evidence kept in a folder of the test's own."""

from __future__ import annotations

import pytest

from cameras.services import camera_register
from groups.jurisdiction import territory_forget
from groups.services import area_upsert, member_location_set
from tests.factories import MemberFactory

# Maidstone, near the cast's ward squares (lon 0.50-0.53, lat 51.26-51.29).
CENTRE = (0.52, 51.27)  # (lon, lat)
# About 100 m of latitude and of longitude at 51.27°N.
LAT_100M = 100 / 111_195
LON_100M = 100 / 69_580

# The smallest files `filetype` recognises: the start of an MP4 (ftyp box), a JPEG, a PNG.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 400 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 300


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def near(metres_north: float = 0, metres_east: float = 0) -> tuple[float, float]:
    """(lon, lat) this far north and east of CENTRE."""
    return CENTRE[0] + metres_east / 100 * LON_100M, CENTRE[1] + metres_north / 100 * LAT_100M


@pytest.fixture(autouse=True)
def evidence_storage(settings, tmp_path):
    """Evidence and upload temporaries in the test's own folders, so tests can look inside."""
    store = tmp_path / "evidence"
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(store)}},
    }
    settings.CAMERA_UPLOAD_TEMP_DIR = str(uploads)
    return {"store": store, "uploads": uploads}


@pytest.fixture
def kent_area(organisation):
    """Kent Police's area of responsibility: a square around Maidstone (0.40-0.70, 51.20-51.40)."""
    area, _ = area_upsert(code="E23000032", name="Kent", level="force", geometry=square(0.40, 51.20, 0.70, 51.40))
    organisation.areas.add(area)
    territory_forget(organisation=organisation)
    yield area
    territory_forget(organisation=organisation)


@pytest.fixture
def essex_area(other_organisation):
    area, _ = area_upsert(code="E23000029", name="Essex", level="force", geometry=square(0.40, 51.50, 0.90, 51.90))
    other_organisation.areas.add(area)
    territory_forget(organisation=other_organisation)
    yield area
    territory_forget(organisation=other_organisation)


@pytest.fixture
def place():
    """`place(member, lon, lat)`: the member lives there."""

    def put(member, lon: float, lat: float):
        member_location_set(member=member, longitude=lon, latitude=lat)
        return member

    return put


@pytest.fixture
def owner(resident, place):
    """The resident, living at CENTRE, opted in to Kent Police."""
    return place(resident, *CENTRE)


@pytest.fixture
def camera_for():
    """`camera_for(member, kind=…, **fields)`: register a camera through the service."""

    def make(member, *, kind: str = "doorbell", **fields):
        data = {"kind": kind, "placement": "home", "retention_days": 30, "willing": True, "covers": "", **fields}
        if "latitude" in fields:
            data["placement"] = "pin"
        return camera_register(member=member, data=data)

    return make


@pytest.fixture
def make_owner(organisation, place):
    """`make_owner(lon, lat, opt_in=[…])`: a verified resident living there."""

    def make(lon: float, lat: float, *, opt_in=None, **fields):
        member = MemberFactory(opt_in=[organisation] if opt_in is None else opt_in, **fields)
        return place(member, lon, lat)

    return make


@pytest.fixture
def search_near(officer, kent_area):
    """`search_near(lon, lat, radius_m=500, **fields)`: the Kent officer searches there."""
    from datetime import timedelta

    from django.utils import timezone

    from cameras.services import camera_search_create

    def search(lon: float = CENTRE[0], lat: float = CENTRE[1], radius_m: int = 500, by=None, **fields):
        values = {"incident_reference": "46/12345/26", "incident_at": timezone.now() - timedelta(days=2), **fields}
        return camera_search_create(officer=by or officer, latitude=lat, longitude=lon, radius_m=radius_m, **values)

    return search


@pytest.fixture
def ask_for(officer, search_near, django_capture_on_commit_callbacks):
    """`ask_for(camera)`: the Kent officer searches around the camera and asks its owner for footage."""
    from datetime import timedelta

    from django.utils import timezone

    from cameras.services import footage_request_create

    def ask(camera, **fields):
        search, _ = search_near(camera.longitude, camera.latitude)
        start = timezone.now() - timedelta(days=2, hours=1)
        values = {
            "window_start": start,
            "window_end": start + timedelta(hours=1),
            "location": "Week Street, by the bus stop",
            "message": "A bicycle was stolen. Did your camera see anyone?",
            **fields,
        }
        with django_capture_on_commit_callbacks(execute=True):
            request = footage_request_create(officer=officer, search=search, camera_ids=[camera.pk], **values)
        return request.asks.get(camera=camera)

    return ask
