"""The daily digest: one email a day listing everything held for a member, sent once.

A winter Tuesday (the UK clock is UTC): Kent Police publishes three routine messages
during the day; residents who chose the daily digest get them in ONE email at 18:00,
the others as they come. The digest's tasks are called here with a fixed `now`, as
beat and a worker would call them at that time (one test goes through the real tasks).
"""

from __future__ import annotations

import re
import smtplib
from datetime import UTC, datetime, time, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import OrganisationOptIn, Preferences
from notifications.digest import digest_batch_send, digest_run, last_digest_at
from notifications.models import Delivery, Digest
from notifications.services import delivery_batch_send, dispatch_cancel, dispatch_fan_out, dispatch_sweep

from .conftest import everything

pytestmark = pytest.mark.django_db

DIGEST_AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
MORNING, NOON, AFTERNOON = (datetime(2026, 11, 24, h, 0, tzinfo=UTC) for h in (9, 12, 15))
ALL = {"first_id": 0, "last_id": 2**62}


@pytest.fixture(autouse=True)
def _digest_at_six(settings):
    settings.DISPATCH_DIGEST_TIME = "18:00"


@pytest.fixture
def north(wards):
    return {"include": [{"area": wards[0].pk}]}


@pytest.fixture
def day(place, make_dispatch, north):
    """Two digest members and one who wants everything at once; three routine messages."""
    ada = place(0.01, 51.01, first_name="Ada", frequency="daily_digest")
    ben = place(0.02, 51.02, first_name="Ben", frequency="daily_digest")
    cal = place(0.03, 51.03, first_name="Cal")
    dispatches = []
    for at, priority, subject in [
        (MORNING, 5, "Coffee with a copper on Friday"),
        (NOON, 3, "Burglaries on Elm Road"),
        (AFTERNOON, 4, "Catalytic converter thefts"),
    ]:
        dispatch = make_dispatch(north, priority=priority, subject=subject, source_id=subject)
        dispatch_fan_out(dispatch_id=dispatch.pk, now=at)
        dispatches.append(dispatch)
    return {"ada": ada, "ben": ben, "cal": cal, "dispatches": dispatches}


def run(now):
    """What beat and a worker do at `now`: make the digests due, then send the batch."""
    made = digest_run(now=now)
    return made, digest_batch_send(**ALL, now=now)


def digest_emails(mailoutbox):
    return {m.to[0]: m for m in mailoutbox if m.subject.startswith("Your daily digest")}


def test_digest_members_get_one_email_listing_everything_held_for_them(day, mailoutbox):
    ada, ben, cal = day["ada"], day["ben"], day["cal"]
    assert set(Delivery.objects.filter(member__in=[ada, ben], channel="email").values_list("status", flat=True)) == {
        "digest"
    }
    assert set(Delivery.objects.filter(member=cal, channel="email").values_list("status", flat=True)) == {"pending"}

    made, sent = run(DIGEST_AT)

    assert made == {"created": 2, "stuck_retried": 0, "stuck_failed": 0, "batches": 1}
    assert sent == {"sent": 2}
    emails = digest_emails(mailoutbox)
    assert set(emails) == {ada.email, ben.email}
    message = emails[ada.email]
    digest = Digest.objects.get(member=ada)
    assert (digest.status, digest.message_count, digest.due_at) == ("sent", 3, DIGEST_AT)
    assert message.subject == "Your daily digest from Kent Police: 3 messages"
    assert message.from_email == "Kent Police via My Community Voice <no-reply@localhost>"
    assert message.extra_headers["Message-ID"] == f"<{digest.uuid}@127.0.0.1>"
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://127.0.0.1:8000/p/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hello Ada," in message.body and link in message.body
    assert "Here are the 3 messages held for your daily digest" in message.body
    # Most urgent first, each with a link to the member's own inbox copy.
    subjects = re.findall(
        r"^(Burglaries on Elm Road|Catalytic converter thefts|Coffee with a copper on Friday)$", message.body, re.M
    )
    assert subjects == ["Burglaries on Elm Road", "Catalytic converter thefts", "Coffee with a copper on Friday"]
    for inbox_copy in Delivery.objects.filter(member=ada, channel="inbox"):
        assert f"Read it: http://127.0.0.1:8000/inbox/{inbox_copy.pk}/" in message.body
        assert f'href="http://127.0.0.1:8000/inbox/{inbox_copy.pk}/"' in message.alternatives[0].content
    html = message.alternatives[0].content
    assert "Hello Ada," in html and f'href="{link}"' in html
    assert f"List-Unsubscribe: <{link}>".encode() in message.message().as_bytes()
    # Every message it listed is sent, with the digest's Message-ID as its reference.
    rows = Delivery.objects.filter(member=ada, channel="email")
    assert set(rows.values_list("status", "provider_id", "attempts")) == {("sent", f"<{digest.uuid}@127.0.0.1>", 1)}
    # Cal, who wants everything at once, is in no digest.
    assert not Digest.objects.filter(member=cal).exists()


