"""The yearly question, asked once, and cameras at home following their owners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from cameras import tasks
from cameras.models import Camera
from groups.services import member_location_set

from .conftest import CENTRE

pytestmark = pytest.mark.django_db


def age(camera, days: int) -> None:
    Camera.objects.filter(pk=camera.pk).update(confirmed_at=timezone.now() - timedelta(days=days))


def test_owners_are_asked_once_a_year_and_only_once(owner, make_owner, camera_for):
    due = camera_for(owner, label="Front door")
    age(due, 366)
    recent = camera_for(make_owner(0.53, 51.28))
    age(recent, 100)

    assert tasks.camera_confirmations_request.delay().get() == 1
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "Front door" in mail.outbox[0].body
    assert "/cameras/" in mail.outbox[0].body

    # The task again, the same day or the next: nobody is asked twice.
    assert tasks.camera_confirmations_request.delay().get() == 0
    assert len(mail.outbox) == 1
    due.refresh_from_db()
    assert due.confirmation_asked_at is not None


def test_a_confirmed_camera_is_asked_about_again_the_year_after(owner, camera_for, client_for):
    camera = camera_for(owner)
    age(camera, 366)
    tasks.camera_confirmations_request.delay().get()
    client_for(owner).post("/cameras/confirm/")
    camera.refresh_from_db()
    assert camera.confirmation_asked_at is None

    age(camera, 370)
    assert tasks.camera_confirmations_request.delay().get() == 1
    assert len(mail.outbox) == 2


def test_the_beat_runs_both_tasks():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"cameras.tasks.camera_confirmations_request", "cameras.tasks.cameras_follow_homes"} <= scheduled


def test_cameras_at_home_follow_their_owner_when_they_move(owner, camera_for):
    at_home = camera_for(owner)
    dashcam = camera_for(owner, kind="dashcam")
    pinned = camera_for(owner, latitude=51.29, longitude=0.51)
    member_location_set(member=owner, longitude=0.55, latitude=51.30)

    assert tasks.cameras_follow_homes.delay().get() == 2

    for camera in (at_home, dashcam):
        camera.refresh_from_db()
        assert (camera.longitude, camera.latitude) == (0.55, 51.30)
    pinned.refresh_from_db()
    assert (pinned.longitude, pinned.latitude) == (0.51, 51.29)
    assert tasks.cameras_follow_homes.delay().get() == 0


def test_a_camera_at_home_stays_put_if_the_home_is_no_longer_known(owner, camera_for):
    camera = camera_for(owner)
    type(owner).objects.filter(pk=owner.pk).update(latitude=None, longitude=None)

    assert tasks.cameras_follow_homes.delay().get() == 0
    camera.refresh_from_db()
    assert (camera.longitude, camera.latitude) == CENTRE
