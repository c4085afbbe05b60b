"""The verbs of the dispatch pipeline: fan out, send a batch, sweep, cancel, mark read.

The rows are the truth and each step only moves them forward, so every step can run
twice (a task redelivered after a crash, the sweep meeting a task still queued)
without sending anything twice:

1. `dispatch_fan_out` turns a pending dispatch into its deliveries with ONE
   `INSERT … SELECT`, then queues `send_batch` tasks over id ranges of the
   deliveries ready to go.
2. `delivery_batch_send` claims a range's due rows (`FOR UPDATE SKIP LOCKED`), marks
   them `sending` and commits, sends outside any lock, and records each outcome:
   sent, retry later (with backoff), or failed.
3. `dispatch_sweep` (every minute) is the safety net: it fans out dispatches the
   broker never delivered, releases deliveries held for quiet hours and retries
   that are due, and puts rows stuck in `sending` (their worker died) back in line.
   Deliveries held for the daily digest (`digest`) are not released one by one:
   notifications/digest.py sends each member ONE email listing them all.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from core import personal_data
from members.models import Member, Organisation, Preferences

from . import tasks
from .audience import audience_members, audience_spec_clean, channel_conditions, members_messageable
from .channels import Outcome, PermanentFailure, Sent, TemporaryFailure, channel_backend
from .models import Delivery, Digest, Dispatch
from .ratelimit import RateGate, channel_bucket

logger = logging.getLogger(__name__)

# Quiet hours and the digest are UK wall-clock times, whatever the server's clock.
UK = ZoneInfo("Europe/London")
# Priorities this urgent (1 and 2) ignore quiet hours and digests: a missing child
# cannot wait until 7 in the morning.
URGENT_PRIORITY = 2
# The sweep's clocks are settings (DISPATCH_PENDING_GRACE_SECONDS: a dispatch still
# pending this long missed its task; DISPATCH_STUCK_AFTER_SECONDS: a delivery sending
# this long lost its worker; DISPATCH_REQUEUE_AFTER_SECONDS: a pending delivery queued
# this long ago lost its batch task), so that a deployment and the reliability tests
# can set them; see mcv/settings.py for why each has its default.
# Outcomes are written every this many deliveries: a worker killed mid-batch leaves at
# most this many sent-but-unrecorded messages to go again.
RECORD_EVERY = 50
RETRY_MAX_DELAY = timedelta(hours=1)


# --- publishing


def dispatch_publish(
    *,
    organisation: Organisation | int,
    source: models.Model | None = None,
    source_type: str = "",
    source_id: str | int = "",
    subject: str,
    body_text: str,
    body_html: str = "",
    url: str = "",
    audience: dict[str, Any],
    category: str = "",
    priority: int = 3,
    created_by: Member | None = None,
    send_at: datetime | None = None,
) -> Dispatch:
    """Write a message to an audience into the outbox; it is fanned out once the caller commits.

    The one way every app sends (an alert, a survey invitation, a footage request, a
    coordinator's message). Call it inside the transaction that writes what it
    announces: both commit or neither does, and the fan-out task is queued only on
    commit. If the broker is down then, publishing still succeeds and the sweep fans
    the dispatch out within a minute of the broker coming back. With `send_at` in the
    future nothing is queued now: the sweep fans it out when the time comes.

    `source` (any model instance) names what published it, as `source_type`
    ("app_label.model") and `source_id`. The audience spec is checked here
    (ValidationError, saying what is wrong).
    """
    if source is not None:
        source_type, source_id = source._meta.label_lower, source.pk
    if not source_type or source_id in ("", None):
        raise TypeError("A dispatch needs its source: pass `source`, or `source_type` and `source_id`.")
    dispatch = Dispatch.objects.create(
        organisation_id=organisation if isinstance(organisation, int) else organisation.pk,
        source_type=source_type,
        source_id=str(source_id),
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        url=url,
        audience=audience_spec_clean(spec=audience),
        category=category,
        priority=priority,
        created_by=created_by,
        send_at=send_at,
    )
    if send_at is None or send_at <= timezone.now():
        tasks.fan_out_task.delay_on_commit(dispatch_id=dispatch.pk)
    return dispatch


# --- fan-out


def dispatch_fan_out(*, dispatch_id: int, now: datetime | None = None) -> dict[str, int]:
    """Create every delivery of a pending dispatch in one statement, then queue the batches.

    One transaction: the dispatch row is locked (a second fan-out of the same dispatch
    skips it on PostgreSQL, waits and finds it done on SQLite), the deliveries are
    inserted, the dispatch moves to `sending` (or `done` when nothing is left to send).
    The batches are queued once that commits. Running it again changes nothing: the
    dispatch is no longer pending, and even if it were, an INSERT that finds rows
    already there skips them (`ON CONFLICT` on the unique dispatch, member, channel).

    Returns {"members": audience size, "<channel>": deliveries…, "batches": n}, or {}
    when the dispatch was not pending (already done, cancelled, or being fanned out).
    """
    now = now or timezone.now()
    with transaction.atomic():
        pending = Dispatch.objects.filter(
            Q(send_at__isnull=True) | Q(send_at__lte=now), pk=dispatch_id, status=Dispatch.Status.PENDING
        )
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        dispatch = pending.first()
        if dispatch is None:
            return {}
        dispatch.status = Dispatch.Status.FANNING_OUT
        dispatch.save(update_fields=["status"])

        members = audience_members(spec=dispatch)
        inserted = None
        if not members.query.is_empty():
            # A dispatch that is pending has no deliveries (the rows and the status move
            # commit together), so the INSERT needs no ON CONFLICT, which costs a
            # quarter of a million-member fan-out; should rows exist all the same, the
            # INSERT skips them rather than failing on the unique constraint.
            fresh = not Delivery.objects.filter(dispatch=dispatch).exists()
            sql, params = _deliveries_insert_sql(dispatch=dispatch, members=members, now=now, skip_existing=not fresh)
            if fresh and connection.vendor == "postgresql":
                inserted = _deliveries_insert_summarised(sql, params)
            else:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)

        if inserted is None:  # SQLite, or rows were there before: read them back
            counts = _delivery_counts(dispatch_id=dispatch.pk)
            audience_size = Delivery.objects.filter(dispatch=dispatch).values("member_id").distinct().count()
            unfinished = _has_unfinished(dispatch_id=dispatch.pk)
            batches = _pending_batches(dispatch_id=dispatch.pk)
        else:
            counts, audience_size, unfinished = inserted.counts, inserted.members, inserted.unfinished
            batches = [(dispatch.pk, first, last) for first, last in inserted.batches()]
        dispatch.audience_size = audience_size
        dispatch.fanned_out_at = now
        if unfinished:
            dispatch.status = Dispatch.Status.SENDING
        else:
            dispatch.status, dispatch.completed_at = Dispatch.Status.DONE, now
        dispatch.save(update_fields=["status", "audience_size", "fanned_out_at", "completed_at"])

        for batch_dispatch_id, first_id, last_id in batches:
            tasks.send_batch.delay_on_commit(dispatch_id=batch_dispatch_id, first_id=first_id, last_id=last_id)
    return {"members": dispatch.audience_size, **counts, "batches": len(batches)}


class _Inserted:
    """What a fan-out's INSERT wrote, read from its RETURNING rows in the same statement."""

    def __init__(self, rows: list[tuple]) -> None:
        # rows: (channel, status, count, min id, max id, members) per channel and status
        self.counts = dict.fromkeys(("inbox", "email", "sms", "push"), 0)
        self.members, self.unfinished = 0, False
        self.pending, self.first_pending, self.last_pending = 0, None, None
        for channel, status, count, first, last, members in rows:
            self.counts[channel] += count
            self.members = members
            self.unfinished |= status in Delivery.UNFINISHED
            if status == Delivery.Status.PENDING:
                self.pending += count
                self.first_pending = first if self.first_pending is None else min(first, self.first_pending)
                self.last_pending = last if self.last_pending is None else max(last, self.last_pending)

    def batches(self) -> list[tuple[int, int]]:
        """Id ranges holding about DISPATCH_BATCH_SIZE pending deliveries each.

        The rows were written by one statement, so their ids are one run with the
        pending ones spread through it (a member's inbox and email rows side by side):
        cutting the run into equal stretches gives batches of about the size asked,
        without reading a million rows back to number them. A batch sends only the
        pending rows of its dispatch in its range, so an uneven cut only makes one
        batch a little bigger than another.
        """
        if not self.pending:
            return []
        size = int(settings.DISPATCH_BATCH_SIZE)
        chunks = math.ceil(self.pending / size)
        width = math.ceil((self.last_pending - self.first_pending + 1) / chunks)
        return [
            (first, min(first + width - 1, self.last_pending))
            for first in range(self.first_pending, self.last_pending + 1, width)
        ]


def _deliveries_insert_summarised(sql: str, params: list) -> _Inserted:
    """Run the fan-out's INSERT (PostgreSQL) and summarise what it wrote in the same
    statement: per channel and status, how many, their first and last ids, and how
    many members. Reading the fresh rows back afterwards took three more scans, a
    tenth of a million-member fan-out (bench/fanout.py)."""
    summary = (
        f"WITH inserted AS ({sql} RETURNING id, member_id, channel, status), "  # noqa: S608 (our own SQL, no input in it)
        "reached AS (SELECT COUNT(DISTINCT member_id) AS n FROM inserted) "
        "SELECT channel, status, COUNT(*), MIN(id), MAX(id), (SELECT n FROM reached) "
        "FROM inserted GROUP BY channel, status"
    )
    with connection.cursor() as cursor:
        cursor.execute(summary, params)
        return _Inserted(cursor.fetchall())


def _deliveries_insert_sql(
    *, dispatch: Dispatch, members: QuerySet[Member], now: datetime, skip_existing: bool = True
) -> tuple[str, list]:
    """The one INSERT … SELECT that creates a dispatch's deliveries, for PostgreSQL or SQLite.

    The audience is the ORM's own compiled query (`sql_with_params()`), annotated with
    what the channel rules and quiet hours need; the outer statement multiplies it by
    the channels and decides, per row, in SQL:

    * inbox: `sent` at once. There is nothing to send (the row is the message) and
      the inbox never disturbs anyone, so it ignores quiet hours and digests; marking
      it sent here spares a million-row UPDATE in the batches.
    * email, SMS and push: `pending`, or `held` until the member's quiet hours end (UK
      time, possibly past midnight), or `digest` until the next daily digest for
      daily-digest members (who get non-urgent messages by email only: see
      channel_conditions). Priorities 1 and 2 are never held.

    The uuid: on SQLite the column's default (UUIDV4()). On PostgreSQL one random
    64-bit prefix for the whole fan-out, then the row's number: a random uuid per row
    lands anywhere in the uuid's unique index, and maintaining that index was a third
    of the fan-out's time (bench/fanout.py); numbered, a fan-out's rows fill one fresh
    stretch of it in order. It is an RFC 9562 version 8 uuid, unique all the same
    (the index still says so), and no more guessable than it needs to be: it is a
    Message-ID, never a key to anything.
    """
    ops = connection.ops
    conditions = channel_conditions(priority=dispatch.priority)
    audience_sql, audience_params = (
        members.order_by()
        .values(
            m_id=F("pk"),
            p_frequency=F("preferences__frequency"),
            p_qs=F("preferences__quiet_hours_start"),
            p_qe=F("preferences__quiet_hours_end"),
            **{f"w_{c}": ExpressionWrapper(conditions[c], output_field=BooleanField()) for c in conditions},
        )
        .query.sql_with_params()
    )
    db_now = ops.adapt_datetimefield_value(now)

    if dispatch.priority <= URGENT_PRIORITY:
        status_sql, status_params = "%s", [Delivery.Status.PENDING]
        next_sql, next_params = "%s", [db_now]
    else:
        local = now.astimezone(UK)
        t = ops.adapt_timefield_value(local.time().replace(microsecond=0, tzinfo=None))
        # In quiet hours now: start <= t < end, or past midnight (22:00-07:00) t >= start or t < end.
        quiet = (
            "(a.p_qs IS NOT NULL AND a.p_qe IS NOT NULL AND ("
            "(a.p_qs < a.p_qe AND a.p_qs <= %s AND %s < a.p_qe) OR "
            "(a.p_qs > a.p_qe AND (a.p_qs <= %s OR %s < a.p_qe))))"
        )
        quiet_params = [t, t, t, t]
        quiet_end_sql, quiet_end_params = _quiet_end_sql(local=local, local_time=t)
        digest = "a.p_frequency = %s"
        digest_params = [Preferences.Frequency.DAILY_DIGEST]
        status_sql = f"CASE WHEN {digest} THEN %s WHEN {quiet} THEN %s ELSE %s END"
        status_params = [*digest_params, Delivery.Status.DIGEST, *quiet_params, Delivery.Status.HELD]
        status_params.append(Delivery.Status.PENDING)
        next_sql = f"CASE WHEN {digest} THEN %s WHEN {quiet} THEN {quiet_end_sql} ELSE %s END"
        next_params = [
            *digest_params,
            ops.adapt_datetimefield_value(next_digest_at(now=now)),
            *quiet_params,
            *quiet_end_params,
            db_now,
        ]

    uuid_column, uuid_sql, uuid_params = "", "", []
    if connection.vendor == "postgresql":
        prefix = secrets.token_hex(8)
        uuid_column, uuid_sql = ", uuid", ", (%s || lpad(to_hex(row_number() OVER ()), 15, '0'))::uuid"
        uuid_params = [f"{prefix[:12]}8{prefix[13:]}8"]  # version 8, variant 10 (RFC 9562)

    table = Delivery._meta.db_table
    sql = (
        f"INSERT INTO {table} (dispatch_id, member_id, channel, status, attempts, next_attempt_at, "  # noqa: S608
        f"provider_id, error, sent_at, created_at{uuid_column}) "
        "SELECT %s, a.m_id, c.channel, "
        f"CASE WHEN c.channel = 'inbox' THEN %s ELSE {status_sql} END, "
        "0, "
        f"CASE WHEN c.channel = 'inbox' THEN NULL ELSE {next_sql} END, "
        "'', '', "
        "CASE WHEN c.channel = 'inbox' THEN %s END, "
        f"%s{uuid_sql} "
        f"FROM ({audience_sql}) AS a "
        "CROSS JOIN (SELECT 'inbox' AS channel UNION ALL SELECT 'email' UNION ALL SELECT 'sms' "
        "UNION ALL SELECT 'push') AS c "
        "WHERE (c.channel = 'inbox' AND a.w_inbox) OR (c.channel = 'email' AND a.w_email) "
        "OR (c.channel = 'sms' AND a.w_sms) OR (c.channel = 'push' AND a.w_push)"
    )
    if skip_existing:
        # SQLite needs the WHERE above to read ON CONFLICT as the upsert clause.
        sql += " ON CONFLICT (dispatch_id, member_id, channel) DO NOTHING"
    params = [
        dispatch.pk,
        Delivery.Status.SENT,
        *status_params,
        *next_params,
        db_now,
        db_now,
        *uuid_params,
        *audience_params,
    ]
    return sql, params


def _quiet_end_sql(*, local: datetime, local_time: Any) -> tuple[str, list]:
    """SQL for the moment a member's quiet hours end: the next time the UK clock shows
    their end time (today if it is still ahead, else tomorrow), exact across the
    clock changes in spring and autumn."""
    today, tomorrow = local.date(), local.date() + timedelta(days=1)
    ops = connection.ops
    day_params = [local_time, ops.adapt_datefield_value(today), ops.adapt_datefield_value(tomorrow)]
    if connection.vendor == "postgresql":
        # date + time is a local timestamp; AT TIME ZONE reads it as UK time.
        return "((CASE WHEN a.p_qe > %s THEN %s::date ELSE %s::date END + a.p_qe) AT TIME ZONE 'Europe/London')", (
            day_params
        )
    _sqlite_register_functions()
    return "mcv_uk_wall_clock(CASE WHEN a.p_qe > %s THEN %s ELSE %s END, a.p_qe)", day_params


def _sqlite_uk_wall_clock(day: str | None, at: str | None) -> str | None:
    """SQLite has no time zones: a UK date and time to the stored UTC form, in Python."""
    if day is None or at is None:
        return None
    local = datetime.combine(date.fromisoformat(day), time.fromisoformat(at), tzinfo=UK)
    return connection.ops.adapt_datetimefield_value(local)


def _sqlite_register_functions() -> None:
    connection.ensure_connection()
    connection.connection.create_function("mcv_uk_wall_clock", 2, _sqlite_uk_wall_clock, deterministic=True)


def next_digest_at(*, now: datetime) -> datetime:
    """The next time the daily digest goes (DISPATCH_DIGEST_TIME, UK clock), after `now`."""
    local = now.astimezone(UK)
    at = time.fromisoformat(settings.DISPATCH_DIGEST_TIME)
    candidate = datetime.combine(local.date(), at, tzinfo=UK)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=UK)
    return candidate


