"""A small town for the dispatch tests: two wards side by side, residents placed in them."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from groups.services import area_upsert, member_location_set
from members.models import Member, Preferences
from notifications.models import Dispatch
from tests.factories import MemberFactory


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def wards(db):
    """North Ward (lat 51.0-51.1) and South Ward (lat 50.9-51.0), 0.1 degrees wide."""
    north, _ = area_upsert(code="E05TEST01", name="North Ward", level="ward", geometry=square(0, 51.0, 0.1, 51.1))
    south, _ = area_upsert(code="E05TEST02", name="South Ward", level="ward", geometry=square(0, 50.9, 0.1, 51.0))
    return north, south


@pytest.fixture
def place(organisation):
    """`place(lon, lat, phone=…, first_name=…, **preferences)`: a resident opted in to Kent Police, living there."""

    def make(
        lon: float | None, lat: float | None, *, opt_in=None, phone: str = "", first_name: str = "Alex", **prefs
    ) -> Member:
        member = MemberFactory(opt_in=[organisation] if opt_in is None else opt_in, first_name=first_name)
        if lon is not None:
            member_location_set(member=member, longitude=lon, latitude=lat)
        if phone:
            Member.objects.filter(pk=member.pk).update(phone=phone)
            member.phone = phone
        if prefs:
            Preferences.objects.filter(member=member).update(**prefs)
        return member

    return make


@pytest.fixture
def make_dispatch(organisation, officer):
    """`make_dispatch(audience, **fields)`: a pending dispatch from Kent Police."""

    def make(audience: dict, **fields) -> Dispatch:
        values = {
            "organisation": organisation,
            "source_type": "alerts.alert",
            "source_id": "1",
            "priority": 3,
            "subject": "Burglaries on Elm Road",
            "body_text": "Three homes were broken into last night. Lock your doors and windows.",
            "url": "https://mcv.example/alerts/1/",
            "created_by": officer,
            "audience": audience,
            **fields,
        }
        return Dispatch.objects.create(**values)

    return make


QUIET_NIGHT = {"quiet_hours_start": time(22, 0), "quiet_hours_end": time(7, 0)}


class CountingBackend(LocmemBackend):
    """The test outbox, counting connections the way SMTP makes them.

    `send_messages` on a closed backend opens a connection for that call alone (as
    Django's SMTP backend does), so sending without one reused connection shows up
    as many connections.
    """

    connections_opened = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_open = False

    def open(self):
        if self.is_open:
            return False
        CountingBackend.connections_opened += 1  # on the base class, whichever subclass counts
        self.is_open = True
        return True

    def close(self):
        self.is_open = False

    def send_messages(self, messages):
        opened = self.open()
        try:
            return super().send_messages(messages)
        finally:
            if opened:
                self.close()


@pytest.fixture
def counting_mailer(settings):
    CountingBackend.connections_opened = 0
    settings.MAILERS = {"default": {"BACKEND": "tests.notifications.conftest.CountingBackend"}}
    return CountingBackend


class FlakyBackend(CountingBackend):
    """The counting outbox, answering with an SMTP error for chosen recipients.

    `FlakyBackend.failures[address] = [exc, …]`: each send to that address raises the
    next error in its list; once the list is used up, sends succeed.
    """

    failures: dict[str, list[Exception]] = {}

    def send_messages(self, messages):
        for message in messages:
            pending = self.failures.get(message.to[0])
            if pending:
                raise pending.pop(0)
        return super().send_messages(messages)


@pytest.fixture
def flaky_mailer(settings):
    CountingBackend.connections_opened = 0
    FlakyBackend.failures = {}
    settings.MAILERS = {"default": {"BACKEND": "tests.notifications.conftest.FlakyBackend"}}
    return FlakyBackend


def everything():
    """The widest id range: a batch over every delivery of a dispatch."""
    return {"first_id": 0, "last_id": 2**62}
