"""The daily digest: ONE email a day to each resident who chose it, listing what was held for it.

Fan-out holds a daily-digest member's non-urgent emails as deliveries in status
`digest`, due at the next DISPATCH_DIGEST_TIME (UK clock). Priorities 1 and 2 are
never held: they go at once, on every channel the member chose.

Why email only. A digest member chose to hear once a day; their inbox has every
message the moment it is published. One email listing the day's messages, each
with its link, is what "a daily digest" means to people. A text cannot list ten
messages in 306 characters, and a push saying "you have ten messages" interrupts
just as the member asked us not to: so for a digest member a non-urgent message
makes no text and no push at all (notifications.audience.channel_conditions, which
also keeps the officer's live counts honest), while the lowest-priority-for-SMS
setting still decides texts for the urgent ones.

At the digest time, beat runs `digest_run`:

1. One INSERT … SELECT makes a Digest row for every member with due `digest`
   deliveries: one per member and digest time (a unique constraint: a second run
   adds none), never a second while one is unfinished. A member whose quiet hours
   cover the digest time gets it when they end.
2. The due digests go in batches of DISPATCH_BATCH_SIZE (`digest_batch_send`): a
   batch claims its digests (`FOR UPDATE SKIP LOCKED`), reads all their members'
   messages in a few queries, renders each message once, builds each member's email
   by string replacement, sends over one connection, and records: the digest `sent`
   and every delivery it listed `sent`, with the digest's Message-ID as provider id.
3. The same task runs every ten minutes as the safety net: a digest whose worker
   died in `sending` goes again with the same Message-ID, retries come due, and a
   digest time beat missed is caught up late rather than never.
"""

from __future__ import annotations

import logging
import math
import secrets
import smtplib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urljoin, urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import mailers
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from core.email import UnfoldedHeadersEmail
from members.models import Member, OrganisationOptIn, Preferences

from . import tasks
from .channels import EmailChannel, Outcome, PermanentFailure, Sent, TemporaryFailure, _short, _smtp_outcome
from .models import Delivery, Digest, Dispatch
from .services import UK, _quiet_end_sql, retry_delay

logger = logging.getLogger(__name__)

# Outcomes are written every this many digests: a worker killed mid-batch leaves at
# most this many sent-but-unrecorded digests to go again (with the same Message-ID).
RECORD_EVERY = 50
# How much of each message the digest quotes; the link leads to the whole of it.
EXCERPT_CHARS = 280


def last_digest_at(*, now: datetime) -> datetime:
    """The latest digest time (DISPATCH_DIGEST_TIME, UK clock) at or before `now`."""
    local = now.astimezone(UK)
    at = time.fromisoformat(settings.DISPATCH_DIGEST_TIME)
    candidate = datetime.combine(local.date(), at, tzinfo=UK)
    if candidate > local:
        candidate = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=UK)
    return candidate


# --- the run: make the day's digests, queue their batches


def digest_run(*, now: datetime | None = None) -> dict[str, int]:
    """Make and queue the daily digests that are due; safe to run at any time, and twice.

    Puts back digests stuck in `sending` (their worker died) for another go, makes a
    Digest for every member with held messages now due, and queues the batches that
    send the due ones. Returns what it did.
    """
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=float(settings.DISPATCH_STUCK_AFTER_SECONDS))
    with transaction.atomic():
        stuck = Digest.objects.filter(status=Digest.Status.SENDING, next_attempt_at__lte=stuck_before)
        gave_up = list(stuck.filter(attempts__gte=settings.DISPATCH_MAX_ATTEMPTS).values_list("pk", flat=True))
        if gave_up:
            _digests_give_up(digest_ids=gave_up, error="Gave up: the worker sending it stopped.", now=now)
        unstuck = stuck.update(
            status=Digest.Status.RETRY, next_attempt_at=now, error="Interrupted while sending; sent again."
        )
    created = _digests_create(now=now)
    batches = _digest_batches(now=now)
    for first_id, last_id in batches:
        tasks.digest_send_batch.delay_on_commit(first_id=first_id, last_id=last_id)
    return {"created": created, "stuck_retried": unstuck, "stuck_failed": len(gave_up), "batches": len(batches)}


