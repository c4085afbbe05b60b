"""A resident's cameras: registering (at home, at a pin, a dashcam), changing, removing,
confirming once a year; nobody else ever sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cameras.models import Camera
from core.models import AuditEvent

from .conftest import CENTRE

pytestmark = pytest.mark.django_db

FORM = {"kind": "doorbell", "placement": "home", "retention_days": "30", "willing": "on", "covers": "My drive"}


def test_a_resident_registers_a_doorbell_camera_at_home(client_for, owner):
    assert not Camera.objects.exists()

    response = client_for(owner).post(reverse("cameras:register"), {**FORM, "facing": "NE", "label": "Front door"})

    assert response.status_code == 302
    camera = Camera.objects.get()
    assert (camera.owner, camera.kind, camera.placement) == (owner, "doorbell", "home")
    assert (camera.longitude, camera.latitude) == CENTRE  # the owner's home
    assert (camera.facing, camera.covers, camera.retention_days, camera.willing) == ("NE", "My drive", 30, True)
    assert AuditEvent.objects.filter(action="cameras.camera.registered", actor=owner).exists()
    page = client_for(owner).get(reverse("cameras:mine")).content.decode()
    assert "Front door" in page and "My drive" in page


def test_a_camera_elsewhere_goes_where_the_pin_is(client_for, owner):
    data = {**FORM, "placement": "pin", "latitude": "51.2801", "longitude": "0.5302"}

    assert client_for(owner).post(reverse("cameras:register"), data).status_code == 302

    camera = Camera.objects.get()
    assert (camera.placement, camera.latitude, camera.longitude) == ("pin", 51.2801, 0.5302)


def test_a_pin_camera_needs_its_pin(client_for, owner):
    response = client_for(owner).post(reverse("cameras:register"), {**FORM, "placement": "pin"})

    assert response.status_code == 400
    assert "Put a pin on the map where the camera is" in response.content.decode()
    assert not Camera.objects.exists()


def test_a_dashcam_is_found_by_the_owners_home_whatever_pin_is_given(client_for, owner):
    data = {**FORM, "kind": "dashcam", "placement": "pin", "latitude": "52.0", "longitude": "1.0"}

    assert client_for(owner).post(reverse("cameras:register"), data).status_code == 302

    camera = Camera.objects.get()
    assert (camera.placement, camera.longitude, camera.latitude) == ("home", *CENTRE)


def test_a_camera_at_home_needs_a_known_home(client_for, resident):
    assert resident.latitude is None

    response = client_for(resident).post(reverse("cameras:register"), FORM)

    assert response.status_code == 400
    assert "We do not know where your home is yet" in response.content.decode()
    assert not Camera.objects.exists()


@pytest.mark.parametrize("retention", ["0", "366", ""])
def test_retention_is_one_day_to_a_year(client_for, owner, retention):
    response = client_for(owner).post(reverse("cameras:register"), {**FORM, "retention_days": retention})

    assert response.status_code == 400
    assert not Camera.objects.exists()


def test_officers_do_not_register_cameras(client_for, officer):
    response = client_for(officer).post(reverse("cameras:register"), FORM)

    assert response.status_code == 403
    assert not Camera.objects.exists()


def test_the_owner_changes_a_camera_and_that_confirms_it(client_for, owner, camera_for):
    camera = camera_for(owner)
    old = timezone.now() - timedelta(days=400)
    Camera.objects.filter(pk=camera.pk).update(confirmed_at=old)

    response = client_for(owner).post(
        reverse("cameras:edit", kwargs={"pk": camera.pk}), {**FORM, "retention_days": "7"}
    )

    assert response.status_code == 302
    camera.refresh_from_db()
    assert camera.retention_days == 7
    assert camera.confirmed_at > old + timedelta(days=399)


def test_nobody_else_sees_or_changes_a_camera(client_for, owner, other_resident, camera_for):
    camera = camera_for(owner, covers="Secret corner")

    assert "Secret corner" not in client_for(other_resident).get(reverse("cameras:mine")).content.decode()
    for name in ("cameras:edit", "cameras:remove"):
        assert client_for(other_resident).get(reverse(name, kwargs={"pk": camera.pk})).status_code == 404
        assert client_for(other_resident).post(reverse(name, kwargs={"pk": camera.pk}), FORM).status_code == 404
    assert client_for(other_resident).get(reverse("api-cameras-detail", kwargs={"pk": camera.pk})).status_code == 404
    assert Camera.objects.get(pk=camera.pk).covers == "Secret corner"


def test_the_owner_removes_a_camera(client_for, owner, camera_for):
    camera = camera_for(owner)

    response = client_for(owner).post(reverse("cameras:remove", kwargs={"pk": camera.pk}))

    assert response.status_code == 302
    assert not Camera.objects.filter(pk=camera.pk).exists()


def test_once_a_year_the_owner_is_asked_to_confirm_and_does(client_for, owner, camera_for):
    camera = camera_for(owner)
    assert "Do you still have these cameras?" not in client_for(owner).get(reverse("cameras:mine")).content.decode()
    Camera.objects.filter(pk=camera.pk).update(confirmed_at=timezone.now() - timedelta(days=366))
    assert "Do you still have these cameras?" in client_for(owner).get(reverse("cameras:mine")).content.decode()

    client_for(owner).post(reverse("cameras:confirm"))

    camera.refresh_from_db()
    assert timezone.now() - camera.confirmed_at < timedelta(minutes=1)
    assert "Do you still have these cameras?" not in client_for(owner).get(reverse("cameras:mine")).content.decode()


def test_the_api_registers_lists_changes_and_removes(client_for, owner):
    client = client_for(owner)
    created = client.post(
        reverse("api-cameras-list"),
        {"kind": "cctv", "placement": "pin", "latitude": 51.28, "longitude": 0.53, "retention_days": 31},
        content_type="application/json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert client.get(reverse("api-cameras-list")).json()["count"] == 1

    changed = client.patch(
        reverse("api-cameras-detail", kwargs={"pk": pk}), {"willing": False}, content_type="application/json"
    )
    assert changed.status_code == 200
    assert changed.json()["willing"] is False

    assert client.delete(reverse("api-cameras-detail", kwargs={"pk": pk})).status_code == 204
    assert not Camera.objects.exists()


def test_the_api_says_why_a_camera_cannot_be_placed(client_for, resident):
    response = client_for(resident).post(
        reverse("api-cameras-list"), {"kind": "doorbell", "retention_days": 30}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "We do not know where your home is yet" in response.json()["placement"][0]


def test_my_cameras_page_reads_in_few_queries(client_for, owner, camera_for, django_assert_max_num_queries):
    for _ in range(8):
        camera_for(owner)
    client = client_for(owner)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("cameras:mine")).status_code == 200
