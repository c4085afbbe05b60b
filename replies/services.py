"""The verbs of replies: a resident replies or rates; officers answer, assign, close, reopen.

A resident's reply that uses one of the organisation's trigger words (knife, suicide,
…) makes the thread urgent and emails the organisation's duty inbox as soon as the
reply commits; a reply left waiting REPLY_REMINDER_DAYS reminds whoever it is
assigned to. Every write checks who is asking, whatever the view already checked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import personal_data
from core.services import audit_record
from members.models import Member, Organisation
from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_publish

from . import selectors, tasks
from .models import Message, Rating, ReplySettings, Thread
from .permissions import can_be_assigned, can_manage_reply_settings, can_work_thread, is_replyable, is_resident
from .text import MAX_LENGTH, normalise_words, plain_text, trigger_words_in

logger = logging.getLogger(__name__)

MAX_TRIGGER_WORDS = 200


def _clean_body(body: str) -> str:
    text = plain_text(body or "")
    if not text:
        raise ValidationError({"body": "Write your message."})
    if len(text) > MAX_LENGTH:
        raise ValidationError({"body": f"Keep your message under {MAX_LENGTH} characters (it has {len(text)})."})
    return text


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- residents


@transaction.atomic
def reply_create(*, resident: Member, dispatch: Dispatch, body: str, now: datetime | None = None) -> Message:
    """A resident answers a message they were sent, privately, to the organisation that sent it.

    The first reply opens the thread; a reply to a closed thread opens it again. The
    text is stored as plain text with all markup removed. If it uses one of the
    organisation's trigger words the thread becomes urgent, the escalation is audited,
    and the duty inbox is emailed once this commits (the every-minute sweep sends it
    if the broker was down). Raises PermissionDenied for someone who may not answer
    this message, ValidationError for an empty or over-long message or too many
    messages in an hour.
    """
    now = now or timezone.now()
    if not is_resident(member=resident) or not is_replyable(dispatch=dispatch):
        raise PermissionDenied("You can only answer the alerts you were sent.")
    if not Delivery.objects.filter(dispatch=dispatch, member=resident).exists():
        raise PermissionDenied("You can only answer the alerts you were sent.")
    text = _clean_body(body)
    recent = Message.objects.filter(author=resident, created_at__gte=now - timedelta(hours=1)).count()
    if recent >= settings.REPLY_MAX_PER_HOUR:
        raise ValidationError(
            {
                "body": f"You have sent {recent} messages in the last hour; please wait a while before sending "
                "more. In an emergency, call 999."
            }
        )
    thread, _ = Thread.objects.get_or_create(
        resident=resident,
        dispatch=dispatch,
        defaults={"organisation_id": dispatch.organisation_id, "created_at": now, "last_message_at": now},
    )
    thread = _locked(thread.pk)
    found = trigger_words_in(text, selectors.trigger_words_of(organisation=thread.organisation_id))
    message = Message.objects.create(
        thread=thread,
        author=resident,
        from_resident=True,
        body=text,
        urgent=bool(found),
        trigger_words=found,
        created_at=now,
    )
    thread.last_message_at = thread.last_resident_message_at = now
    thread.awaiting_since = thread.awaiting_since or now
    thread.unread = True
    thread.resident_messages += 1
    if thread.status == Thread.Status.CLOSED:
        thread.status, thread.closed_at, thread.closed_by = Thread.Status.OPEN, None, None
    if found:
        thread.urgent, thread.urgent_since = True, thread.urgent_since or now
    thread.save()
    if found:
        audit_record(
            actor=None,
            action="replies.thread.escalated",
            target=thread,
            organisation=thread.organisation,
            data={"message": message.pk, "trigger_words": found},
        )
        tasks.escalate.delay_on_commit(message_id=message.pk)
    return message


def _locked(thread_id: int) -> Thread:
    """The thread row, locked until the transaction ends: two messages at once must not
    overwrite each other's bookkeeping."""
    return Thread.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=thread_id)


@transaction.atomic
def rating_set(*, resident: Member, dispatch: Dispatch, score: int) -> Rating:
    """A resident says how useful a message was (1 to 5); rating again changes their rating."""
    if not is_resident(member=resident) or not is_replyable(dispatch=dispatch):
        raise PermissionDenied("You can only rate the alerts you were sent.")
    if not Delivery.objects.filter(dispatch=dispatch, member=resident).exists():
        raise PermissionDenied("You can only rate the alerts you were sent.")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": "Choose a rating from 1 to 5."})
    now = timezone.now()
    rating, created = Rating.objects.get_or_create(
        resident=resident, dispatch=dispatch, defaults={"score": score, "created_at": now, "updated_at": now}
    )
    if not created and rating.score != score:
        rating.score, rating.updated_at = score, now
        rating.save(update_fields=["score", "updated_at"])
    return rating