def _digests_create(*, now: datetime) -> int:
    """One INSERT … SELECT: a pending Digest for each member with `digest` emails due by now.

    Not before their quiet hours end, if the digest time falls in them. A member who
    already has an unfinished digest (retrying) gets no second one: that one takes in
    everything due when it goes.
    """
    ops = connection.ops
    local = now.astimezone(UK)
    t = ops.adapt_timefield_value(local.time().replace(microsecond=0, tzinfo=None))
    # In quiet hours now: start <= t < end, or past midnight (22:00-07:00) t >= start or t < end.
    quiet = (
        "(a.p_qs IS NOT NULL AND a.p_qe IS NOT NULL AND ("
        "(a.p_qs < a.p_qe AND a.p_qs <= %s AND %s < a.p_qe) OR "
        "(a.p_qs > a.p_qe AND (a.p_qs <= %s OR %s < a.p_qe))))"
    )
    quiet_end_sql, quiet_end_params = _quiet_end_sql(local=local, local_time=t)
    db_now = ops.adapt_datetimefield_value(now)
    digests, deliveries = Digest._meta.db_table, Delivery._meta.db_table
    preferences = Preferences._meta.db_table
    sql = (
        f"INSERT INTO {digests} (member_id, due_at, status, message_count, attempts, next_attempt_at, "  # noqa: S608
        "provider_id, error, created_at) "
        f"SELECT a.member_id, %s, %s, a.n, 0, CASE WHEN {quiet} THEN {quiet_end_sql} ELSE %s END, '', '', %s "
        "FROM (SELECT d.member_id, p.quiet_hours_start AS p_qs, p.quiet_hours_end AS p_qe, COUNT(*) AS n "
        f"FROM {deliveries} d LEFT JOIN {preferences} p ON p.member_id = d.member_id "
        "WHERE d.status = %s AND d.channel = %s AND d.next_attempt_at <= %s "
        "GROUP BY d.member_id, p.quiet_hours_start, p.quiet_hours_end) AS a "
        f"WHERE NOT EXISTS (SELECT 1 FROM {digests} g WHERE g.member_id = a.member_id AND g.status IN (%s, %s, %s)) "
        # Also one per member and digest time: a second run, or a race with one, adds nothing.
        "ON CONFLICT DO NOTHING"
    )
    params = [
        ops.adapt_datetimefield_value(last_digest_at(now=now)),
        Digest.Status.PENDING,
        t,
        t,
        t,
        t,
        *quiet_end_params,
        db_now,
        db_now,
        Delivery.Status.DIGEST,
        Delivery.Channel.EMAIL,
        db_now,
        *Digest.UNFINISHED,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _digest_batches(*, now: datetime) -> list[tuple[int, int]]:
    """(first id, last id) ranges of DISPATCH_BATCH_SIZE due digests each, numbered in the database."""
    sql = (
        "SELECT MIN(id), MAX(id) FROM ("  # noqa: S608
        "SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS chunk "
        f"FROM {Digest._meta.db_table} WHERE status IN (%s, %s) AND next_attempt_at <= %s"
        ") AS numbered GROUP BY chunk ORDER BY chunk"
    )
    params = [
        int(settings.DISPATCH_BATCH_SIZE),
        Digest.Status.PENDING,
        Digest.Status.RETRY,
        connection.ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


# --- a batch: claim, read, render, send, record


def digest_batch_send(*, first_id: int, last_id: int, now: datetime | None = None) -> dict[str, int]:
    """Send the due digests whose ids lie in [first_id, last_id]: one email per member.

    Claims them first (committed as `sending`, the attempt counted), so no other
    worker takes them and a re-run finds nothing. Each digest lists every message
    held for its member that is due when it goes; a message whose organisation the
    member no longer hears from, or a member who turned email off or left, is
    cancelled instead. Returns how many digests ended in each status.
    """
    now = now or timezone.now()
    claimed = _digests_claim(first_id=first_id, last_id=last_id, now=now)
    if not claimed:
        return {}
    digests = list(
        Digest.objects.filter(pk__in=claimed, status=Digest.Status.SENDING)
        .select_related("member")
        .annotate(
            wants_email=Exists(Preferences.objects.filter(member=OuterRef("member_id"), channel_email=True)),
            verified=Exists(EmailAddress.objects.filter(user=OuterRef("member_id"), verified=True)),
        )
        .order_by("pk")
    )
    rows: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in (
        Delivery.objects.filter(
            member_id__in=[d.member_id for d in digests],
            channel=Delivery.Channel.EMAIL,
            status=Delivery.Status.DIGEST,
            next_attempt_at__lte=now,
        )
        .annotate(
            opted_in=Exists(
                OrganisationOptIn.objects.filter(
                    member=OuterRef("member_id"), organisation=OuterRef("dispatch__organisation_id")
                )
            )
        )
        .order_by("member_id", "created_at", "pk")
    ):
        rows[delivery.member_id].append(delivery)
    dispatches = {
        d.pk: d
        for d in Dispatch.objects.filter(pk__in={r.dispatch_id for rs in rows.values() for r in rs}).select_related(
            "organisation"
        )
    }
    inbox = {
        (member_id, dispatch_id): pk
        for member_id, dispatch_id, pk in Delivery.objects.filter(
            member_id__in=list(rows), dispatch_id__in=list(dispatches), channel=Delivery.Channel.INBOX
        )
        .values_list("member_id", "dispatch_id", "pk")
        .order_by()
    }

    recorder = _DigestRecorder(now=now)
    rendered = DigestEmail.render(dispatches.values())
    to_send: list[_Outgoing] = []
    for digest in digests:
        member = digest.member
        reachable = (
            member.is_active
            and member.erased_at is None
            and member.role == Member.Role.RESIDENT
            and digest.verified
            and digest.wants_email
        )
        wanted = [r for r in rows.get(digest.member_id, []) if reachable and r.opted_in]
        for delivery in rows.get(digest.member_id, []):
            if not (reachable and delivery.opted_in):
                recorder.cancel_delivery(delivery, "The member no longer wants this message by email.")
        if not wanted:
            recorder.cancel(digest)
            continue
        # Most urgent first, then in the order they were published.
        wanted.sort(key=lambda r: (dispatches[r.dispatch_id].priority, r.created_at, r.pk))
        message = rendered.message_for(
            digest=digest,
            member=member,
            entries=[(dispatches[r.dispatch_id], inbox.get((r.member_id, r.dispatch_id))) for r in wanted],
        )
        to_send.append(_Outgoing(digest=digest, deliveries=wanted, message=message))

    gate = _rate_gate(to_send)
    try:
        for item, outcome in _send_all(gate or to_send):
            recorder.record(item, outcome)
    except Exception as exc:
        # A bug or a backend failing in a way it should have reported: what is left
        # waits for a retry instead of sitting in `sending`.
        logger.exception("Sending daily digests %s-%s failed", first_id, last_id)
        for item in to_send:
            if item.digest.status == Digest.Status.SENDING:
                recorder.record(item, TemporaryFailure(_short(exc)))
    recorder.flush()
    if gate is not None and gate.wait is not None:
        held_back = [
            item.digest.pk for item in to_send[gate.handed_out :] if item.digest.status == Digest.Status.SENDING
        ]
        recorder.counts["deferred"] = _digests_defer(digest_ids=held_back, wait=gate.wait)
    return dict(recorder.counts)


def _digests_claim(*, first_id: int, last_id: int, now: datetime) -> list[int]:
    with transaction.atomic():
        rows = Digest.objects.filter(
            status__in=[Digest.Status.PENDING, Digest.Status.RETRY],
            next_attempt_at__lte=now,
            pk__gte=first_id,
            pk__lte=last_id,
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.order_by("pk").values_list("pk", flat=True))
        if ids:
            Digest.objects.filter(pk__in=ids).update(
                status=Digest.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now
            )
    return ids


def _digests_give_up(*, digest_ids: list[int], error: str, now: datetime) -> None:
    """Fail these digests and the messages they were to carry (set-based)."""
    Digest.objects.filter(pk__in=digest_ids).update(status=Digest.Status.FAILED, next_attempt_at=None, error=error)
    Delivery.objects.filter(
        Exists(Digest.objects.filter(pk__in=digest_ids, member=OuterRef("member_id"))),
        status=Delivery.Status.DIGEST,
        channel=Delivery.Channel.EMAIL,
        next_attempt_at__lte=now,
    ).update(status=Delivery.Status.FAILED, next_attempt_at=None, error=f"Daily digest: {error}"[:300])


def _rate_gate(items: list[_Outgoing]) -> Any:
    """The email channel's rate limit (CHANNEL_RATE_LIMITS), shared with every other email sent."""
    from .ratelimit import RateGate, channel_bucket

    bucket = channel_bucket("email")
    return RateGate(items, bucket, max_wait=settings.DISPATCH_RATE_LIMIT_MAX_WAIT_SECONDS) if bucket else None


def _digests_defer(*, digest_ids: list[int], wait: float) -> int:
    """Digests the rate limit held back go back in line, untried, and their batch is queued for when there is room."""
    if not digest_ids:
        return 0
    count = Digest.objects.filter(pk__in=digest_ids, status=Digest.Status.SENDING).update(
        status=Digest.Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=timezone.now()
    )
    tasks.digest_send_batch.apply_async_on_commit(
        kwargs={"first_id": min(digest_ids), "last_id": max(digest_ids)}, countdown=math.ceil(wait)
    )
    return count


@dataclass
class _Outgoing:
    digest: Digest
    deliveries: list[Delivery]
    message: UnfoldedHeadersEmail


def _send_all(items: Sequence[_Outgoing]) -> Iterator[tuple[_Outgoing, Outcome]]:
    """Each digest's email over one connection, with EmailChannel's reading of SMTP answers:
    4xx and connection trouble temporary, 5xx permanent, a lost connection reopened."""
    connection = mailers[settings.DISPATCH_MAILER]
    try:
        connection.open()
    except Exception as exc:  # whatever the backend raises, the batch waits
        for item in items[:]:
            yield item, TemporaryFailure(_short(f"cannot connect: {exc}"))
        return
    try:
        for i, item in enumerate(items):
            lost = None
            try:
                connection.send_messages([item.message])
            except smtplib.SMTPServerDisconnected as exc:
                lost = exc
            except smtplib.SMTPException as exc:
                yield item, _smtp_outcome(exc)
                continue
            except OSError as exc:
                lost = exc
            if lost is not None:
                yield item, TemporaryFailure(_short(lost))
                if not EmailChannel._reopen(connection):
                    for rest in items[i + 1 :]:
                        yield rest, TemporaryFailure(_short(f"connection lost: {lost}"))
                    return
                continue
            status = getattr(item.message, "anymail_status", None)
            yield item, Sent(provider_id=str(getattr(status, "message_id", "") or "")[:100])
    finally:
        connection.close()


class _DigestRecorder:
    """Writes outcomes in small batches: the digests (only those still `sending`) and the
    deliveries each listed (only those still `digest`: one withdrawn meanwhile stays withdrawn)."""

    DIGEST_FIELDS = ("status", "provider_id", "error", "sent_at", "next_attempt_at", "message_count")
    DELIVERY_FIELDS = ("status", "provider_id", "error", "sent_at", "next_attempt_at", "attempts")

    def __init__(self, *, now: datetime) -> None:
        self.now = now
        self.digests: list[Digest] = []
        self.deliveries: list[Delivery] = []
        self.counts: dict[str, int] = defaultdict(int)

    def record(self, item: _Outgoing, outcome: Outcome) -> None:
        digest, now = item.digest, self.now
        if isinstance(outcome, Sent):
            digest.status, digest.sent_at, digest.error = Digest.Status.SENT, now, ""
            digest.provider_id, digest.next_attempt_at = outcome.provider_id, None
            digest.message_count = len(item.deliveries)
            reference = item.message.extra_headers["Message-ID"][:100]
            for delivery in item.deliveries:
                delivery.status, delivery.sent_at, delivery.error = Delivery.Status.SENT, now, ""
                delivery.provider_id, delivery.next_attempt_at = reference, None
                delivery.attempts = digest.attempts
            self.deliveries += item.deliveries
        elif isinstance(outcome, PermanentFailure) or digest.attempts >= settings.DISPATCH_MAX_ATTEMPTS:
            error = (
                outcome.error
                if isinstance(outcome, PermanentFailure)
                else (f"Gave up after {digest.attempts} attempts: {outcome.error}")
            )
            digest.status, digest.error, digest.next_attempt_at = Digest.Status.FAILED, error[:300], None
            for delivery in item.deliveries:
                delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
                delivery.error, delivery.attempts = f"Daily digest: {error}"[:300], digest.attempts
            self.deliveries += item.deliveries
        else:
            # The messages stay `digest`: the retry lists them (and whatever joined them).
            digest.status, digest.error = Digest.Status.RETRY, outcome.error
            digest.next_attempt_at = now + retry_delay(attempts=digest.attempts)
        self._add(digest)

    def cancel(self, digest: Digest) -> None:
        digest.status, digest.next_attempt_at = Digest.Status.CANCELLED, None
        digest.error, digest.message_count = "Nothing left to send.", 0
        self._add(digest)

    def cancel_delivery(self, delivery: Delivery, reason: str) -> None:
        delivery.status, delivery.error, delivery.next_attempt_at = Delivery.Status.CANCELLED, reason, None
        self.deliveries.append(delivery)

    def _add(self, digest: Digest) -> None:
        self.counts[digest.status] += 1
        self.digests.append(digest)
        if len(self.digests) >= RECORD_EVERY:
            self.flush()

    def flush(self) -> None:
        with transaction.atomic():
            _rows_update(Delivery, self.deliveries, self.DELIVERY_FIELDS, still=Delivery.Status.DIGEST)
            _rows_update(Digest, self.digests, self.DIGEST_FIELDS, still=Digest.Status.SENDING)
        self.deliveries, self.digests = [], []


def _rows_update(model: Any, rows: Sequence[Any], fields: Sequence[str], *, still: str) -> None:
    """Write `fields` of these rows, each its own values, in ONE statement; only rows whose
    status is still `still`.

    On PostgreSQL an UPDATE … FROM unnest(one array per column): Django's bulk_update
    builds a CASE per field with a branch per row, and compiling that took 70% of a
    batch's time. SQLite (development) keeps bulk_update.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.filter(status=still).bulk_update(rows, fields)
        return
    columns = [model._meta.get_field(name) for name in fields]
    arrays = [[row.pk for row in rows]]
    arrays += [[field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows] for field in columns]
    types = ["bigint", *(field.db_type(connection) for field in columns)]
    names = ", ".join(field.column for field in columns)
    sql = (
        f"UPDATE {model._meta.db_table} AS t SET "  # noqa: S608
        + ", ".join(f"{field.column} = v.{field.column}" for field in columns)
        + f" FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) AS v(id, {names})"
        " WHERE t.id = v.id AND t.status = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*arrays, still])


# --- the email


@dataclass(frozen=True)
class DigestEmail:
    """A batch's digests rendered once: each message's entry once, the frame once, with
    random markers where a member's details go; each member's email is then string
    replacement (HTML copies get the values escaped), never a template render per member."""

    frame_text: str
    frame_html: str
    entries: dict[int, tuple[str, str]]  # dispatch id: (text, html), with the link marker
    domain: str
    address: str
    markers: dict[str, str]

    @classmethod
    def render(cls, dispatches: Any) -> DigestEmail:
        markers = {k: f"mcv{secrets.token_hex(8)}" for k in ("name", "count", "entries", "preferences", "link")}
        entries = {}
        for dispatch in dispatches:
            excerpt = " ".join(dispatch.body_text.split())
            if len(excerpt) > EXCERPT_CHARS:
                excerpt = excerpt[: EXCERPT_CHARS - 1].rstrip() + "…"
            context = {
                "dispatch": dispatch,
                "organisation": dispatch.organisation,
                "excerpt": excerpt,
                "link": markers["link"],
            }
            entries[dispatch.pk] = (
                render_to_string("notifications/email/digest_entry.txt", context),
                render_to_string("notifications/email/digest_entry.html", context),
            )
        context = {
            "member_name": markers["name"],
            "count_text": markers["count"],
            "entries": markers["entries"],
            "preferences_url": markers["preferences"],
            "inbox_url": urljoin(settings.SITE_URL, reverse("notifications:inbox")),
            "digest_time": settings.DISPATCH_DIGEST_TIME,
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
        }
        return cls(
            frame_text=render_to_string("notifications/email/digest_message.txt", context),
            frame_html=render_to_string("notifications/email/digest_message.html", context),
            entries=entries,
            domain=urlsplit(settings.SITE_URL).hostname or "localhost",
            address=parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
            markers=markers,
        )

    def message_for(
        self, *, digest: Digest, member: Member, entries: list[tuple[Dispatch, int | None]]
    ) -> UnfoldedHeadersEmail:
        from members.links import preferences_link_url

        link_marker = self.markers["link"]
        fallback = urljoin(settings.SITE_URL, reverse("notifications:inbox"))
        texts, htmls = [], []
        for dispatch, inbox_id in entries:
            if inbox_id:
                link = urljoin(settings.SITE_URL, reverse("notifications:message", kwargs={"pk": inbox_id}))
            elif dispatch.url.startswith(("https://", "http://")):
                link = dispatch.url
            else:
                link = fallback
            text, html = self.entries[dispatch.pk]
            texts.append(text.replace(link_marker, link))
            htmls.append(html.replace(link_marker, escape(link)))
        n = len(entries)
        count = "is the 1 message" if n == 1 else f"are the {n} messages"
        name = member.first_name or "there"
        preferences_url = preferences_link_url(member=member)
        values = {"name": name, "count": count, "preferences": preferences_url}
        text, html = self.frame_text, self.frame_html
        for key, value in values.items():
            text = text.replace(self.markers[key], value)
            html = html.replace(self.markers[key], escape(value))
        text = text.replace(self.markers["entries"], "\n".join(texts))
        html = html.replace(self.markers["entries"], "".join(htmls))

        organisations = sorted({dispatch.organisation.name for dispatch, _ in entries})
        speaker = organisations[0] if len(organisations) == 1 else settings.SITE_NAME
        sender = f"{organisations[0]} via {settings.SITE_NAME}" if len(organisations) == 1 else settings.SITE_NAME
        message = UnfoldedHeadersEmail(
            subject=f"Your daily digest from {speaker}: {n} message{'' if n == 1 else 's'}",
            body=text,
            from_email=formataddr((sender, self.address)),
            to=[member.email],
            headers={
                # The digest's uuid: sent again after a crash, it carries the same id.
                "Message-ID": f"<{digest.uuid}@{self.domain}>",
                # RFC 8058 one-click unsubscribe, as on every message (members:preferences_link).
                "List-Unsubscribe": f"<{preferences_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Auto-Submitted": "auto-generated",
            },
        )
        message.attach_alternative(html, "text/html")
        return message
