"""Private reply threads between a resident and the organisation that messaged them, and ratings.

A resident who got an alert may answer it privately: their reply opens a `Thread`
(one per resident and message), which only they and the officers of the
organisation that sent the message can read. Officers answer in the same thread and
the resident hears about it through the dispatch pipeline. Separately, the resident
may rate how useful the message was (`Rating`, 1 to 5).

Everything a person writes here is stored as plain text with every bit of markup
taken out (`replies.text.plain_text`), and escaped again whenever it is shown.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Thread(models.Model):
    """One resident's private conversation with an organisation about one message it sent them.

    `dispatch` is the message (usually an alert) the resident answered; the
    organisation is the dispatch's, copied here so that an organisation's reply inbox
    is one indexed read. Bookkeeping columns let the inbox filter and sort without
    touching the messages:

    * `unread`: the organisation has not read the resident's latest words yet (for every
      officer of it): set by a resident's message, cleared when an officer opens,
      answers or closes the thread;
    * `awaiting_since`: the resident's oldest message still unanswered (an officer's
      answer or closing the thread clears it); the 3-day reminder counts from here;
    * `urgent`: a reply used one of the organisation's trigger words (knife, suicide,
      …); the duty inbox shows it at the top until an officer closes the thread.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organisation = models.ForeignKey(
        "members.Organisation", on_delete=models.PROTECT, related_name="reply_threads", db_index=False
    )
    dispatch = models.ForeignKey(
        "notifications.Dispatch",
        on_delete=models.PROTECT,
        related_name="reply_threads",
        help_text="The message the resident answered.",
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reply_threads", db_index=False
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    unread = models.BooleanField(default=False, help_text="The organisation has not read the resident's latest words.")
    resident_messages = models.PositiveIntegerField(
        default=0, help_text="How many messages the resident wrote (an alert's reply count adds these up)."
    )
    urgent = models.BooleanField(
        default=False, help_text="A reply used a trigger word; shown first in the duty inbox until closed."
    )
    urgent_since = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reply_threads",
        db_index=False,
        help_text="The officer working this thread.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_resident_message_at = models.DateTimeField(null=True, blank=True)
    last_officer_message_at = models.DateTimeField(null=True, blank=True)
    organisation_read_at = models.DateTimeField(
        null=True, blank=True, help_text="When an officer of the organisation last opened the thread."
    )
    awaiting_since = models.DateTimeField(
        null=True, blank=True, help_text="The resident's oldest message still waiting for an answer."
    )
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the assignee (or the duty inbox) was last reminded of it."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-urgent", "-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "dispatch"], name="%(app_label)s_%(class)s_one_per_resident"),
        ]
        indexes = [
            # An organisation's reply inbox: open (or closed) threads, urgent first, newest first.
            models.Index(
                fields=["organisation", "status", "-urgent", "-last_message_at"], name="replies_thread_inbox_idx"
            ),
            # The unread view and the nav badge: only the threads waiting to be read.
            models.Index(
                fields=["organisation", "-urgent", "-last_message_at"],
                name="replies_thread_unread_idx",
                condition=Q(unread=True),
            ),
            models.Index(fields=["assignee", "status"], name="replies_thread_assignee_idx"),
            # The resident's own conversations.
            models.Index(fields=["resident", "-last_message_at"], name="replies_thread_resident_idx"),
            # The hourly reminder looks only at open threads waiting for an answer.
            models.Index(fields=["awaiting_since"], name="replies_thread_awaiting_idx", condition=Q(status="open")),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk}: member {self.resident_id} on dispatch {self.dispatch_id}"


class Message(models.Model):
    """One message in a thread: the resident's words, or an officer's answer.

    `body` is plain text with all markup removed on the way in, escaped on the way
    out. `trigger_words` holds the organisation's trigger words the message used, if
    any (which is what made the thread urgent).
    """

    # Single-column indexes would repeat the composite ones below, which lead with these.
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages", db_index=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reply_messages", db_index=False
    )
    from_resident = models.BooleanField(help_text="Written by the resident (otherwise by an officer).")
    body = models.TextField()
    urgent = models.BooleanField(default=False, help_text="It used a trigger word (listed in trigger_words).")
    trigger_words = models.JSONField(default=list, blank=True)
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="Urgent messages: when the duty inbox was emailed about it."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["thread", "created_at"], name="replies_message_thread_idx"),
            # Rate limit: a resident's recent messages.
            models.Index(fields=["author", "created_at"], name="replies_message_author_idx"),
            # The escalation sweep: urgent messages whose email has not gone yet.
            models.Index(
                fields=["created_at"],
                name="replies_message_escalate_idx",
                condition=Q(urgent=True, escalated_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in thread {self.thread_id}"


class Rating(models.Model):
    """How useful a resident found a message they got, from 1 (not at all) to 5 (very).

    One per resident and message; they may change it. An alert's reach shows the
    count and the average (`replies.selectors.reply_stats`).
    """

    dispatch = models.ForeignKey(
        "notifications.Dispatch", on_delete=models.PROTECT, related_name="ratings", db_index=False
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings", db_index=False
    )
    score = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resident", "dispatch"], name="%(app_label)s_%(class)s_one_per_resident"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="%(app_label)s_%(class)s_score_range"),
        ]
        indexes = [models.Index(fields=["dispatch", "score"], name="replies_rating_dispatch_idx")]

    def __str__(self) -> str:
        return f"Member {self.resident_id} rated dispatch {self.dispatch_id}: {self.score}"


class ReplySettings(models.Model):
    """An organisation's choices for its reply inbox, set by its force admins.

    `trigger_words`: the words and phrases that make a reply urgent (matched as whole
    words, any case); None means the deployment's default list (REPLY_TRIGGER_WORDS).
    `duty_email`: where urgent replies and unassigned reminders are emailed; blank
    means every force admin of the organisation.
    """

    organisation = models.OneToOneField("members.Organisation", on_delete=models.CASCADE, related_name="reply_settings")
    trigger_words = models.JSONField(null=True, blank=True)
    duty_email = models.EmailField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "reply settings"

    def __str__(self) -> str:
        return f"Reply settings of organisation {self.organisation_id}"
