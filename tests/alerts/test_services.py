"""Writing, publishing, scheduling, updating and withdrawing alerts, through the services."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertImage, AlertUpdate
from alerts.services import (
    alert_create,
    alert_delete,
    alert_edit,
    alert_image_add,
    alert_image_remove,
    alert_publish,
    alert_schedule,
    alert_unschedule,
    alert_update_send,
    alert_withdraw,
    alerts_release_scheduled,
)
from core.models import AuditEvent
from groups.models import CommunityGroup
from groups.services import member_location_set
from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_fan_out, dispatch_sweep
from tests.factories import MemberFactory, OfficerFactory

from .conftest import png_bytes, square, upload

pytestmark = pytest.mark.django_db


def received(dispatch_id: int, channel: str = "inbox") -> set[int]:
    return set(Delivery.objects.filter(dispatch_id=dispatch_id, channel=channel).values_list("member_id", flat=True))


# --- drafts


def test_a_draft_is_saved_sanitised_and_sends_nothing(draft, north_resident):
    alert = draft(body_markdown="Hello <script>alert(1)</script> [x](javascript:alert(1)) **now**")

    assert alert.status == Alert.Status.DRAFT
    assert alert.body_markdown.startswith("Hello <script>")  # what the officer typed is kept
    assert "<script>" not in alert.body_html and "javascript:" not in alert.body_html.split("&lt;")[0]
    assert "<strong>now</strong>" in alert.body_html
    assert not Dispatch.objects.exists()


def test_an_event_needs_a_time_and_a_place_and_cannot_end_before_it_starts(draft):
    with pytest.raises(ValidationError) as missing:
        draft(kind="event")
    assert set(missing.value.message_dict) == {"event_starts_at", "event_place"}

    start = timezone.now() + timedelta(days=3)
    with pytest.raises(ValidationError) as backwards:
        draft(kind="event", event_starts_at=start, event_ends_at=start - timedelta(hours=1), event_place="Hall")
    assert backwards.value.message_dict == {"event_ends_at": ["The event cannot end before it starts."]}

    event = draft(kind="event", event_starts_at=start, event_ends_at=start + timedelta(hours=2), event_place="Hall")
    assert (event.kind, event.event_place) == ("event", "Hall")


def test_every_problem_is_named_at_once(officer, kent):
    with pytest.raises(ValidationError) as caught:
        alert_create(
            actor=officer, kind="rumour", category="gossip", priority=9, title=" ", body_markdown="",
            links=[{"title": "x", "url": "javascript:alert(1)"}],
        )  # fmt: skip
    assert set(caught.value.message_dict) == {"kind", "category", "priority", "title", "body_markdown", "links"}
    assert not Alert.objects.exists()


def test_only_officers_write_alerts(resident, kent):
    with pytest.raises(PermissionDenied):
        alert_create(actor=resident, kind="alert", category="burglary", priority=3, title="Hi", body_markdown="Hello")


def test_an_officer_targets_only_inside_their_organisations_areas(draft, essex, officer_other_org, organisation):
    with pytest.raises(ValidationError, match="areas your organisation covers"):
        draft(audience={"include": [{"area": essex["force"].pk}]})
    with pytest.raises(ValidationError, match="reaches outside"):
        draft(audience={"include": [{"radius": {"lon": 1.1, "lat": 51.6, "metres": 500}}]})
    essex_group = CommunityGroup.objects.create(
        name="Essex Watch", slug="essex-watch", kind="interest", organisation=officer_other_org.organisation
    )
    with pytest.raises(ValidationError, match="your organisation's groups"):
        draft(audience={"include": [{"group": essex_group.pk}]})
    # Inside: a drawn square in North Ward, minus a circle.
    alert = draft(
        audience={
            "include": [{"polygon": square(0.01, 51.01, 0.09, 51.09)}],
            "exclude": [{"radius": {"lon": 0.05, "lat": 51.05, "metres": 300}}],
        }
    )
    assert alert.audience["exclude"][0]["radius"]["metres"] == 300.0


def test_another_organisations_officer_cannot_touch_a_draft(committed, draft, officer_other_org):
    alert = draft()
    for attempt in (
        lambda: alert_edit(actor=officer_other_org, alert=alert, title="Mine now"),
        lambda: committed(alert_publish, actor=officer_other_org, alert=alert),
        lambda: alert_delete(actor=officer_other_org, alert=alert),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    alert.refresh_from_db()
    assert (alert.title, alert.status) == ("Burglaries on Elm Road", "draft")


def test_a_draft_can_be_changed_and_deleted_but_a_published_alert_cannot(committed, draft, officer, north_resident):
    alert = draft()
    alert = alert_edit(actor=officer, alert=alert, title="Burglaries on Elm Road and Ash Lane", priority=1)
    assert (alert.title, alert.priority) == ("Burglaries on Elm Road and Ash Lane", 1)

    committed(alert_publish, actor=officer, alert=alert)
    with pytest.raises(ValidationError, match="Only a draft can be changed"):
        alert_edit(actor=officer, alert=alert, title="Changed after the fact")
    with pytest.raises(ValidationError, match="Only a draft can be deleted"):
        alert_delete(actor=officer, alert=alert)


# --- publishing


def test_publishing_writes_the_alert_and_its_dispatch_together_and_fans_out_on_commit(
    committed, draft, officer, north_resident, south_resident, django_capture_on_commit_callbacks
):
    alert = draft()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dispatch = alert_publish(actor=officer, alert=alert)
        assert not Delivery.objects.filter(dispatch=dispatch).exists()  # nothing before the commit
    assert callbacks

    alert.refresh_from_db()
    assert alert.status == Alert.Status.PUBLISHED and alert.published_at is not None
    assert alert.dispatch == dispatch
    assert (dispatch.source_type, dispatch.source_id) == ("alerts.alert", str(alert.pk))
    assert (dispatch.priority, dispatch.category, dispatch.created_by) == (2, "burglary", officer)
    assert dispatch.url.endswith(f"/alerts/{alert.pk}/")
    assert received(dispatch.pk) == {north_resident.pk}  # North Ward only
    assert AuditEvent.objects.filter(action="alerts.alert.published", target_id=str(alert.pk)).count() == 1


def test_a_failed_publish_leaves_neither_the_alert_published_nor_a_dispatch(committed, draft, officer, north_resident):
    alert = draft()

    @transaction.atomic
    def publish_then_fail():
        alert_publish(actor=officer, alert=alert)
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DRAFT and alert.dispatch is None
    assert not Dispatch.objects.exists()


def test_publishing_to_nobody_is_refused_with_a_clear_message(committed, draft, officer, kent, place):
    # Someone lives in South Ward, but nobody in North Ward has agreed to hear from Kent Police.
    place(0.05, 50.95)
    place(0.05, 51.05, opt_in=[])
    alert = draft()

    with pytest.raises(ValidationError, match="Nobody would receive this"):
        committed(alert_publish, actor=officer, alert=alert)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DRAFT
    assert not Dispatch.objects.exists()


def test_publishing_without_an_audience_is_refused(committed, draft, officer, north_resident):
    alert = draft(audience=None)
    with pytest.raises(ValidationError, match="Choose who this is for"):
        committed(alert_publish, actor=officer, alert=alert)


def test_interest_only_reaches_just_those_who_chose_the_category(committed, draft, officer, kent, place):
    from members.models import MemberInterest

    keen, indifferent = place(0.05, 51.05), place(0.06, 51.06)
    MemberInterest.objects.filter(member=indifferent, interest="burglary").delete()
    alert = draft(audience={"include": [{"area": kent["north"].pk}], "interest_only": True})

    dispatch = committed(alert_publish, actor=officer, alert=alert)

    assert received(dispatch.pk) == {keen.pk}


def test_a_ward_minus_a_drawn_area(committed, draft, officer, kent, place):
    inside_ward, in_hole = place(0.02, 51.02), place(0.07, 51.07)
    alert = draft(
        audience={"include": [{"area": kent["north"].pk}], "exclude": [{"polygon": square(0.06, 51.06, 0.08, 51.08)}]}
    )
    dispatch = committed(alert_publish, actor=officer, alert=alert)
    assert received(dispatch.pk) == {inside_ward.pk}
    assert in_hole.pk not in received(dispatch.pk, "email")


# --- scheduling


def test_a_scheduled_alert_waits_then_goes_and_is_marked_published(committed, draft, officer, north_resident):
    alert = draft()
    send_at = timezone.now() + timedelta(hours=2)
    dispatch = alert_schedule(actor=officer, alert=alert, send_at=send_at)

    alert.refresh_from_db()
    assert (alert.status, alert.scheduled_for, dispatch.send_at) == ("scheduled", send_at, send_at)
    assert not Delivery.objects.exists()
    assert alerts_release_scheduled() == 0

    later = send_at + timedelta(seconds=30)
    # The sweep finds it due (and queues its fan-out, which runs at that time).
    assert dispatch_sweep(now=later)["dispatches_fanned_out"] == 1
    committed(dispatch_fan_out, dispatch_id=dispatch.pk, now=later)
    assert alerts_release_scheduled(now=later) == 1
    alert.refresh_from_db()
    assert (alert.status, alert.published_at) == ("published", send_at)
    assert received(dispatch.pk) == {north_resident.pk}


def test_a_time_in_the_past_or_too_far_ahead_is_refused(draft, officer, north_resident):
    alert = draft()
    with pytest.raises(ValidationError, match="in the future"):
        alert_schedule(actor=officer, alert=alert, send_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(ValidationError, match="90 days"):
        alert_schedule(actor=officer, alert=alert, send_at=timezone.now() + timedelta(days=120))
    assert not Dispatch.objects.exists()


def test_cancelling_a_schedule_cancels_its_dispatch_and_nothing_is_ever_sent(committed, draft, officer, north_resident):
    alert = draft()
    send_at = timezone.now() + timedelta(hours=2)
    dispatch = alert_schedule(actor=officer, alert=alert, send_at=send_at)

    alert_unschedule(actor=officer, alert=alert)

    alert.refresh_from_db()
    dispatch.refresh_from_db()
    assert (alert.status, alert.dispatch_id, alert.scheduled_for) == ("draft", None, None)
    assert dispatch.status == Dispatch.Status.CANCELLED
    committed(dispatch_sweep, now=send_at + timedelta(minutes=5))
    assert not Delivery.objects.exists()


# --- after publishing


def test_an_update_reaches_exactly_those_who_got_the_original(committed, draft, officer, north_resident, place):
    alert = draft()
    original = committed(alert_publish, actor=officer, alert=alert)
    newcomer = place(0.03, 51.03)  # moved into North Ward after the alert went out

    update = committed(
        alert_update_send, actor=officer, alert=alert, kind="cancellation", body="He has been found. Thank you."
    )

    assert update.kind == AlertUpdate.Kind.CANCELLATION
    assert update.dispatch.audience == {"include": [{"dispatch": original.pk}], "exclude": [], "interest_only": False}
    assert received(update.dispatch_id) == {north_resident.pk}
    assert newcomer.pk not in received(update.dispatch_id)
    assert update.dispatch.subject == "Cancelled: Burglaries on Elm Road"
    assert update.dispatch.url.endswith(f"/alerts/{alert.pk}/#update-{update.pk}")
    assert "He has been found" in update.dispatch.body_text
    assert AuditEvent.objects.filter(action="alerts.alert.cancelled").count() == 1


def test_a_draft_cannot_be_updated_and_an_empty_update_is_refused(committed, draft, officer, north_resident):
    alert = draft()
    with pytest.raises(ValidationError, match="Only a published alert"):
        committed(alert_update_send, actor=officer, alert=alert, kind="update", body="More news")
    committed(alert_publish, actor=officer, alert=alert)
    with pytest.raises(ValidationError) as empty:
        committed(alert_update_send, actor=officer, alert=alert, kind="update", body="   ")
    assert empty.value.message_dict == {"body": ["Write what has changed."]}
    assert not AlertUpdate.objects.exists()


def test_withdrawing_stops_what_is_not_yet_sent_and_tells_those_who_got_it(committed, draft, officer, kent, place):
    awake = place(0.05, 51.05)
    # A digest member's copy waits for the evening: withdrawing stops it.
    waiting = place(0.06, 51.06, frequency="daily_digest")
    alert = draft(priority=4)
    dispatch = committed(alert_publish, actor=officer, alert=alert)
    assert Delivery.objects.get(dispatch=dispatch, member=waiting, channel="email").status == "digest"

    committed(alert_withdraw, actor=officer, alert=alert, reason="Posted by mistake.", notify=True)

    alert.refresh_from_db()
    assert (alert.status, alert.withdrawn_reason) == ("withdrawn", "Posted by mistake.")
    assert Delivery.objects.get(dispatch=dispatch, member=waiting, channel="email").status == "cancelled"
    assert Delivery.objects.get(dispatch=dispatch, member=awake, channel="email").status == "sent"
    notice = alert.updates.get(kind=AlertUpdate.Kind.WITHDRAWAL)
    assert awake.pk in received(notice.dispatch_id)
    assert "Posted by mistake." in notice.dispatch.body_text
    assert AuditEvent.objects.filter(action="alerts.alert.withdrawn", target_id=str(alert.pk)).exists()
    with pytest.raises(ValidationError, match="Only a published alert can be withdrawn"):
        committed(alert_withdraw, actor=officer, alert=alert)


def test_telling_residents_of_a_withdrawal_needs_a_reason(committed, draft, officer, north_resident):
    alert = draft()
    committed(alert_publish, actor=officer, alert=alert)
    with pytest.raises(ValidationError) as caught:
        committed(alert_withdraw, actor=officer, alert=alert, notify=True)
    assert list(caught.value.message_dict) == ["reason"]
    alert.refresh_from_db()
    assert alert.status == "published"


# --- pictures


def test_a_picture_is_checked_by_its_bytes_and_needs_alt_text(draft, officer):
    alert = draft()
    image = alert_image_add(actor=officer, alert=alert, upload=upload("car.png", png_bytes()), alt_text="A red car")
    assert (image.content_type, image.alt_text) == ("image/png", "A red car")
    assert image.file.name.endswith(".png") and "car" not in image.file.name

    with pytest.raises(ValidationError) as caught:
        alert_image_add(actor=officer, alert=alert, upload=upload("car.png", png_bytes()), alt_text="  ")
    assert list(caught.value.message_dict) == ["alt_text"]

    script = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
    with pytest.raises(ValidationError, match="must be a JPEG, PNG, WebP or GIF"):
        alert_image_add(actor=officer, alert=alert, upload=upload("fine.png", script), alt_text="Not a picture")
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    with pytest.raises(ValidationError, match=r"\(it is application/pdf\)"):
        alert_image_add(actor=officer, alert=alert, upload=upload("photo.jpg", pdf, "image/jpeg"), alt_text="A pdf")
    assert AlertImage.objects.count() == 1


def test_an_oversized_picture_is_refused_saying_how_big(draft, officer, settings):
    settings.ALERT_IMAGE_MAX_BYTES = 2 * 1024 * 1024
    alert = draft()
    big = png_bytes(padding=3 * 1024 * 1024)
    with pytest.raises(ValidationError, match=r"The picture is 3\.0 MB; the most is 2 MB"):
        alert_image_add(actor=officer, alert=alert, upload=upload("big.png", big), alt_text="Big")
    assert not AlertImage.objects.exists()


def test_pictures_only_on_drafts_and_at_most_six(committed, draft, officer, north_resident):
    alert = draft()
    for i in range(6):
        alert_image_add(actor=officer, alert=alert, upload=upload("p.png", png_bytes()), alt_text=f"Picture {i}")
    with pytest.raises(ValidationError, match="at most 6 pictures"):
        alert_image_add(actor=officer, alert=alert, upload=upload("p.png", png_bytes()), alt_text="One too many")
    first = alert.images.first()
    alert_image_remove(actor=officer, alert=alert, image_id=first.pk)
    assert alert.images.count() == 5
    committed(alert_publish, actor=officer, alert=alert)
    with pytest.raises(ValidationError, match="only to a draft"):
        alert_image_add(actor=officer, alert=alert, upload=upload("p.png", png_bytes()), alt_text="Late")


def test_a_deleted_draft_takes_its_pictures_with_it(draft, officer, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    alert = draft()
    image = alert_image_add(actor=officer, alert=alert, upload=upload("p.png", png_bytes()), alt_text="A door")
    name = image.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        alert_delete(actor=officer, alert=alert)
    assert not Alert.objects.exists()
    assert not default_storage.exists(name)


# --- personal data


def test_an_officers_export_lists_the_alerts_they_wrote(draft, officer):
    from core.personal_data import sections

    draft(title="Door-step fraudsters")
    section = next(s for s in sections() if s.name == "alerts")
    exported = section.export(officer)
    assert [a["title"] for a in exported["alerts_written"]] == ["Door-step fraudsters"]


def test_a_resident_who_moves_in_later_is_not_in_an_old_alerts_audience(committed, draft, officer, kent):
    alert = draft()
    first = MemberFactory(opt_in=[officer.organisation])
    member_location_set(member=first, longitude=0.05, latitude=51.05)
    dispatch = committed(alert_publish, actor=officer, alert=alert)
    assert received(dispatch.pk) == {first.pk}
    # Another officer of the same force can follow it up: the desk is shared.
    colleague = OfficerFactory(organisation=officer.organisation)
    update = committed(alert_update_send, actor=colleague, alert=alert, kind="update", body="Arrest made.")
    assert received(update.dispatch_id) == {first.pk}