def _delivery_counts(*, dispatch_id: int) -> dict[str, int]:
    counts = Counter(dict.fromkeys(("inbox", "email", "sms", "push"), 0))
    for row in Delivery.objects.filter(dispatch_id=dispatch_id).values("channel").order_by().annotate(n=Count("pk")):
        counts[row["channel"]] = row["n"]
    return dict(counts)


def _has_unfinished(*, dispatch_id: int) -> bool:
    return Delivery.objects.filter(dispatch_id=dispatch_id, status__in=Delivery.UNFINISHED).exists()


def _pending_batches(
    *, dispatch_id: int | None = None, queued_at: datetime | None = None
) -> list[tuple[int, int, int]]:
    """(dispatch id, first id, last id) ranges holding DISPATCH_BATCH_SIZE pending deliveries each.

    Numbered in the database (ROW_NUMBER per dispatch), so a million pending rows
    come back as two thousand ranges, not a million ids.
    """
    where, params = ["status = %s"], [Delivery.Status.PENDING]
    if dispatch_id is not None:
        where.append("dispatch_id = %s")
        params.append(dispatch_id)
    if queued_at is not None:
        where.append("next_attempt_at = %s")
        params.append(connection.ops.adapt_datetimefield_value(queued_at))
    size = int(settings.DISPATCH_BATCH_SIZE)
    sql = (
        "SELECT dispatch_id, MIN(id), MAX(id) FROM ("  # noqa: S608
        "SELECT dispatch_id, id, (ROW_NUMBER() OVER (PARTITION BY dispatch_id ORDER BY id) - 1) / %s AS chunk "
        f"FROM {Delivery._meta.db_table} WHERE {' AND '.join(where)}"
        ") AS numbered GROUP BY dispatch_id, chunk ORDER BY dispatch_id, chunk"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, *params])
        return [tuple(row) for row in cursor.fetchall()]