# --- officers


def _require_worker(actor: Member, thread: Thread) -> None:
    if not can_work_thread(member=actor, thread=thread):
        raise PermissionDenied("Only officers of the organisation the resident wrote to can do this.")


@transaction.atomic
def thread_answer(*, officer: Member, thread: Thread, body: str, now: datetime | None = None) -> Message:
    """An officer answers a resident in their thread; the resident is told once this commits.

    The resident hears about it through the dispatch pipeline (their inbox, and email
    or text as they chose), which reaches them only while they are opted in to the
    organisation with a verified email; the answer is in their conversations either
    way. The notice names the organisation and links to the thread but does not carry
    the answer itself: private words stay off email and SMS providers. An unassigned
    thread becomes the answering officer's. Answering marks it read and no longer
    waiting; it stays open (and urgent, if it was) until someone closes it.
    """
    _require_worker(officer, thread)
    now = now or timezone.now()
    text = _clean_body(body)
    thread = _locked(thread.pk)
    message = Message.objects.create(thread=thread, author=officer, from_resident=False, body=text, created_at=now)
    thread.last_message_at = thread.last_officer_message_at = now
    thread.awaiting_since, thread.unread = None, False
    thread.organisation_read_at = max(thread.organisation_read_at or now, now)
    if thread.assignee_id is None:
        thread.assignee = officer
    if thread.status == Thread.Status.CLOSED:
        thread.status, thread.closed_at, thread.closed_by = Thread.Status.OPEN, None, None
    thread.save()
    organisation = thread.organisation
    dispatch_publish(
        organisation=organisation,
        source=message,
        subject=f"{organisation.name} answered your message",
        body_text=(
            f"{organisation.name} answered your message about “{thread.dispatch.subject}”. "
            "Read it and reply on the website."
        ),
        url=_site_url(reverse("replies:mine_thread", kwargs={"pk": thread.pk})),
        audience={"include": [{"members": [thread.resident_id]}]},
        priority=3,
        created_by=officer,
    )
    audit_record(
        actor=officer,
        action="replies.message.answered",
        target=thread,
        organisation=organisation,
        data={"message": message.pk},
    )
    return message


@transaction.atomic
def thread_assign(*, actor: Member, thread: Thread, assignee: Member | None) -> Thread:
    """Give a thread to an officer of its organisation (None: nobody). They are emailed
    about it, unless they took it themselves."""
    _require_worker(actor, thread)
    if assignee is not None and not can_be_assigned(member=assignee, organisation=thread.organisation_id):
        raise ValidationError({"assignee": "Choose an officer of your organisation."})
    thread = _locked(thread.pk)
    if thread.assignee_id == (assignee.pk if assignee else None):
        return thread
    thread.assignee = assignee
    thread.save(update_fields=["assignee"])
    audit_record(
        actor=actor,
        action="replies.thread.assigned",
        target=thread,
        organisation=thread.organisation,
        data={"assignee": assignee.pk if assignee else None},
    )
    if assignee is not None and assignee.pk != actor.pk:
        tasks.notify_assignee.delay_on_commit(thread_id=thread.pk, assignee_id=assignee.pk)
    return thread


@transaction.atomic
def thread_close(*, actor: Member, thread: Thread) -> Thread:
    """The organisation is done with a thread: it leaves the open views, stops waiting, is
    read and is no longer urgent. A new reply from the resident opens it again."""
    _require_worker(actor, thread)
    thread = _locked(thread.pk)
    if thread.status == Thread.Status.CLOSED:
        return thread
    now = timezone.now()
    thread.status, thread.closed_at, thread.closed_by = Thread.Status.CLOSED, now, actor
    thread.awaiting_since, thread.urgent, thread.urgent_since = None, False, None
    thread.unread, thread.organisation_read_at = False, now
    thread.save()
    audit_record(actor=actor, action="replies.thread.closed", target=thread, organisation=thread.organisation)
    return thread


@transaction.atomic
def thread_reopen(*, actor: Member, thread: Thread) -> Thread:
    """Open a closed thread again (closed by mistake, or more to do)."""
    _require_worker(actor, thread)
    thread = _locked(thread.pk)
    if thread.status == Thread.Status.OPEN:
        return thread
    thread.status, thread.closed_at, thread.closed_by = Thread.Status.OPEN, None, None
    thread.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(actor=actor, action="replies.thread.reopened", target=thread, organisation=thread.organisation)
    return thread


