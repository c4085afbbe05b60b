"""The dispatch outbox: what was sent to whom, on which channel, and what became of it.

A `Dispatch` is one message to an audience (an alert, a survey invitation, a footage
request, a coordinator's message to their scheme); a `Delivery` is that message to one
member on one channel. The rows are the truth about every message: tasks only move a
delivery's status forward, so running a task twice never sends anything twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import UUID4
from django.utils import timezone

from members.models import Interest


class Dispatch(models.Model):
    """One message from an organisation to an audience of residents.

    Publishing writes it in the same transaction as what it announces (an alert, an
    appeal, a survey invitation, a footage request, a coordinator's message), with a
    snapshot of the audience as the officer drew it: a later change to an area or a
    group does not change who this message was for. Fan-out turns it into deliveries,
    one per member and channel, in one SQL statement.

    `category` is what the message is about (one of the interests residents choose);
    blank means it is for everyone in the audience whatever their interests.
    `priority` runs from 1 (most urgent: a missing child, a live incident) to 5 (least:
    news, an event): priorities 1 and 2 ignore quiet hours and digests.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be fanned out"
        # The fan-out is one transaction, so other readers see `pending` until it commits;
        # the value marks the row while the transaction holds its lock.
        FANNING_OUT = "fanning_out", "Working out who gets it"
        SENDING = "sending", "Being sent"
        DONE = "done", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "members.Organisation", on_delete=models.PROTECT, related_name="dispatches", help_text="Who is speaking."
    )
    source_type = models.CharField(
        max_length=40, help_text='What published it, as "app_label.model" (e.g. "alerts.alert").'
    )
    source_id = models.CharField(max_length=64, help_text="The primary key of what published it.")
    category = models.CharField(
        max_length=40, choices=Interest.choices, blank=True, help_text="Blank: for everyone, whatever their interests."
    )
    priority = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 is the most urgent, 5 the least. 1 and 2 ignore quiet hours and digests.",
    )
    audience = models.JSONField(
        default=dict, help_text='{"include": [part…], "exclude": [part…], "interest_only": bool}; see audience.py.'
    )
    subject = models.CharField(max_length=200)
    body_text = models.TextField(help_text="Plain text, for SMS and the text part of emails.")
    body_html = models.TextField(blank=True, help_text="Sanitised HTML for emails and the inbox; blank: from the text.")
    url = models.URLField(max_length=500, blank=True, help_text="Where the message links to (the alert's page).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    audience_size = models.PositiveIntegerField(default=0, help_text="Members reached on at least one channel.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    send_at = models.DateTimeField(
        null=True, blank=True, help_text="Scheduled: not fanned out before this time. Blank: at once."
    )
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "dispatches"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep looks for dispatches stuck in `pending` (published while the broker was down).
            models.Index(fields=["status", "created_at"], name="notif_dispatch_status_idx"),
            # An organisation's messages, newest first ("what has this area had this week?").
            models.Index(fields=["organisation", "-created_at"], name="notif_dispatch_org_idx"),
            models.Index(fields=["source_type", "source_id"], name="notif_dispatch_source_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=5),
                name="%(app_label)s_%(class)s_priority_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.source_type} {self.source_id})"


class Delivery(models.Model):
    """One message to one member on one channel, and what became of it.

    The uuid is the message's stable identity outside the system: the email's
    Message-ID, the reference given to GOV.UK Notify. If a worker dies between
    handing a message over and recording it, the message goes again with the same
    id, so the receiving side can tell it is a repeat.

    The in-app inbox is the deliveries of channel `inbox`: there is nothing to send,
    so they are `sent` from the moment the fan-out commits, and `read_at` records
    when the resident opened them.
    """

    class Channel(models.TextChoices):
        INBOX = "inbox", "In the app"
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"
        PUSH = "push", "Web push"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        HELD = "held", "Held for quiet hours"
        # Not released one by one: the daily digest sends all of a member's in ONE email
        # (notifications/digest.py), so the sweep, which releases `held`, leaves them alone.
        DIGEST = "digest", "Held for the daily digest"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        RETRY = "retry", "Will be tried again"
        FAILED = "failed", "Could not be delivered"
        CANCELLED = "cancelled", "Cancelled"

    # Statuses a delivery can still leave; the sweep and the claim index care only about these.
    UNFINISHED = (Status.PENDING, Status.HELD, Status.DIGEST, Status.SENDING, Status.RETRY)

    # Fan-out writes these rows with INSERT … SELECT, which leaves the uuid to the
    # database (db_default); rows made through the ORM get one from Python.
    uuid = models.UUIDField(default=uuid.uuid4, db_default=UUID4(), unique=True, editable=False)
    # Fan-out writes these rows a million at a time, so the table carries only what
    # that needs. No database-level foreign-key checks: Django's are deferred to
    # COMMIT, where 420,000 of them took 4.2 of the 12 s of a 200,000-member fan-out
    # (PostgreSQL 15 on the 2-core test machine); Django still cascades deletes, and
    # the rows come only from an INSERT … SELECT that joins the real members. No
    # single-column indexes: the unique (dispatch, member, channel) and the inbox
    # index (member, channel, created_at) lead with these columns already.
    dispatch = models.ForeignKey(
        Dispatch, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False, db_index=False
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times sending was started.")
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Held: when to release it. Retry: when to try again. Pending or sending: when it was queued.",
    )
    provider_id = models.CharField(max_length=100, blank=True, help_text="The id the email or SMS provider gave it.")
    error = models.CharField(max_length=300, blank=True, help_text="Why the last attempt failed.")
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="Inbox only: when the resident opened it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "member", "channel"], name="%(app_label)s_%(class)s_unique"),
        ]
        indexes = [
            # A resident's inbox, newest first (and everything about one member: export, erasure).
            models.Index(fields=["member", "channel", "-created_at"], name="notif_delivery_inbox_idx"),
            # The sender's claim and the sweep. Partial: once sent (nearly every row) a
            # delivery leaves the index, which stays as small as the work still to do.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="notif_delivery_claim_idx",
                condition=models.Q(status__in=["pending", "held", "sending", "retry"]),
            ),
            # A dispatch's reach: delivered / failed / waiting per channel, from the index alone.
            models.Index(fields=["dispatch", "channel", "status"], name="notif_delivery_stats_idx"),
            # The daily digest: each member's waiting messages, as small as what waits.
            models.Index(
                fields=["member", "next_attempt_at"],
                name="notif_delivery_digest_idx",
                condition=models.Q(status="digest"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to member {self.member_id} for dispatch {self.dispatch_id}: {self.status}"


class Digest(models.Model):
    """One daily digest: ONE email to one member listing every message held for it.

    A resident who chose "one daily digest" gets their non-urgent messages' emails as
    deliveries in status `digest`. At DISPATCH_DIGEST_TIME (UK clock) each such member
    gets one Digest row (`due_at` names that day's digest time); sending it sends one
    email, whose Message-ID is this uuid, and marks every delivery it listed `sent`
    with that Message-ID as their provider id. The row is the truth about the email,
    like a Delivery: one per member per digest time (a second run adds none), at most
    one unfinished per member, and a digest a dead worker left in `sending` goes again
    with the same Message-ID.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        RETRY = "retry", "Will be tried again"
        FAILED = "failed", "Could not be delivered"
        CANCELLED = "cancelled", "Nothing left to send"

    UNFINISHED = (Status.PENDING, Status.SENDING, Status.RETRY)

    uuid = models.UUIDField(default=uuid.uuid4, db_default=UUID4(), unique=True, editable=False)
    # No index of its own: the one-a-day constraint (member, due_at) leads with it.
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests", db_index=False
    )
    due_at = models.DateTimeField(help_text="The digest time it is for (DISPATCH_DIGEST_TIME, UK clock, that day).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message_count = models.PositiveIntegerField(default=0, help_text="How many messages the email listed.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Pending or retry: not before this (quiet hours, backoff). Sending: since."
    )
    provider_id = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "due_at"], name="%(app_label)s_%(class)s_one_a_day"),
            # A digest still retrying takes in the next day's messages when it goes.
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(status__in=["pending", "sending", "retry"]),
                name="%(app_label)s_%(class)s_one_unfinished",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="notif_digest_claim_idx",
                condition=models.Q(status__in=["pending", "sending", "retry"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Digest for member {self.member_id} at {self.due_at:%Y-%m-%d %H:%M}: {self.status}"


class PushSubscription(models.Model):
    """One browser or phone a member turned web push on for (the Push API's subscription).

    The endpoint is the push service's address for that browser (Google's, Mozilla's,
    Apple's…); `p256dh` and `auth` are the browser's keys, with which every message is
    encrypted so that the push service cannot read it. A browser belongs to whoever
    subscribed on it last. A push service answering 404 or 410 means the browser
    dropped the subscription: the row is deleted.
    """

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions", db_index=False
    )
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=200, help_text="The browser's public key (base64url, P-256).")
    auth = models.CharField(max_length=100, help_text="The browser's authentication secret (base64url).")
    label = models.CharField(max_length=100, blank=True, help_text='What the member sees, e.g. "Chrome on Android".')
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="Failures in a row since the last success.")
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"], name="notif_pushsub_member_idx")]

    def __str__(self) -> str:
        return f"{self.label or 'A browser'} of member {self.member_id}"
