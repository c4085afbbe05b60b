"""The every-minute sweep: what a down broker or a dead worker left behind still goes out, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery, Dispatch
from notifications.services import delivery_batch_send, dispatch_fan_out, dispatch_sweep

from .conftest import QUIET_NIGHT, everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def north(wards, place):
    members = [place(0.01, 51.01), place(0.02, 51.02)]
    return {"include": [{"area": wards[0].pk}]}, members


def test_a_dispatch_published_while_the_broker_was_down_is_sent_by_the_sweep(
    north, make_dispatch, django_capture_on_commit_callbacks, mailoutbox
):
    spec, members = north
    # Published, but its fan-out task never reached a worker.
    dispatch = make_dispatch(spec)
    Dispatch.objects.filter(pk=dispatch.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    just_now = make_dispatch(spec, subject="Just published")  # its own task may still be on the way

    with django_capture_on_commit_callbacks(execute=True):
        result = dispatch_sweep()

    assert result["dispatches_fanned_out"] == 1
    dispatch.refresh_from_db()
    assert dispatch.status == "done"
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members)
    assert Dispatch.objects.get(pk=just_now.pk).status == "pending"

    # A second sweep finds nothing to do and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = dispatch_sweep()
    assert again["dispatches_fanned_out"] == again["released"] == again["batches"] == 0
    assert len(mailoutbox) == 2


def test_deliveries_stuck_in_sending_go_again_with_the_same_id(
    north, make_dispatch, django_capture_on_commit_callbacks, mailoutbox
):
    spec, _ = north
    dispatch = make_dispatch(spec)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    # A worker claimed the batch 20 minutes ago, then was killed before recording anything.
    claimed_at = timezone.now() - timedelta(minutes=20)
    Delivery.objects.filter(channel="email").update(status="sending", attempts=1, next_attempt_at=claimed_at)
    uuids = set(Delivery.objects.filter(channel="email").values_list("uuid", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        result = dispatch_sweep()

    assert (result["stuck_retried"], result["released"], result["batches"]) == (2, 2, 1)
    assert {m.extra_headers["Message-ID"] for m in mailoutbox} == {f"<{u}@127.0.0.1>" for u in uuids}
    assert set(Delivery.objects.filter(channel="email").values_list("status", "attempts")) == {("sent", 2)}


def test_a_worker_still_sending_is_left_alone(north, make_dispatch, mailoutbox):
    spec, _ = north
    dispatch = make_dispatch(spec)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    Delivery.objects.filter(channel="email").update(status="sending", next_attempt_at=timezone.now())

    assert dispatch_sweep()["stuck_retried"] == 0
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"sending"}


def test_held_messages_go_when_quiet_hours_end_and_not_before(
    wards, place, make_dispatch, django_capture_on_commit_callbacks, mailoutbox
):
    sleeper = place(0.01, 51.01, **QUIET_NIGHT)
    dispatch = make_dispatch({"include": [{"area": wards[0].pk}]})
    night = timezone.datetime(2026, 11, 24, 23, 30, tzinfo=timezone.UTC)
    dispatch_fan_out(dispatch_id=dispatch.pk, now=night)
    held = Delivery.objects.get(member=sleeper, channel="email")
    assert held.status == "held"

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_sweep(now=held.next_attempt_at - timedelta(minutes=1))["released"] == 0
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_sweep(now=held.next_attempt_at)["released"] == 1
    assert [m.to[0] for m in mailoutbox] == [sleeper.email]
    held.refresh_from_db()
    assert held.status == "sent"


def test_due_retries_are_sent_by_the_sweep(north, make_dispatch, django_capture_on_commit_callbacks, mailoutbox):
    spec, _members = north
    dispatch = make_dispatch(spec)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    delivery_batch_send(dispatch_id=dispatch.pk, **everything())
    mailoutbox.clear()
    retry = Delivery.objects.filter(channel="email").first()
    Delivery.objects.filter(pk=retry.pk).update(status="retry", next_attempt_at=timezone.now() - timedelta(seconds=1))
    Dispatch.objects.filter(pk=dispatch.pk).update(status="sending", completed_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        result = dispatch_sweep()

    assert result["released"] == 1
    assert [m.to[0] for m in mailoutbox] == [retry.member.email]
    dispatch.refresh_from_db()
    assert dispatch.status == "done"


def test_pending_deliveries_whose_batch_was_lost_are_queued_again(
    north, make_dispatch, django_capture_on_commit_callbacks, mailoutbox
):
    spec, _ = north
    dispatch = make_dispatch(spec)
    long_ago = timezone.now() - timedelta(minutes=11)
    dispatch_fan_out(dispatch_id=dispatch.pk, now=long_ago)  # its batch tasks were never run

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_sweep()["released"] == 2
    assert len(mailoutbox) == 2
