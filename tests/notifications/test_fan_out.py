"""Fan-out: one statement makes every delivery, honouring channels, the SMS threshold,
quiet hours (UK clock, past midnight too) and digests; running it twice adds nothing."""

from datetime import UTC, datetime, time
from unittest import mock

import pytest

from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_fan_out

from .conftest import QUIET_NIGHT

pytestmark = pytest.mark.django_db

WINTER_NIGHT = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT)
WINTER_SMALL_HOURS = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 02:00 in London
WINTER_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SUMMER_NIGHT = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # 23:30 in London (BST)


def rows(dispatch):
    return {
        (d.member_id, d.channel): (d.status, d.next_attempt_at)
        for d in Delivery.objects.filter(dispatch=dispatch).order_by("pk")
    }


@pytest.fixture
def north_spec(wards):
    return {"include": [{"area": wards[0].pk}]}


def test_fan_out_makes_one_delivery_per_member_and_chosen_channel(place, make_dispatch, north_spec):
    everything = place(0.01, 51.01, phone="+447700900001", channel_sms=True, channel_push=True, sms_lowest_priority=3)
    inbox_only = place(0.02, 51.02, channel_email=False)
    nothing = place(0.03, 51.03, channel_email=False, channel_inbox=False)
    dispatch = make_dispatch(north_spec, priority=3)
    assert not Delivery.objects.exists()

    result = dispatch_fan_out(dispatch_id=dispatch.pk, now=WINTER_NOON)

    # Push wanted, but no browser subscribed (and no VAPID keys here): no push row.
    assert result == {"members": 2, "inbox": 2, "email": 1, "sms": 1, "push": 0, "batches": 1}
    assert rows(dispatch) == {
        # The inbox copy is the message itself: delivered the moment fan-out commits.
        (everything.pk, "inbox"): ("sent", None),
        (everything.pk, "email"): ("pending", WINTER_NOON),
        (everything.pk, "sms"): ("pending", WINTER_NOON),
        (inbox_only.pk, "inbox"): ("sent", None),
    }
    assert not Delivery.objects.filter(member=nothing).exists()
    # No web push rows: there is no backend (nor any browser subscription) yet.
    assert not Delivery.objects.filter(channel="push").exists()
    inbox = Delivery.objects.get(member=everything, channel="inbox")
    assert inbox.sent_at == WINTER_NOON and inbox.created_at == WINTER_NOON
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.audience_size, dispatch.fanned_out_at) == ("sending", 2, WINTER_NOON)
    # Every delivery has its own stable id, made by the database.
    assert len({d.uuid for d in Delivery.objects.all()}) == 4


def test_fan_out_twice_makes_the_same_rows(place, make_dispatch, north_spec):
    for i in range(3):
        place(0.01 * (i + 1), 51.01)
    dispatch = make_dispatch(north_spec)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    before = list(Delivery.objects.order_by("pk").values_list("pk", "uuid", "member_id", "channel", "status"))

    assert dispatch_fan_out(dispatch_id=dispatch.pk) == {}  # no longer pending: nothing to do
    # Even forced through again (a crash after the INSERT but before the status moved
    # could not commit one without the other, but say it did), ON CONFLICT adds nothing.
    Dispatch.objects.filter(pk=dispatch.pk).update(status="pending")
    again = dispatch_fan_out(dispatch_id=dispatch.pk)

    assert again["members"] == 3 and again["inbox"] == 3 and again["email"] == 3
    assert list(Delivery.objects.order_by("pk").values_list("pk", "uuid", "member_id", "channel", "status")) == before


