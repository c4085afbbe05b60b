"""Replies left waiting three days remind whoever they are assigned to (the duty inbox if
nobody), once every three days while they wait, however often the hourly task runs."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from replies.models import ReplySettings, Thread
from replies.services import reply_create, thread_answer, thread_assign, thread_close, threads_remind_unclosed
from replies.tasks import remind_unclosed

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def waiting(resident, other_resident, officer, second_officer, organisation, alert):
    """Two threads written four days ago: one assigned to the second officer, one to nobody."""
    ReplySettings.objects.create(organisation=organisation, duty_email="duty@kent.police.example")
    written = timezone.now() - 4 * DAY
    assigned = reply_create(resident=resident, dispatch=alert, body="Assigned one", now=written).thread
    thread_assign(actor=officer, thread=assigned, assignee=second_officer)
    unassigned = reply_create(resident=other_resident, dispatch=alert, body="Unassigned one", now=written).thread
    return assigned, unassigned


def run(now, capture):
    with capture(execute=True):
        return threads_remind_unclosed(now=now)


def test_reminders_go_to_the_assignee_or_the_duty_inbox_once(
    waiting, second_officer, mailoutbox, django_capture_on_commit_callbacks
):
    assigned, unassigned = waiting
    mailoutbox.clear()  # the assignment's own email
    now = timezone.now()

    assert run(now, django_capture_on_commit_callbacks) == {"threads": 2, "emails": 2}

    sent = {tuple(m.to): m for m in mailoutbox}
    assert set(sent) == {(second_officer.email,), ("duty@kent.police.example",)}
    assert "1 reply waiting 3 days or more" in sent[(second_officer.email,)].subject
    assert f"/replies/{assigned.pk}/" in sent[(second_officer.email,)].body
    assert f"/replies/{unassigned.pk}/" in sent[("duty@kent.police.example",)].body

    # The hourly task runs again, and again the next day: nothing more.
    assert run(now, django_capture_on_commit_callbacks) == {"threads": 0, "emails": 0}
    assert run(now + DAY, django_capture_on_commit_callbacks) == {"threads": 0, "emails": 0}
    assert len(mailoutbox) == 2

    # Three days on, still waiting: reminded again.
    assert run(now + 3 * DAY, django_capture_on_commit_callbacks) == {"threads": 2, "emails": 2}
    assert len(mailoutbox) == 4


def test_answered_closed_and_recent_threads_are_not_reminded(
    waiting, officer, resident, send_alert, mailoutbox, django_capture_on_commit_callbacks
):
    assigned, unassigned = waiting
    thread_answer(officer=officer, thread=assigned, body="Thanks, we are on it.")
    thread_close(actor=officer, thread=unassigned)
    reply_create(resident=resident, dispatch=send_alert(resident), body="Written just now")
    mailoutbox.clear()

    assert run(timezone.now(), django_capture_on_commit_callbacks) == {"threads": 0, "emails": 0}
    assert mailoutbox == []


def test_a_new_message_after_an_answer_starts_the_three_days_again(
    waiting, officer, resident, alert, mailoutbox, django_capture_on_commit_callbacks
):
    assigned, unassigned = waiting
    thread_close(actor=officer, thread=unassigned)
    now = timezone.now()
    run(now - 0.5 * DAY, django_capture_on_commit_callbacks)  # reminded half a day ago
    thread_answer(officer=officer, thread=assigned, body="Answer", now=now - 0.4 * DAY)
    reply_create(resident=resident, dispatch=alert, body="Follow-up", now=now - 0.3 * DAY)
    mailoutbox.clear()

    assert run(now, django_capture_on_commit_callbacks)["threads"] == 0
    assert run(now + 2.8 * DAY, django_capture_on_commit_callbacks)["threads"] == 1  # 3 days after the follow-up
    assert Thread.objects.get(pk=assigned.pk).reminded_at is not None


def test_the_task_is_scheduled_hourly_and_runs_the_service(waiting, mailoutbox, django_capture_on_commit_callbacks):
    entry = django_settings.CELERY_BEAT_SCHEDULE["replies-remind-unclosed"]
    assert entry["task"] == "replies.tasks.remind_unclosed"
    assert entry["schedule"].minute == {15} and len(entry["schedule"].hour) == 24
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = remind_unclosed.delay().get()
    with django_capture_on_commit_callbacks(execute=True):
        second = remind_unclosed.delay().get()

    assert (first, second) == ({"threads": 2, "emails": 2}, {"threads": 0, "emails": 0})
    assert len(mailoutbox) == 2


def test_an_assignee_who_has_left_is_covered_by_the_duty_inbox(
    waiting, second_officer, mailoutbox, django_capture_on_commit_callbacks
):
    second_officer.is_active = False
    second_officer.save(update_fields=["is_active"])
    mailoutbox.clear()

    run(timezone.now(), django_capture_on_commit_callbacks)

    assert sorted(tuple(m.to) for m in mailoutbox) == [("duty@kent.police.example",)] * 2