def thread_mark_read(*, officer: Member, thread: Thread) -> None:
    """An officer opened the thread: the organisation has read it (for every officer of it)."""
    _require_worker(officer, thread)
    now = timezone.now()
    Thread.objects.filter(pk=thread.pk).update(organisation_read_at=now, unread=False)
    thread.organisation_read_at, thread.unread = now, False


@transaction.atomic
def reply_settings_update(*, actor: Member, trigger_words: list[str] | None, duty_email: str) -> ReplySettings:
    """A force admin sets their organisation's trigger words (None or empty: the default
    list) and duty address (blank: the force admins)."""
    if not can_manage_reply_settings(member=actor):
        raise PermissionDenied("Only force admins change the reply settings.")
    words = normalise_words(trigger_words or [])
    if len(words) > MAX_TRIGGER_WORDS:
        raise ValidationError({"trigger_words": f"Give at most {MAX_TRIGGER_WORDS} words or phrases."})
    if any(len(w) > 60 for w in words):
        raise ValidationError({"trigger_words": "Keep each word or phrase under 60 characters."})
    reply_settings, _ = ReplySettings.objects.select_for_update().get_or_create(organisation_id=actor.organisation_id)
    new = {"trigger_words": words or None, "duty_email": (duty_email or "").strip().lower()}
    changed = [f for f, v in new.items() if getattr(reply_settings, f) != v]
    if changed:
        for field, value in new.items():
            setattr(reply_settings, field, value)
        reply_settings.updated_at, reply_settings.updated_by = timezone.now(), actor
        reply_settings.full_clean(exclude=["organisation"])
        reply_settings.save()
        audit_record(
            actor=actor,
            action="replies.settings.changed",
            target=reply_settings,
            organisation=actor.organisation,
            data={"fields": changed},
        )
    return reply_settings


# --- email to staff (the duty inbox, assignees)


def _staff_email_send(*, to: list[str], template: str, context: dict[str, Any]) -> None:
    """Render `<template>_subject.txt`, `_message.txt` and `_message.html` and send them to staff."""
    if not to:
        return
    ctx = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", ctx).split())
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] {subject}", body=render_to_string(f"{template}_message.txt", ctx), to=to
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", ctx), "text/html")
    message.send()


def message_escalate(*, message_id: int) -> bool:
    """Email the organisation's duty inbox about an urgent reply, once. Returns whether it sent.

    The message is claimed first (`escalated_at` set where it was empty, committed),
    so a second run or the sweep meeting a queued task sends nothing. If sending fails
    the claim is given back and the error raised, for the task to retry.
    """
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, urgent=True, escalated_at__isnull=True).update(escalated_at=now)
    if not claimed:
        return False
    message = Message.objects.select_related("thread__organisation", "thread__dispatch", "thread__resident").get(
        pk=message_id
    )
    thread = message.thread
    try:
        _staff_email_send(
            to=selectors.duty_addresses(organisation=thread.organisation_id),
            template="replies/email/escalation",
            context={
                "message": message,
                "thread": thread,
                "organisation": thread.organisation,
                "thread_url": _site_url(reverse("replies:thread", kwargs={"pk": thread.pk})),
            },
        )
    except Exception:
        Message.objects.filter(pk=message_id, escalated_at=now).update(escalated_at=None)
        raise
    return True


ESCALATION_GRACE = timedelta(minutes=1)


