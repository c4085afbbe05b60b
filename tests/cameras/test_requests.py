"""From a search to footage in the force's hands: the request reaches each owner through
the dispatch pipeline with a "preserve by" day; owners answer; officers read the answers,
download evidence, and every download is in the custody log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cameras.models import Camera, CustodyEntry, Evidence, FootageAsk, FootageRequest
from cameras.services import footage_request_create
from members.services import member_erase, member_export
from notifications.models import Delivery, Dispatch

from .conftest import MP4, near

pytestmark = pytest.mark.django_db


def test_a_request_reaches_each_owner_with_their_preserve_by_day(
    officer, make_owner, camera_for, search_near, django_capture_on_commit_callbacks
):
    first, second = make_owner(*near(50)), make_owner(*near(-80))
    doorbell = camera_for(first, retention_days=30)
    dashcam = camera_for(first, kind="dashcam", retention_days=3)
    cctv = camera_for(second, retention_days=14)
    search, hits = search_near(radius_m=300)
    assert {h.id for h in hits} == {doorbell.pk, dashcam.pk, cctv.pk}
    start = timezone.now() - timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        request = footage_request_create(
            officer=officer,
            search=search,
            camera_ids=[doorbell.pk, dashcam.pk, cctv.pk],
            window_start=start,
            window_end=start + timedelta(hours=2),
            location="Week Street",
            message="A car was broken into.",
        )

    asks = {a.camera_id: a for a in request.asks.all()}
    assert asks[doorbell.pk].preserve_by == timezone.localtime(start).date() + timedelta(days=30)
    assert asks[dashcam.pk].preserve_by == timezone.localtime(start).date() + timedelta(days=3)
    dispatches = Dispatch.objects.filter(source_type="cameras.footagerequest", source_id=str(request.pk))
    assert dispatches.count() == 2  # one message per owner
    inbox = Delivery.objects.filter(dispatch__in=dispatches, channel="inbox")
    assert set(inbox.values_list("member_id", flat=True)) == {first.pk, second.pk}
    to_first = dispatches.get(audience__include=[{"members": [first.pk]}])
    assert "Your doorbell camera: please save the footage before the end of" in to_first.body_text
    assert "Your dashcam (in a vehicle): please save" in to_first.body_text
    # The dashcam's footage goes within two days: urgent, past quiet hours.
    assert to_first.priority == 2
    assert dispatches.exclude(pk=to_first.pk).get().priority == 3


def test_a_request_only_asks_cameras_the_search_still_finds(officer, owner, make_owner, camera_for, search_near):
    camera = camera_for(owner)
    elsewhere = camera_for(make_owner(*near(3000)))
    search, _ = search_near(radius_m=300)
    start = timezone.now() - timedelta(days=1)

    with pytest.raises(ValidationError) as refused:
        footage_request_create(
            officer=officer,
            search=search,
            camera_ids=[camera.pk, elsewhere.pk],
            window_start=start,
            window_end=start + timedelta(hours=1),
            location="Here",
            message="Please",
        )

    assert "1 of the cameras chosen can no longer be asked" in str(refused.value)
    assert not FootageRequest.objects.exists()


def test_an_officer_sends_a_request_from_the_search_page(client_for, officer, owner, camera_for, search_near):
    camera = camera_for(owner)
    search, _ = search_near()
    start = timezone.localtime() - timedelta(days=1)

    response = client_for(officer).post(
        reverse("cameras:search_detail", kwargs={"pk": search.pk}),
        {
            "cameras": [camera.pk],
            "window_start": start.strftime("%Y-%m-%dT%H:%M"),
            "window_end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "location": "Week Street",
            "message": "Did you see a red van?",
        },
    )

    request = FootageRequest.objects.get()
    assert response["Location"] == reverse("cameras:request_detail", kwargs={"pk": request.pk})
    assert request.asks.get().owner == owner


def test_a_request_with_the_window_backwards_is_refused_with_a_message(
    client_for, officer, owner, camera_for, search_near
):
    camera = camera_for(owner)
    search, _ = search_near()

    response = client_for(officer).post(
        reverse("cameras:search_detail", kwargs={"pk": search.pk}),
        {
            "cameras": [camera.pk],
            "window_start": "2026-01-02T10:00",
            "window_end": "2026-01-02T09:00",
            "location": "Week Street",
            "message": "Please",
        },
    )

    assert response.status_code == 400
    assert "The end of the time window must be after its start." in response.content.decode()
    assert not FootageRequest.objects.exists()


@pytest.fixture
def answered(client_for, owner, camera_for, ask_for):
    """The owner was asked and answered with a video, sharing nothing."""
    ask = ask_for(camera_for(owner))
    client_for(owner).post(
        reverse("cameras:ask", kwargs={"pk": ask.pk}),
        {"answer": "footage", "file": SimpleUploadedFile("front.mp4", MP4)},
    )
    return FootageAsk.objects.get(pk=ask.pk)


def test_the_owner_sees_the_request_and_the_day_to_save_by(client_for, owner, camera_for, ask_for):
    ask = ask_for(camera_for(owner))

    page = client_for(owner).get(reverse("cameras:ask", kwargs={"pk": ask.pk})).content.decode()

    assert "46/12345/26" in page and "Week Street, by the bus stop" in page
    assert f"{ask.preserve_by:%A} {ask.preserve_by.day} {ask.preserve_by:%B %Y}" in page
    inbox = client_for(owner).get(reverse("notifications:inbox")).content.decode()
    assert "Footage request from Kent Police" in inbox


def test_officers_see_answers_without_contact_details_unless_shared(client_for, officer, owner, answered):
    page = (
        client_for(officer).get(reverse("cameras:request_detail", kwargs={"pk": answered.request_id})).content.decode()
    )
    assert "front.mp4" in page and "Not shared" in page
    assert owner.email not in page and owner.get_full_name() not in page

    client_for(owner).post(
        reverse("cameras:ask", kwargs={"pk": answered.pk}), {"answer": "footage", "share_contact": "on"}
    )

    page = (
        client_for(officer).get(reverse("cameras:request_detail", kwargs={"pk": answered.request_id})).content.decode()
    )
    assert owner.email in page and owner.get_full_name() in page


def test_every_download_is_in_the_custody_log_and_its_export(
    client_for, officer, force_admin, answered, evidence_storage
):
    evidence = Evidence.objects.get()
    url = reverse("cameras:evidence_download", kwargs={"uuid": evidence.uuid})

    response = client_for(officer).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == MP4
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    client_for(force_admin).get(url)

    entries = list(CustodyEntry.objects.filter(evidence=evidence).values_list("action", "actor_name"))
    assert entries == [
        ("received", f"The camera's owner (answer {answered.pk})"),
        ("downloaded", officer.get_full_name()),
        ("downloaded", force_admin.get_full_name()),
    ]
    log = client_for(officer).get(reverse("cameras:custody", kwargs={"pk": answered.request_id})).content.decode()
    assert log.count("Downloaded") == 2
    export = client_for(officer).get(reverse("cameras:custody_export", kwargs={"pk": answered.request_id}))
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [(r["action"], r["by"], r["sha256"]) for r in rows] == [
        ("received", f"The camera's owner (answer {answered.pk})", evidence.sha256),
        ("downloaded", officer.get_full_name(), evidence.sha256),
        ("downloaded", force_admin.get_full_name(), evidence.sha256),
    ]


def test_evidence_is_only_for_the_requesting_force_and_the_uploader(
    client_for, owner, other_resident, officer_other_org, answered
):
    evidence = Evidence.objects.get()
    url = reverse("cameras:evidence_download", kwargs={"uuid": evidence.uuid})

    assert client_for(officer_other_org).get(url).status_code == 404
    assert client_for(other_resident).get(url).status_code == 404
    assert (
        client_for(officer_other_org)
        .get(reverse("cameras:request_detail", kwargs={"pk": answered.request_id}))
        .status_code
        == 404
    )
    assert client_for(owner).get(url).status_code == 200
    assert CustodyEntry.objects.filter(action="downloaded").count() == 1


def test_a_file_name_cannot_become_a_spreadsheet_formula(client_for, officer, owner, camera_for, ask_for):
    ask = ask_for(camera_for(owner))
    client_for(owner).post(
        reverse("cameras:ask", kwargs={"pk": ask.pk}),
        {"answer": "footage", "file": SimpleUploadedFile("=HYPERLINK(1).mp4", MP4)},
    )

    export = client_for(officer).get(reverse("cameras:custody_export", kwargs={"pk": ask.request_id}))

    row = next(csv.DictReader(io.StringIO(export.content.decode())))
    assert row["file_name"] == "'=HYPERLINK(1).mp4"


def test_no_longer_having_the_camera_removes_it(client_for, owner, camera_for, ask_for):
    camera = camera_for(owner)
    ask = ask_for(camera)

    client_for(owner).post(reverse("cameras:ask", kwargs={"pk": ask.pk}), {"answer": "no_camera"})

    assert not Camera.objects.filter(pk=camera.pk).exists()
    ask.refresh_from_db()
    assert (ask.status, ask.camera_kind) == ("no_camera", "doorbell")  # what the officer saw stays


def test_erasing_an_account_removes_cameras_and_keeps_evidence_marked(
    client_for, officer, owner, answered, camera_for, evidence_storage
):
    client_for(owner).post(
        reverse("cameras:ask", kwargs={"pk": answered.pk}), {"answer": "footage", "share_contact": "on"}
    )
    camera_for(owner)
    exported = member_export(member=owner, actor=owner)["cameras"]
    assert len(exported["cameras"]) == 2
    assert exported["footage_requests"][0]["evidence"][0]["file_name"] == "front.mp4"

    member_erase(member=owner, actor=owner)

    assert not Camera.objects.filter(owner=owner).exists()
    evidence = Evidence.objects.get()
    assert evidence.from_erased_member
    assert (evidence_storage["store"] / evidence.file.name).read_bytes() == MP4
    ask = FootageAsk.objects.get(pk=answered.pk)
    assert (ask.shared_name, ask.shared_email, ask.shared_phone) == ("", "", "")
    page = (
        client_for(officer).get(reverse("cameras:request_detail", kwargs={"pk": answered.request_id})).content.decode()
    )
    assert "from an erased member" in page
    assert (
        client_for(officer).get(reverse("cameras:evidence_download", kwargs={"uuid": evidence.uuid})).status_code == 200
    )


def test_the_requests_page_reads_in_few_queries(
    client_for, officer, make_owner, camera_for, ask_for, django_assert_max_num_queries
):
    for i in range(4):
        ask_for(camera_for(make_owner(*near(10 * i))))
    client = client_for(officer)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("cameras:requests")).status_code == 200


def test_once_footage_is_sent_the_owner_cannot_answer_nothing_relevant(client_for, owner, answered):
    assert answered.status == "footage"

    response = client_for(owner).post(reverse("cameras:ask", kwargs={"pk": answered.pk}), {"answer": "nothing"})

    assert response.status_code == 400
    assert "You have already sent footage for this request" in response.content.decode()
    answered.refresh_from_db()
    assert answered.status == "footage"
    assert answered.evidence.count() == 1
