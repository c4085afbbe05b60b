"""A small force for the alert tests: Kent Police covers a force area with two wards in it,
residents live in each, and Essex Police covers a force area next door."""

from __future__ import annotations

import struct
import zlib

import pytest

from groups.models import CommunityGroup, Membership
from groups.services import area_upsert, member_location_set
from members.models import Member, Preferences
from tests.factories import MemberFactory


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def kent(organisation):
    """Kent's force area (0.0-0.2 E, 50.9-51.1 N) holding North Ward and South Ward; Kent Police covers it."""
    force, _ = area_upsert(code="E23TEST01", name="Kent", level="force", geometry=square(0, 50.9, 0.2, 51.1))
    north, _ = area_upsert(
        code="E05TEST01", name="North Ward", level="ward", geometry=square(0, 51.0, 0.1, 51.1), parent=force
    )
    south, _ = area_upsert(
        code="E05TEST02", name="South Ward", level="ward", geometry=square(0, 50.9, 0.1, 51.0), parent=force
    )
    organisation.areas.add(force)
    return {"force": force, "north": north, "south": south}


@pytest.fixture
def essex(other_organisation):
    force, _ = area_upsert(code="E23TEST02", name="Essex", level="force", geometry=square(1.0, 51.5, 1.2, 51.7))
    other_organisation.areas.add(force)
    return {"force": force}


@pytest.fixture
def place(organisation):
    """`place(lon, lat, **preferences)`: a resident opted in to Kent Police, living there."""

    def make(lon: float, lat: float, *, opt_in=None, phone: str = "", **prefs) -> Member:
        member = MemberFactory(opt_in=[organisation] if opt_in is None else opt_in)
        member_location_set(member=member, longitude=lon, latitude=lat)
        if phone:
            Member.objects.filter(pk=member.pk).update(phone=phone)
        if prefs:
            Preferences.objects.filter(member=member).update(**prefs)
        return member

    return make


@pytest.fixture
def north_resident(kent, place):
    return place(0.05, 51.05)


@pytest.fixture
def south_resident(kent, place):
    return place(0.05, 50.95)


@pytest.fixture
def watch(organisation, kent):
    """Kent Police's Neighbourhood Watch scheme over North Ward, with its coordinator."""
    group = CommunityGroup.objects.create(
        name="Elm Road Watch", slug="elm-road-watch", kind="scheme", organisation=organisation, area=kent["north"]
    )
    coordinator = MemberFactory(email="coord@example.org", first_name="Kim", opt_in=[organisation])
    Membership.objects.create(group=group, member=coordinator, role="coordinator")
    return group, coordinator


def png_bytes(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    """A real (tiny) PNG, made without Pillow; `padding` adds a text chunk to make it bigger."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw))
    if padding:
        body += chunk(b"tEXt", b"Comment\x00" + b"x" * padding)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


def upload(name: str, data: bytes, content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def draft(officer, kent):
    """A draft alert from Kent Police to North Ward."""
    from alerts.services import alert_create

    def make(**fields):
        values = {
            "kind": "alert",
            "category": "burglary",
            "priority": 2,
            "title": "Burglaries on Elm Road",
            "body_markdown": "Three homes were broken into last night. **Lock your doors.**",
            "audience": {"include": [{"area": kent["north"].pk}]},
        } | fields
        return alert_create(actor=officer, **values)

    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`committed(service, **kwargs)`: call it and run what it queued for the commit (the fan-out),
    as a real commit would; the test's own transaction never commits."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run