@pytest.mark.parametrize(
    ("now", "released_at"),
    [
        (WINTER_NIGHT, datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),  # before midnight: until 07:00 tomorrow
        (WINTER_SMALL_HOURS, datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),  # past midnight: until 07:00 today
        (SUMMER_NIGHT, datetime(2026, 7, 2, 6, 0, tzinfo=UTC)),  # 07:00 BST is 06:00 UTC
    ],
)
def test_quiet_hours_past_midnight_hold_email_and_sms_until_they_end(
    place, make_dispatch, north_spec, now, released_at
):
    member = place(0.01, 51.01, phone="+447700900001", channel_sms=True, sms_lowest_priority=5, **QUIET_NIGHT)
    awake = place(0.02, 51.02)
    dispatch = make_dispatch(north_spec, priority=3)

    result = dispatch_fan_out(dispatch_id=dispatch.pk, now=now)

    assert rows(dispatch) == {
        (member.pk, "inbox"): ("sent", None),
        (member.pk, "email"): ("held", released_at),
        (member.pk, "sms"): ("held", released_at),
        (awake.pk, "inbox"): ("sent", None),
        (awake.pk, "email"): ("pending", now),
    }
    assert result["batches"] == 1  # only the awake member's email goes now


def test_quiet_hours_within_a_day_and_outside_them(place, make_dispatch, north_spec):
    siesta = place(0.01, 51.01, quiet_hours_start=time(11, 0), quiet_hours_end=time(13, 30))
    night = place(0.02, 51.02, **QUIET_NIGHT)
    dispatch = make_dispatch(north_spec, priority=4)

    dispatch_fan_out(dispatch_id=dispatch.pk, now=WINTER_NOON)

    assert rows(dispatch)[(siesta.pk, "email")] == ("held", datetime(2026, 11, 25, 13, 30, tzinfo=UTC))
    assert rows(dispatch)[(night.pk, "email")] == ("pending", WINTER_NOON)