def escalation_sweep(*, now: datetime | None = None) -> int:
    """Queue the escalation emails of urgent replies that have waited over a minute (the
    broker was down when they were written). Returns how many were queued."""
    now = now or timezone.now()
    waiting = list(
        Message.objects.filter(urgent=True, escalated_at__isnull=True, created_at__lte=now - ESCALATION_GRACE)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    for message_id in waiting:
        tasks.escalate.delay(message_id=message_id)
    return len(waiting)


def assignee_notify(*, thread_id: int, assignee_id: int) -> None:
    thread = Thread.objects.select_related("dispatch", "organisation").filter(pk=thread_id).first()
    assignee = Member.objects.filter(pk=assignee_id, is_active=True).first()
    if thread is None or assignee is None or thread.assignee_id != assignee_id:
        return  # reassigned meanwhile: the new assignee gets their own email
    _staff_email_send(
        to=[assignee.email],
        template="replies/email/assigned",
        context={
            "thread": thread,
            "assignee": assignee,
            "thread_url": _site_url(reverse("replies:thread", kwargs={"pk": thread.pk})),
        },
    )


def threads_remind_unclosed(*, now: datetime | None = None) -> dict[str, int]:
    """Remind officers of open threads left waiting REPLY_REMINDER_DAYS for an answer.

    Each such thread is reminded once per REPLY_REMINDER_DAYS while it waits: the
    threads are claimed (`reminded_at` set, rows locked and skipped by a concurrent
    run on PostgreSQL) and committed before anything is queued, so running this twice,
    or hourly, reminds nobody twice. One email per assignee listing their threads;
    unassigned threads go to the organisation's duty inbox, one email per organisation.
    Returns how many threads and emails.
    """
    now = now or timezone.now()
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    with transaction.atomic():
        due = selectors.threads_awaiting_reminder(now=now, days=settings.REPLY_REMINDER_DAYS)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.order_by("pk").values_list("pk", "organisation_id", "assignee_id"))
        if rows:
            Thread.objects.filter(pk__in=[r[0] for r in rows]).update(reminded_at=now)
        for pk, org_id, assignee_id in rows:
            groups[(org_id, assignee_id)].append(pk)
        for (org_id, assignee_id), thread_ids in groups.items():
            tasks.send_reminder.delay_on_commit(organisation_id=org_id, assignee_id=assignee_id, thread_ids=thread_ids)
    return {"threads": len(rows), "emails": len(groups)}


def reminder_send(*, organisation_id: int, assignee_id: int | None, thread_ids: list[int]) -> None:
    """One reminder email: to the assignee, or (unassigned threads, or an assignee who has
    left) to the duty inbox."""
    threads = list(
        Thread.objects.filter(pk__in=thread_ids, organisation_id=organisation_id, status=Thread.Status.OPEN)
        .select_related("dispatch")
        .order_by("awaiting_since", "pk")
    )
    if not threads:
        return
    assignee = None
    if assignee_id is not None:
        assignee = Member.objects.filter(pk=assignee_id, is_active=True, organisation_id=organisation_id).first()
    to = [assignee.email] if assignee else selectors.duty_addresses(organisation=organisation_id)
    _staff_email_send(
        to=to,
        template="replies/email/reminder",
        context={
            "threads": [(t, _site_url(reverse("replies:thread", kwargs={"pk": t.pk}))) for t in threads],
            "assignee": assignee,
            "organisation": Organisation.objects.get(pk=organisation_id),
            "days": settings.REPLY_REMINDER_DAYS,
        },
    )


# --- personal data


def _export_replies(member: Member) -> dict[str, Any]:
    threads = (
        Thread.objects.filter(resident=member)
        .select_related("organisation", "dispatch")
        .prefetch_related("messages")
        .order_by("created_at", "pk")
    )
    return {
        "conversations": [
            {
                "organisation": t.organisation.name,
                "about": t.dispatch.subject,
                "status": t.status,
                "started_at": t.created_at.isoformat(),
                "messages": [
                    {
                        "at": m.created_at.isoformat(),
                        "from": "you" if m.from_resident else t.organisation.name,
                        "text": m.body,
                    }
                    for m in t.messages.all()
                ],
            }
            for t in threads
        ],
        "ratings": [
            {
                "about": r.dispatch.subject,
                "organisation": r.dispatch.organisation.name,
                "score": r.score,
                "at": r.updated_at.isoformat(),
            }
            for r in Rating.objects.filter(resident=member).select_related("dispatch__organisation").order_by("pk")
        ],
        "answers_written_as_officer": [
            {"at": m.created_at.isoformat(), "conversation": m.thread_id, "text": m.body}
            for m in Message.objects.filter(author=member, from_resident=False).order_by("created_at", "pk")
        ],
    }


def _erase_replies(member: Member) -> None:
    """What happens to a resident's replies when they erase their account.

    Their messages stay with the force, attached to the tombstone, which identifies
    nobody: a reply may be a report of a crime or a safeguarding concern that the
    force must keep under its own records rules (it reviews and deletes them on its
    retention schedule, as it does any report), and officers' answers make no sense
    without it. Their ratings stay too, anonymous, so alerts' averages do not shift.
    Open threads that are not urgent are closed, since nobody can read an answer any
    more and nobody should be reminded to write one; urgent ones stay open for the duty
    officer to decide. What the resident typed is not rewritten: it is not searchable
    by the person, and the force is the controller of what it was told.
    """
    Thread.objects.filter(resident=member, status=Thread.Status.OPEN, urgent=False).update(
        status=Thread.Status.CLOSED, closed_at=timezone.now(), awaiting_since=None, unread=False
    )


personal_data.register("replies", export=_export_replies, erase=_erase_replies)