def test_running_the_digest_twice_sends_once(day, mailoutbox):
    run(DIGEST_AT)
    assert len(digest_emails(mailoutbox)) == 2

    again = run(DIGEST_AT)
    later = run(DIGEST_AT + timedelta(minutes=10))  # the every-ten-minutes safety net

    assert again == later == ({"created": 0, "stuck_retried": 0, "stuck_failed": 0, "batches": 0}, {})
    assert len(digest_emails(mailoutbox)) == 2
    assert Digest.objects.count() == 2


def test_nothing_goes_before_the_digest_time(day, mailoutbox):
    assert run(DIGEST_AT - timedelta(minutes=1)) == (
        {"created": 0, "stuck_retried": 0, "stuck_failed": 0, "batches": 0},
        {},
    )
    assert not mailoutbox


def test_the_sweep_leaves_digest_messages_to_the_digest(
    day, place, make_dispatch, north, mailoutbox, django_capture_on_commit_callbacks
):
    sleeper = place(0.04, 51.04, first_name="Dee", quiet_hours_start=time(17, 0), quiet_hours_end=time(17, 30))
    evening = make_dispatch(north, priority=3, subject="Road closed tonight", source_id="evening")
    dispatch_fan_out(dispatch_id=evening.pk, now=datetime(2026, 11, 24, 17, 10, tzinfo=UTC))
    Delivery.objects.filter(status="pending").update(status="sent")  # Cal's went when they were published

    # The minute sweep after 18:00 releases the quiet-hours email, and not one digest message.
    with django_capture_on_commit_callbacks(execute=True):
        swept = dispatch_sweep(now=DIGEST_AT + timedelta(minutes=1))

    assert swept["released"] == 1
    assert [m.to[0] for m in mailoutbox] == [sleeper.email]
    assert Delivery.objects.filter(channel="email", status="digest").count() == 8  # 4 messages each for Ada and Ben


def test_urgent_messages_go_at_once_and_stay_out_of_the_digest(day, make_dispatch, north, mailoutbox):
    ada = day["ada"]
    urgent = make_dispatch(north, priority=1, subject="Missing child: Amy, 7", source_id="urgent")
    dispatch_fan_out(dispatch_id=urgent.pk, now=AFTERNOON)

    delivery_batch_send(dispatch_id=urgent.pk, **everything())

    assert sorted(m.to[0] for m in mailoutbox if m.subject.endswith("Amy, 7")) == sorted(
        [ada.email, day["ben"].email, day["cal"].email]
    )
    run(DIGEST_AT)
    digest = digest_emails(mailoutbox)[ada.email]
    assert "Amy" not in digest.body
    assert Digest.objects.get(member=ada).message_count == 3