# --- sending


def retry_delay(*, attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th attempt failed: doubling from
    DISPATCH_RETRY_BASE_SECONDS, at most an hour, jittered ±20% so that a server
    coming back is not hit by every retry in the same second."""
    base = settings.DISPATCH_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(base, RETRY_MAX_DELAY.total_seconds()) * random.uniform(0.8, 1.2)
    return timedelta(seconds=seconds)


def delivery_batch_send(
    *, dispatch_id: int, first_id: int, last_id: int, now: datetime | None = None
) -> dict[str, int]:
    """Send the due deliveries of one dispatch whose ids lie in [first_id, last_id].

    Claims them first (pending, or retry whose time has come) and commits them as
    `sending` with the attempt counted, so no other worker takes them and a re-run of
    the same batch finds nothing. Then sends outside any lock, channel by channel
    (one connection per channel), and records outcomes as it goes. Before sending it
    checks each member still wants the message: a member who withdrew their opt-in or
    switched the channel off while the message was held gets nothing. Each channel
    sends no faster than its CHANNEL_RATE_LIMITS entry, counted across all workers;
    when the limit would keep the batch waiting long, the rest goes back to `pending`
    and the batch is queued again for when there is room.

    Returns how many deliveries ended in each status ("deferred": put back for the limit).
    """
    claimed = _deliveries_claim(dispatch_id=dispatch_id, first_id=first_id, last_id=last_id, now=now or timezone.now())
    if not claimed:
        return {}
    dispatch = Dispatch.objects.select_related("organisation").get(pk=dispatch_id)
    conditions = channel_conditions(priority=dispatch.priority, prefix="member__")
    deliveries = list(
        Delivery.objects.filter(pk__in=claimed, status=Delivery.Status.SENDING)
        .select_related("member")
        .annotate(
            reachable=Exists(
                members_messageable(organisation=dispatch.organisation_id).filter(pk=OuterRef("member_id"))
            ),
            channel_on=Case(
                *(When(Q(channel=c) & conditions[c], then=Value(True)) for c in ("email", "sms", "push")),
                default=Value(False),
            ),
        )
        .order_by("pk")
    )
    recorder = _OutcomeRecorder(now=now)
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.reachable and delivery.channel_on:
            by_channel[delivery.channel].append(delivery)
        else:
            recorder.cancel(delivery, "The member no longer wants this message on this channel.")
    held_back: list[Delivery] = []
    wait = 0.0
    for channel, rows in by_channel.items():
        done: set[int] = set()
        # The channel's rate limit (CHANNEL_RATE_LIMITS), shared by every worker: the
        # backend gets the deliveries only as fast as the limit allows.
        bucket = channel_bucket(channel)
        gate = RateGate(rows, bucket, max_wait=settings.DISPATCH_RATE_LIMIT_MAX_WAIT_SECONDS) if bucket else None
        try:
            for delivery, outcome in channel_backend(channel).send(dispatch=dispatch, deliveries=gate or rows):
                recorder.record(delivery, outcome)
                done.add(delivery.pk)
        except Exception as exc:
            # A bug or a backend failing in a way it should have reported: the rest of
            # this channel waits for a retry instead of sitting in `sending`.
            logger.exception("Sending %s for dispatch %s failed", channel, dispatch_id)
            for delivery in rows:
                if delivery.pk not in done:
                    recorder.record(delivery, TemporaryFailure(str(exc)[:300] or type(exc).__name__))
        if gate is not None and gate.wait is not None:
            held_back += [d for d in rows[gate.handed_out :] if d.pk not in done]
            wait = max(wait, gate.wait)
    recorder.flush()
    if held_back:
        recorder.counts["deferred"] = _deliveries_defer(dispatch_id=dispatch_id, deliveries=held_back, wait=wait)
    _dispatch_finish_if_done(dispatch_id=dispatch_id, now=now or timezone.now())
    return dict(recorder.counts)


def _deliveries_defer(*, dispatch_id: int, deliveries: list[Delivery], wait: float) -> int:
    """Put deliveries a channel's rate limit held back in line again, and queue their batch for when there is room.

    They were claimed but never tried, so they go back to `pending` with the attempt
    uncounted. Nothing is dropped: if the task queued here is lost, the sweep finds
    them pending (DISPATCH_REQUEUE_AFTER_SECONDS). Nothing goes twice: the new batch
    claims them afresh, like any other.
    """
    ids = [d.pk for d in deliveries]
    count = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=timezone.now()
    )
    if tasks.send_batch.app.conf.task_always_eager:
        # Without a broker the task would run here and now, before there is room: the
        # sweep queues them once DISPATCH_REQUEUE_AFTER_SECONDS have passed.
        return count
    tasks.send_batch.apply_async_on_commit(
        kwargs={"dispatch_id": dispatch_id, "first_id": min(ids), "last_id": max(ids)}, countdown=math.ceil(wait)
    )
    return count


def _deliveries_claim(*, dispatch_id: int, first_id: int, last_id: int, now: datetime) -> list[int]:
    """Mark the due deliveries in the range `sending` and commit; return their ids.

    On PostgreSQL rows another worker holds are skipped, not waited for. The attempt
    is counted here, before sending: a message that kills its worker every time
    still runs out of attempts. `next_attempt_at` records when it was claimed, which
    is how the sweep tells a stuck row.
    """
    due = Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.RETRY, next_attempt_at__lte=now)
    with transaction.atomic():
        rows = Delivery.objects.filter(due, dispatch_id=dispatch_id, pk__gte=first_id, pk__lte=last_id)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.order_by("pk").values_list("pk", flat=True))
        if ids:
            Delivery.objects.filter(pk__in=ids).update(
                status=Delivery.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now
            )
    return ids


class _OutcomeRecorder:
    """Collects outcomes and writes them in small batches (one UPDATE each, only over
    rows still `sending`, so a row the sweep took back meanwhile is left alone)."""

    FIELDS = ("status", "provider_id", "error", "sent_at", "next_attempt_at")

    def __init__(self, *, now: datetime | None) -> None:
        self.now = now
        self.rows: list[Delivery] = []
        self.counts: Counter[str] = Counter()

    def record(self, delivery: Delivery, outcome: Outcome) -> None:
        now = self.now or timezone.now()
        if isinstance(outcome, Sent):
            delivery.status, delivery.sent_at = Delivery.Status.SENT, now
            delivery.provider_id, delivery.error, delivery.next_attempt_at = outcome.provider_id, "", None
        elif isinstance(outcome, PermanentFailure):
            delivery.status, delivery.error, delivery.next_attempt_at = Delivery.Status.FAILED, outcome.error, None
        elif delivery.attempts >= settings.DISPATCH_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
            delivery.error = f"Gave up after {delivery.attempts} attempts: {outcome.error}"[:300]
        else:
            delivery.status, delivery.error = Delivery.Status.RETRY, outcome.error
            delivery.next_attempt_at = now + retry_delay(attempts=delivery.attempts)
        self._add(delivery)

    def cancel(self, delivery: Delivery, reason: str) -> None:
        delivery.status, delivery.error, delivery.next_attempt_at = Delivery.Status.CANCELLED, reason, None
        self._add(delivery)

    def _add(self, delivery: Delivery) -> None:
        self.counts[delivery.status] += 1
        self.rows.append(delivery)
        if len(self.rows) >= RECORD_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if connection.vendor == "postgresql":
            self._update_from_arrays()
        else:
            Delivery.objects.filter(status=Delivery.Status.SENDING).bulk_update(self.rows, self.FIELDS)
        self.rows = []

    def _update_from_arrays(self) -> None:
        """The same UPDATE as bulk_update, as one statement joined to arrays of the values.

        bulk_update builds a CASE per field per row through the ORM: 5 ms a delivery
        in Python (measured with bench/fanout.py), as much as rendering and sending
        the email itself. Five array parameters cost next to nothing.
        """
        ops, rows = connection.ops, self.rows
        columns = {
            "status": ("text", [d.status for d in rows]),
            "provider_id": ("text", [d.provider_id for d in rows]),
            "error": ("text", [d.error for d in rows]),
            "sent_at": ("timestamptz", [ops.adapt_datetimefield_value(d.sent_at) for d in rows]),
            "next_attempt_at": ("timestamptz", [ops.adapt_datetimefield_value(d.next_attempt_at) for d in rows]),
        }
        assert tuple(columns) == self.FIELDS
        unnest = ", ".join(f"%s::{kind}[]" for kind, _ in columns.values())
        sql = (
            f"UPDATE {Delivery._meta.db_table} AS d SET "  # noqa: S608
            + ", ".join(f"{name} = v.{name}" for name in columns)
            + f" FROM unnest(%s::bigint[], {unnest}) AS v(id, {', '.join(columns)}) "
            "WHERE d.id = v.id AND d.status = %s"
        )
        params = [[d.pk for d in rows], *(values for _, values in columns.values()), Delivery.Status.SENDING]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _dispatch_finish_if_done(*, dispatch_id: int, now: datetime) -> None:
    Dispatch.objects.filter(pk=dispatch_id, status=Dispatch.Status.SENDING).exclude(
        Exists(Delivery.objects.filter(dispatch=OuterRef("pk"), status__in=Delivery.UNFINISHED))
    ).update(status=Dispatch.Status.DONE, completed_at=now)


# --- the sweep


def _setting_seconds(name: str) -> timedelta:
    return timedelta(seconds=float(getattr(settings, name)))


def dispatch_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The every-minute safety net; returns what it did. Safe to run at any time, and twice.

    * dispatches still `pending` a minute after publishing (their task never came:
      the broker was down) are fanned out, and so are scheduled ones whose time has come;
    * deliveries stuck in `sending` for 15 minutes (the worker died mid-batch; the
      DISPATCH_STUCK_AFTER_SECONDS setting) go
      back to `retry`, or `failed` if out of attempts; their uuid lets the receiving
      side spot the copy that may already have arrived;
    * deliveries `held` whose time has come, `retry` ones that are due, and `pending`
      ones whose batch task was lost are queued again in fresh batches;
    * dispatches with nothing left to send are marked done.
    """
    now = now or timezone.now()
    stale = list(
        Dispatch.objects.filter(
            Q(send_at__isnull=True, created_at__lte=now - _setting_seconds("DISPATCH_PENDING_GRACE_SECONDS"))
            | Q(send_at__lte=now),
            status=Dispatch.Status.PENDING,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for dispatch_id in stale:
        tasks.fan_out_task.delay_on_commit(dispatch_id=dispatch_id)

    with transaction.atomic():
        stuck_before = now - _setting_seconds("DISPATCH_STUCK_AFTER_SECONDS")
        stuck = Delivery.objects.filter(status=Delivery.Status.SENDING, next_attempt_at__lte=stuck_before)
        gave_up = stuck.filter(attempts__gte=settings.DISPATCH_MAX_ATTEMPTS).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, error="Gave up: the worker sending it stopped."
        )
        unstuck = stuck.update(
            status=Delivery.Status.RETRY, next_attempt_at=now, error="Interrupted while sending; sent again."
        )
        # `next_attempt_at = now` marks what this sweep queued, for the batches below.
        released = Delivery.objects.filter(
            Q(status__in=[Delivery.Status.HELD, Delivery.Status.RETRY], next_attempt_at__lte=now)
            | Q(
                status=Delivery.Status.PENDING,
                next_attempt_at__lte=now - _setting_seconds("DISPATCH_REQUEUE_AFTER_SECONDS"),
            )
        ).update(status=Delivery.Status.PENDING, next_attempt_at=now)
        batches = _pending_batches(queued_at=now) if released else []
        for dispatch_id, first_id, last_id in batches:
            tasks.send_batch.delay_on_commit(dispatch_id=dispatch_id, first_id=first_id, last_id=last_id)

    finished = (
        Dispatch.objects.filter(status=Dispatch.Status.SENDING)
        .exclude(Exists(Delivery.objects.filter(dispatch=OuterRef("pk"), status__in=Delivery.UNFINISHED)))
        .update(status=Dispatch.Status.DONE, completed_at=now)
    )
    return {
        "dispatches_fanned_out": len(stale),
        "stuck_retried": unstuck,
        "stuck_failed": gave_up,
        "released": released,
        "batches": len(batches),
        "dispatches_done": finished,
    }


# --- cancelling


@transaction.atomic
def dispatch_cancel(*, dispatch_id: int, now: datetime | None = None) -> int:
    """Stop a dispatch (the alert was withdrawn): nothing not yet sent will be sent.

    Messages already sent stay sent, and those being sent right now finish; inbox
    copies stay (the withdrawal itself is news, sent as its own dispatch). Returns how
    many deliveries were stopped.
    """
    now = now or timezone.now()
    Dispatch.objects.filter(
        pk=dispatch_id,
        status__in=[Dispatch.Status.PENDING, Dispatch.Status.FANNING_OUT, Dispatch.Status.SENDING],
    ).update(status=Dispatch.Status.CANCELLED, completed_at=now)
    return Delivery.objects.filter(
        dispatch_id=dispatch_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.HELD, Delivery.Status.DIGEST, Delivery.Status.RETRY],
    ).update(status=Delivery.Status.CANCELLED, next_attempt_at=None, error="The message was withdrawn.")


# --- the inbox


def delivery_mark_read(*, member: Member, delivery_id: int) -> Delivery:
    """A resident opened a message in their inbox. Only their own: anyone else's id is
    Delivery.DoesNotExist (a 404 to the view). Reading it twice keeps the first time."""
    from .selectors import inbox_for

    delivery = inbox_for(member=member).get(pk=delivery_id)
    if delivery.read_at is None:
        read_at = timezone.now()
        Delivery.objects.filter(pk=delivery.pk, read_at__isnull=True).update(read_at=read_at)
        delivery.read_at = read_at
    return delivery


# --- personal data: the messages a member was sent


def _export_deliveries(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "at": d.created_at.isoformat(),
            "organisation": d.dispatch.organisation.name,
            "channel": d.channel,
            "status": d.status,
            "subject": d.dispatch.subject,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "read_at": d.read_at.isoformat() if d.read_at else None,
        }
        for d in Delivery.objects.filter(member=member)
        .select_related("dispatch__organisation")
        .order_by("created_at", "pk")
        .iterator(chunk_size=2000)
    ]


def _erase_deliveries(member: Member) -> None:
    # Nothing more goes to someone who is gone. What was sent stays, for the reach
    # figures of the alerts, pointing at the tombstone (which identifies nobody).
    Delivery.objects.filter(
        member=member,
        status__in=[Delivery.Status.PENDING, Delivery.Status.HELD, Delivery.Status.DIGEST, Delivery.Status.RETRY],
    ).delete()
    Digest.objects.filter(member=member, status__in=Digest.UNFINISHED).delete()


personal_data.register("messages", export=_export_deliveries, erase=_erase_deliveries)