def test_quiet_hours_end_exactly_now_is_not_quiet(place, make_dispatch, north_spec):
    member = place(0.01, 51.01, **QUIET_NIGHT)
    dispatch = make_dispatch(north_spec)
    dispatch_fan_out(dispatch_id=dispatch.pk, now=datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    assert rows(dispatch)[(member.pk, "email")][0] == "pending"


def test_daily_digest_members_are_held_until_the_digest(place, make_dispatch, north_spec, settings):
    settings.DISPATCH_DIGEST_TIME = "18:00"
    digest = place(0.01, 51.01, frequency="daily_digest", **QUIET_NIGHT)
    dispatch = make_dispatch(north_spec, priority=5)

    dispatch_fan_out(dispatch_id=dispatch.pk, now=WINTER_NIGHT)

    # 23:30 now: the next digest is tomorrow at 18:00 (the digest wins over quiet hours).
    # `digest`, not `held`: the sweep leaves it to the one daily digest email (notifications/digest.py).
    assert rows(dispatch)[(digest.pk, "email")] == ("digest", datetime(2026, 11, 25, 18, 0, tzinfo=UTC))
    assert rows(dispatch)[(digest.pk, "inbox")] == ("sent", None)


@pytest.mark.parametrize("priority", [1, 2])
def test_urgent_messages_ignore_quiet_hours_and_digests(place, make_dispatch, north_spec, priority):
    quiet = place(0.01, 51.01, phone="+447700900001", channel_sms=True, **QUIET_NIGHT)
    digest = place(0.02, 51.02, frequency="daily_digest")
    dispatch = make_dispatch(north_spec, priority=priority)

    dispatch_fan_out(dispatch_id=dispatch.pk, now=WINTER_SMALL_HOURS)

    assert rows(dispatch)[(quiet.pk, "email")] == ("pending", WINTER_SMALL_HOURS)
    assert rows(dispatch)[(quiet.pk, "sms")] == ("pending", WINTER_SMALL_HOURS)
    assert rows(dispatch)[(digest.pk, "email")] == ("pending", WINTER_SMALL_HOURS)


@pytest.mark.parametrize(("priority", "texted"), [(1, {"p3", "p1"}), (3, {"p3"}), (4, set())])
def test_sms_goes_only_to_members_with_a_phone_at_or_above_their_threshold(
    place, make_dispatch, north_spec, priority, texted
):
    members = {
        "p3": place(0.01, 51.01, phone="+447700900001", channel_sms=True, sms_lowest_priority=3),
        "p1": place(0.02, 51.02, phone="+447700900002", channel_sms=True, sms_lowest_priority=1),
        "no_phone": place(0.03, 51.03, channel_sms=True, sms_lowest_priority=5),
        "sms_off": place(0.04, 51.04, phone="+447700900004", channel_sms=False, sms_lowest_priority=5),
    }
    names = {m.pk: name for name, m in members.items()}
    dispatch = make_dispatch(north_spec, priority=priority)

    dispatch_fan_out(dispatch_id=dispatch.pk, now=WINTER_NOON)

    sms = Delivery.objects.filter(dispatch=dispatch, channel="sms").values_list("member_id", flat=True)
    assert {names[pk] for pk in sms} == texted


def test_batches_are_queued_over_id_ranges_once_the_fan_out_commits(
    place, make_dispatch, north_spec, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.DISPATCH_BATCH_SIZE = 2
    for i in range(5):
        place(0.01 * (i + 1), 51.01)
    dispatch = make_dispatch(north_spec)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = dispatch_fan_out(dispatch_id=dispatch.pk)
        assert mailoutbox == []  # nothing is sent before the deliveries are committed

    assert result["batches"] == 3 and len(callbacks) == 3
    assert len(mailoutbox) == 5
    assert set(Delivery.objects.filter(channel="email").values_list("status", "attempts")) == {("sent", 1)}
    dispatch.refresh_from_db()
    assert dispatch.status == "done" and dispatch.completed_at is not None


def test_an_empty_audience_is_done_at_once(make_dispatch, wards):
    dispatch = make_dispatch({"include": [{"area": wards[1].pk}]})
    assert dispatch_fan_out(dispatch_id=dispatch.pk) == {
        "members": 0,
        "inbox": 0,
        "email": 0,
        "sms": 0,
        "push": 0,
        "batches": 0,
    }
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.audience_size) == ("done", 0)


def test_a_cancelled_dispatch_is_never_fanned_out(place, make_dispatch, north_spec):
    place(0.01, 51.01)
    dispatch = make_dispatch(north_spec, status="cancelled")
    assert dispatch_fan_out(dispatch_id=dispatch.pk) == {}
    assert not Delivery.objects.exists()


def test_batches_cover_every_pending_delivery_exactly_once(place, make_dispatch, north_spec, settings):
    """However the batches are cut (counted back on SQLite, cut from the INSERT's own
    summary on PostgreSQL), together they hold every pending delivery once, and no
    held or digest one; about DISPATCH_BATCH_SIZE each."""
    settings.DISPATCH_BATCH_SIZE = 3
    for i in range(12):
        extra = {}
        if i % 4 == 1:
            extra = QUIET_NIGHT  # held until morning
        elif i % 4 == 2:
            extra = {"frequency": "daily_digest"}
        elif i % 4 == 3:
            extra = {"phone": f"+4477009000{i:02d}", "channel_sms": True, "sms_lowest_priority": 5}
        place(0.001 * (i + 1), 51.01, **extra)
    dispatch = make_dispatch(north_spec, priority=3)

    with mock.patch("notifications.services.tasks.send_batch.delay_on_commit") as queued:
        result = dispatch_fan_out(dispatch_id=dispatch.pk, now=WINTER_NIGHT)

    ranges = [(c.kwargs["first_id"], c.kwargs["last_id"]) for c in queued.call_args_list]
    assert {c.kwargs["dispatch_id"] for c in queued.call_args_list} == {dispatch.pk}
    pending = set(Delivery.objects.filter(dispatch=dispatch, status="pending").values_list("pk", flat=True))
    # 3 awake email-only members + 3 with a text as well: 9 pending, in 3 batches.
    assert len(pending) == 9 and result["batches"] == len(ranges) == 3
    covered = [pk for first, last in ranges for pk in pending if first <= pk <= last]
    assert sorted(covered) == sorted(pending)  # each pending row in exactly one batch
    assert all(sum(first <= pk <= last for pk in pending) <= 6 for first, last in ranges)
    held = Delivery.objects.filter(dispatch=dispatch, status__in=["held", "digest"])
    assert held.count() == 6  # 3 quiet-hours emails, 3 digest emails: in no batch's claim
