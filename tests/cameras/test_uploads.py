"""Footage handed over: streamed, typed by its bytes, hashed, limited, and nothing kept on failure.

The resident answers a footage request with a file, through the page and the API. The
stored file's SHA-256 is the one recorded; a file that is not video or a photo, one
over the limit, or an upload cut off half way leaves no row, no stored file and no
temporary file behind.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from cameras import uploads
from cameras.models import CustodyEntry, Evidence, FootageAsk

from .conftest import JPEG, MP4, PNG

pytestmark = pytest.mark.django_db


def files_in(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture
def ask(owner, camera_for, ask_for):
    return ask_for(camera_for(owner, covers="the road"))


def answer_page(client, ask, **data):
    return client.post(reverse("cameras:ask", kwargs={"pk": ask.pk}), {"answer": "footage", **data})


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("clip.mp4", MP4, "video/mp4"),
        # The name says nothing: the bytes decide.
        ("IMG_0001", JPEG, "image/jpeg"),
        ("still.dat", PNG, "image/png"),
    ],
)
def test_an_upload_is_stored_with_the_hash_of_the_bytes_stored(
    client_for, owner, ask, evidence_storage, name, content, content_type
):
    assert Evidence.objects.count() == 0

    response = answer_page(client_for(owner), ask, file=SimpleUploadedFile(name, content), note="At 02:13 a man")

    assert response.status_code == 302
    evidence = Evidence.objects.get()
    stored = evidence_storage["store"] / evidence.file.name
    assert stored.read_bytes() == content
    assert evidence.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert (evidence.size, evidence.content_type, evidence.original_name) == (len(content), content_type, name)
    assert evidence.uploaded_by == owner
    # Stored under a name we made, never the uploader's.
    assert name not in evidence.file.name
    ask.refresh_from_db()
    assert (ask.status, ask.owner_note) == (FootageAsk.Status.FOOTAGE, "At 02:13 a man")
    assert list(evidence.custody.values_list("action", flat=True)) == [CustodyEntry.Action.RECEIVED]
    assert files_in(evidence_storage["uploads"]) == []  # the temporary file is gone


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("clip.mp4", b"This is a text file pretending to be a video. " * 20),
        ("page.mp4", b"<!doctype html><html><body>not a video</body></html>" * 10),
        ("archive.mov", b"PK\x03\x04" + b"\x00" * 500),  # a zip, named as a video
    ],
)
def test_a_file_whose_bytes_are_not_video_or_a_photo_is_refused_and_nothing_is_kept(
    client_for, owner, ask, evidence_storage, name, content
):
    response = answer_page(client_for(owner), ask, file=SimpleUploadedFile(name, content, "video/mp4"))

    assert response.status_code == 400
    assert "whatever its name says. Nothing was kept." in response.content.decode()
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["store"]) == []
    assert files_in(evidence_storage["uploads"]) == []
    ask.refresh_from_db()
    assert ask.status == FootageAsk.Status.AWAITING


def test_a_file_over_the_limit_is_stopped_while_it_streams(client_for, owner, ask, settings, evidence_storage):
    settings.CAMERA_UPLOAD_MAX_BYTES = 4096

    response = answer_page(client_for(owner), ask, file=SimpleUploadedFile("long.mp4", MP4 * 2))

    assert response.status_code == 413
    assert "The file is too big: the limit is 4.0\xa0KB. Nothing was kept." in response.content.decode()
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["store"]) == []
    assert files_in(evidence_storage["uploads"]) == []


def test_an_upload_announced_over_the_limit_is_refused_unread_with_a_clear_413(
    owner, ask, settings, evidence_storage, monkeypatch
):
    """Content-Length over the limit: answered at once, before the body (and its CSRF token) is read."""
    settings.CAMERA_UPLOAD_MAX_BYTES = 4096
    monkeypatch.setattr(uploads, "FORM_OVERHEAD_BYTES", 512)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = answer_page(client, ask, file=SimpleUploadedFile("long.mp4", MP4 * 2))

    assert response.status_code == 413
    assert "The file is too big" in response.content.decode()
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["uploads"]) == []


def test_an_interrupted_upload_leaves_nothing_behind(client_for, owner, ask, evidence_storage):
    body = encode_multipart(BOUNDARY, {"answer": "footage", "file": SimpleUploadedFile("clip.mp4", MP4 * 4)})
    cut = body[: len(body) // 2]  # the connection dropped half way through the file

    response = client_for(owner).generic(
        "POST", reverse("cameras:ask", kwargs={"pk": ask.pk}), cut, content_type=MULTIPART_CONTENT
    )

    assert response.status_code == 400
    assert "The upload did not finish, so nothing was kept." in response.content.decode()
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["store"]) == []
    assert files_in(evidence_storage["uploads"]) == []


def test_a_failure_after_the_file_was_stored_removes_it(client_for, owner, ask, evidence_storage, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("cameras.services.audit_record", broken)

    with pytest.raises(RuntimeError):
        answer_page(client_for(owner), ask, file=SimpleUploadedFile("clip.mp4", MP4))

    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["store"]) == []


def test_two_files_at_once_are_refused(client_for, owner, ask, evidence_storage):
    response = client_for(owner).post(
        reverse("cameras:ask", kwargs={"pk": ask.pk}),
        {"answer": "footage", "file": [SimpleUploadedFile("a.mp4", MP4), SimpleUploadedFile("b.mp4", MP4)]},
    )

    assert response.status_code == 400
    assert "Send one file at a time" in response.content.decode()
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["uploads"]) == []


def test_footage_needs_a_file(client_for, owner, ask):
    response = answer_page(client_for(owner), ask)

    assert response.status_code == 400
    assert "Choose the file with the footage to upload." in response.content.decode()


def test_the_api_takes_the_upload_as_multipart(client_for, owner, ask, evidence_storage):
    url = reverse("api-cameras-ask-answer", kwargs={"pk": ask.pk})

    response = client_for(owner).post(url, {"answer": "footage", "file": SimpleUploadedFile("c.mp4", MP4)})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "footage"
    assert body["evidence"][0]["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert body["evidence"][0]["content_type"] == "video/mp4"
    stored = evidence_storage["store"] / Evidence.objects.get().file.name
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == body["evidence"][0]["sha256"]


def test_the_api_refuses_a_file_over_the_limit_with_413(client_for, owner, ask, settings, evidence_storage):
    settings.CAMERA_UPLOAD_MAX_BYTES = 4096
    url = reverse("api-cameras-ask-answer", kwargs={"pk": ask.pk})

    response = client_for(owner).post(url, {"answer": "footage", "file": SimpleUploadedFile("c.mp4", MP4 * 2)})

    assert response.status_code == 413
    assert response.json() == {"detail": "The file is too big: the limit is 4.0\xa0KB. Nothing was kept."}
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["uploads"]) == []


def test_the_api_refuses_a_file_that_is_not_footage(client_for, owner, ask, evidence_storage):
    url = reverse("api-cameras-ask-answer", kwargs={"pk": ask.pk})

    response = client_for(owner).post(url, {"answer": "footage", "file": SimpleUploadedFile("c.mp4", b"hello" * 99)})

    assert response.status_code == 400
    assert "whatever its name says" in response.json()["file"][0]
    assert Evidence.objects.count() == 0
    assert files_in(evidence_storage["store"]) == []