def test_quiet_hours_hold_the_digest_until_they_end(day, mailoutbox):
    ada = day["ada"]
    Preferences.objects.filter(member=ada).update(quiet_hours_start=time(17, 0), quiet_hours_end=time(8, 0))
    wakes_at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    run(DIGEST_AT)

    assert set(digest_emails(mailoutbox)) == {day["ben"].email}
    digest = Digest.objects.get(member=ada)
    assert (digest.status, digest.next_attempt_at) == ("pending", wakes_at)
    assert run(wakes_at - timedelta(minutes=1))[1] == {}

    assert run(wakes_at)[1] == {"sent": 1}
    assert set(digest_emails(mailoutbox)) == {ada.email, day["ben"].email}


def test_a_digest_whose_worker_died_goes_again_with_the_same_message_id(day, mailoutbox):
    digest_run(now=DIGEST_AT)
    # A worker claimed the batch, then was killed before sending anything.
    Digest.objects.update(status="sending", attempts=1, next_attempt_at=DIGEST_AT)
    assert run(DIGEST_AT + timedelta(minutes=5)) == (
        {"created": 0, "stuck_retried": 0, "stuck_failed": 0, "batches": 0},
        {},
    )

    made, sent = run(DIGEST_AT + timedelta(minutes=20))

    assert (made["stuck_retried"], sent) == (2, {"sent": 2})
    for member in (day["ada"], day["ben"]):
        digest = Digest.objects.get(member=member)
        assert (digest.status, digest.attempts) == ("sent", 2)
        assert digest_emails(mailoutbox)[member.email].extra_headers["Message-ID"] == f"<{digest.uuid}@127.0.0.1>"
    assert len(mailoutbox) == 2


def test_a_temporary_failure_is_retried_and_the_rest_of_the_batch_still_goes(day, flaky_mailer, mailoutbox):
    ada, ben = day["ada"], day["ben"]
    flaky_mailer.failures[ben.email] = [smtplib.SMTPRecipientsRefused({ben.email: (451, b"Try again later")})]

    assert run(DIGEST_AT)[1] == {"sent": 1, "retry": 1}

    retrying = Digest.objects.get(member=ben)
    assert retrying.status == "retry" and retrying.error == "451 Try again later"
    assert set(Delivery.objects.filter(member=ben, channel="email").values_list("status", flat=True)) == {"digest"}
    # When the retry is due, Ben gets his one digest; Ada's is not sent again.
    assert run(retrying.next_attempt_at)[1] == {"sent": 1}
    assert sorted(digest_emails(mailoutbox)) == sorted([ada.email, ben.email])
    assert len(mailoutbox) == 2
    assert Digest.objects.get(member=ben).message_count == 3


def test_a_refused_address_fails_the_digest_and_its_messages(day, flaky_mailer, mailoutbox):
    ben = day["ben"]
    flaky_mailer.failures[ben.email] = [smtplib.SMTPRecipientsRefused({ben.email: (550, b"No such user")})]

    assert run(DIGEST_AT)[1] == {"sent": 1, "failed": 1}

    assert Digest.objects.get(member=ben).error == "550 No such user"
    assert set(Delivery.objects.filter(member=ben, channel="email").values_list("status", "error")) == {
        ("failed", "Daily digest: 550 No such user")
    }


def test_a_member_who_turned_email_off_gets_no_digest(day, mailoutbox):
    Preferences.objects.filter(member=day["ada"]).update(channel_email=False)

    run(DIGEST_AT)

    assert set(digest_emails(mailoutbox)) == {day["ben"].email}
    assert Digest.objects.get(member=day["ada"]).status == "cancelled"
    assert set(Delivery.objects.filter(member=day["ada"], channel="email").values_list("status", flat=True)) == {
        "cancelled"
    }


