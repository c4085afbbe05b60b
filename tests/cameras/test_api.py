"""The officers' API: search, request, read answers and the custody log, download."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cameras.models import CameraSearch

from .conftest import CENTRE, MP4

pytestmark = pytest.mark.django_db


def test_an_officer_searches_requests_and_downloads_through_the_api(
    client_for, officer, owner, camera_for, kent_area, django_capture_on_commit_callbacks
):
    camera = camera_for(owner, covers="The bus stop")
    api = client_for(officer)
    incident = timezone.now() - timedelta(days=1)

    searched = api.post(
        reverse("api-cameras-searches"),
        {
            "incident_reference": "46/API/26",
            "incident_at": incident.isoformat(),
            "latitude": CENTRE[1],
            "longitude": CENTRE[0],
            "radius_m": 250,
        },
        content_type="application/json",
    )
    assert searched.status_code == 201
    body = searched.json()
    assert [c["id"] for c in body["cameras"]] == [camera.pk]
    assert body["cameras"][0]["covers"] == "The bus stop"
    assert owner.email not in searched.content.decode()
    assert CameraSearch.objects.get().officer == officer

    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(
            reverse("api-cameras-requests"),
            {
                "search": body["id"],
                "cameras": [camera.pk],
                "window_start": (incident - timedelta(minutes=30)).isoformat(),
                "window_end": (incident + timedelta(minutes=30)).isoformat(),
                "location": "Bus stop",
                "message": "Please look",
            },
            content_type="application/json",
        )
    assert sent.status_code == 201
    ask_id = sent.json()["asks"][0]["id"]
    assert sent.json()["asks"][0]["contact"] is None

    answered = client_for(owner).post(
        reverse("api-cameras-ask-answer", kwargs={"pk": ask_id}),
        {"answer": "footage", "share_contact": "true", "file": SimpleUploadedFile("bus.mp4", MP4)},
    )
    assert answered.status_code == 200

    api = client_for(officer)
    detail = api.get(reverse("api-cameras-request", kwargs={"pk": sent.json()["id"]})).json()
    assert detail["asks"][0]["contact"]["email"] == owner.email
    evidence = detail["asks"][0]["evidence"][0]
    download = api.get(reverse("api-cameras-evidence", kwargs={"uuid": evidence["id"]}))
    assert b"".join(download.streaming_content) == MP4
    custody = api.get(reverse("api-cameras-custody", kwargs={"pk": sent.json()["id"]})).json()
    assert [e["action"] for e in custody["results"]] == ["received", "downloaded"]