def test_withdrawn_messages_and_organisations_are_left_out(day, make_dispatch, north, other_organisation, mailoutbox):
    ada, ben = day["ada"], day["ben"]
    for member in (ada, ben):
        OrganisationOptIn.objects.create(member=member, organisation=other_organisation)
    essex = make_dispatch(north, organisation=other_organisation, subject="Essex: bridge closed", source_id="essex")
    dispatch_fan_out(dispatch_id=essex.pk, now=AFTERNOON)
    dispatch_cancel(dispatch_id=day["dispatches"][0].pk)  # "Coffee with a copper" is withdrawn
    OrganisationOptIn.objects.filter(member=ben, organisation=other_organisation).delete()

    run(DIGEST_AT)

    emails = digest_emails(mailoutbox)
    assert "Coffee with a copper" not in emails[ada.email].body
    assert "Essex: bridge closed" in emails[ada.email].body
    assert emails[ada.email].subject == "Your daily digest from My Community Voice: 3 messages"
    assert emails[ada.email].from_email == "My Community Voice <no-reply@localhost>"
    assert "Essex: bridge closed" not in emails[ben.email].body
    assert Delivery.objects.get(member=ben, dispatch=essex, channel="email").status == "cancelled"


def test_a_digest_still_retrying_takes_in_the_next_days_messages(day, flaky_mailer, make_dispatch, north, mailoutbox):
    ben = day["ben"]
    failures = [smtplib.SMTPRecipientsRefused({ben.email: (451, b"Mailbox busy")}) for _ in range(3)]
    flaky_mailer.failures[ben.email] = failures
    run(DIGEST_AT)
    tomorrow = make_dispatch(north, priority=3, subject="Speed checks on the A20", source_id="tomorrow")
    dispatch_fan_out(dispatch_id=tomorrow.pk, now=DIGEST_AT + timedelta(hours=15))
    Digest.objects.filter(member=ben).update(next_attempt_at=DIGEST_AT + timedelta(days=2))  # long backoff

    run(DIGEST_AT + timedelta(days=1))  # the next digest time: no second digest for Ben while one waits

    assert Digest.objects.filter(member=ben).count() == 1
    failures.clear()
    assert run(DIGEST_AT + timedelta(days=2))[1] == {"sent": 1}
    assert Digest.objects.get(member=ben).message_count == 4
    assert "Speed checks on the A20" in digest_emails(mailoutbox)[ben.email].body


def test_the_work_does_not_grow_with_the_number_of_members(place, make_dispatch, north, mailoutbox):
    def queries_for(extra_members: int, at: datetime) -> int:
        for i in range(extra_members):
            place(0.001 * (i + 1), 51.05, frequency="daily_digest")
        for n in range(3):
            dispatch = make_dispatch(north, priority=3, subject=f"Message {n}", source_id=f"{at}-{n}")
            dispatch_fan_out(dispatch_id=dispatch.pk, now=at - timedelta(hours=n + 1))
        with CaptureQueriesContext(connection) as context:
            run(at)
        return len(context.captured_queries)

    few = queries_for(2, DIGEST_AT)
    many = queries_for(10, DIGEST_AT + timedelta(days=1))

    assert len(mailoutbox) == 2 + 12
    assert many == few, "the digest must not make a query per member"


def test_the_digest_runs_on_beat_at_the_digest_time():
    entry = django_settings.CELERY_BEAT_SCHEDULE["notifications-daily-digest"]
    assert entry["task"] == "notifications.tasks.digest_run"
    hour, minute = (int(p) for p in django_settings.DISPATCH_DIGEST_TIME.split(":"))
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({hour}, {minute})
    resume = django_settings.CELERY_BEAT_SCHEDULE["notifications-digest-resume"]
    assert resume["task"] == "notifications.tasks.digest_run"


def test_through_the_celery_tasks(place, make_dispatch, north, mailoutbox, django_capture_on_commit_callbacks):
    """The real path: beat's task makes the digests and queues the batch, a worker sends it."""
    digest_time = last_digest_at(now=timezone.now())
    member = place(0.01, 51.01, frequency="daily_digest")
    dispatch = make_dispatch(north, priority=4, subject="Bike marking at the library")
    dispatch_fan_out(dispatch_id=dispatch.pk, now=digest_time - timedelta(hours=2))

    from notifications import tasks

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.digest_run.delay().get()

    assert result["created"] == 1 and result["batches"] == 1
    assert [m.to[0] for m in digest_emails(mailoutbox).values()] == [member.email]
    assert Delivery.objects.get(member=member, channel="email").status == "sent"
