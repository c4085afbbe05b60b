"""Alerts, appeals for information, news and events, and the messages coordinators send their groups.

An `Alert` is what an officer writes for residents: what happened or is asked for,
where, and how urgent. Publishing it writes a `notifications.Dispatch` in the same
transaction; the dispatch pipeline works out who gets it and sends it. After that,
an `AlertUpdate` ("the missing person has been found") goes to exactly the members who
got the original, through its own dispatch. A `GroupMessage` is a coordinator's plain
message to their own Neighbourhood Watch scheme or group.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from members.models import Interest


def _image_path(instance: AlertImage, filename: str) -> str:
    # A random name: what the officer's file was called says nothing residents should see.
    return f"alerts/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{instance.extension}"


class Alert(models.Model):
    """One message an organisation puts out to residents: an alert, an appeal, news or an event.

    `priority` runs from 1 (most urgent: a missing child, a live incident; shown red)
    to 5 (least: a community event; shown green). `category` is one of the interests
    residents choose; with `audience["interest_only"]` only those who chose it hear.

    The body is written in Markdown; `body_html` is its rendering, cleaned by nh3
    (no scripts, no event handlers, links only to http, https and mailto), and is what
    residents see. The audience is the officer's targeting as a spec
    (notifications.audience), checked against the organisation's area of
    responsibility. Publishing snapshots it into the dispatch; changing a published
    alert is done with updates, never by editing it.

    A quick poll (`poll_question` and its `poll_options`) may be written with the draft;
    publishing attaches it to the dispatch (surveys.Poll) in the same transaction, so the
    very first email already carries each resident's one-tap answer links.

    Lifecycle: draft, then published at once or scheduled (its dispatch waits for
    `scheduled_for`); a published alert may be withdrawn (what is not yet sent is
    stopped). `is_public` alerts also appear on the public alert pages and feeds.
    """

    class Kind(models.TextChoices):
        ALERT = "alert", "Alert"
        APPEAL = "appeal", "Appeal for information"
        NEWS = "news", "News"
        EVENT = "event", "Event"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    PRIORITY_LABELS = {
        1: "Priority 1 (most urgent)",
        2: "Priority 2 (urgent)",
        3: "Priority 3",
        4: "Priority 4",
        5: "Priority 5 (least urgent)",
    }

    organisation = models.ForeignKey(
        "members.Organisation", on_delete=models.PROTECT, related_name="alerts", help_text="Who is speaking."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts_written"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ALERT)
    category = models.CharField(max_length=40, choices=Interest.choices, help_text="What it is about.")
    priority = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 is the most urgent (red), 5 the least (green). 1 and 2 ignore quiet hours and digests.",
    )
    title = models.CharField(max_length=200)
    body_markdown = models.TextField(help_text="What the officer wrote, in Markdown.")
    body_html = models.TextField(blank=True, help_text="The Markdown rendered and sanitised: what residents see.")
    links = models.JSONField(default=list, blank=True, help_text='[{"title": …, "url": "https://…"}, …]')
    event_starts_at = models.DateTimeField(null=True, blank=True)
    event_ends_at = models.DateTimeField(null=True, blank=True)
    event_place = models.CharField(max_length=200, blank=True)
    is_public = models.BooleanField(
        default=False, help_text="Also shown on the public alert pages and feeds, to anyone, signed in or not."
    )
    audience = models.JSONField(default=dict, blank=True, help_text="The targeting, as an audience spec.")
    poll_question = models.CharField(
        max_length=300,
        blank=True,
        help_text="A quick poll sent with the alert (blank: none), e.g. “Have you seen this van?”",
    )
    poll_options = models.JSONField(
        default=list,
        blank=True,
        help_text="The poll's 2 to 6 answers, each a button residents tap (at most 120 characters).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=300, blank=True)
    dispatch = models.OneToOneField(
        "notifications.Dispatch", null=True, blank=True, on_delete=models.PROTECT, related_name="alert"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The officers' list: an organisation's alerts, newest first, by status.
            models.Index(fields=["organisation", "-created_at"], name="alerts_alert_org_idx"),
            models.Index(fields=["organisation", "status", "-created_at"], name="alerts_alert_org_status_idx"),
            # The public pages and feeds: public alerts in the order they went out.
            models.Index(
                fields=["-published_at"],
                name="alerts_alert_public_idx",
                condition=models.Q(is_public=True, status__in=["published", "withdrawn"]),
            ),
            # The release of scheduled alerts whose time has come.
            models.Index(
                fields=["scheduled_for"], name="alerts_alert_scheduled_idx", condition=models.Q(status="scheduled")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=5), name="%(app_label)s_%(class)s_priority_range"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="event")
                | (models.Q(event_starts_at__isnull=False) & ~models.Q(event_place="")),
                name="%(app_label)s_%(class)s_events_have_time_and_place",
            ),
            models.CheckConstraint(
                condition=models.Q(event_ends_at__isnull=True)
                | models.Q(event_starts_at__isnull=True)
                | models.Q(event_ends_at__gte=models.F("event_starts_at")),
                name="%(app_label)s_%(class)s_event_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="scheduled") | models.Q(scheduled_for__isnull=False),
                name="%(app_label)s_%(class)s_scheduled_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def priority_label(self) -> str:
        return self.PRIORITY_LABELS.get(self.priority, f"Priority {self.priority}")

    @property
    def is_live(self) -> bool:
        """Out in the world: published (or withdrawn after it went), or scheduled and its time has come."""
        if self.status in (self.Status.PUBLISHED, self.Status.WITHDRAWN):
            return True
        return self.status == self.Status.SCHEDULED and self.scheduled_for <= timezone.now()

    @property
    def went_out_at(self):
        return self.published_at or (self.scheduled_for if self.is_live else None)


class AlertImage(models.Model):
    """A picture with an alert (a missing person, a stolen vehicle, an event poster).

    Its real type is read from its bytes (JPEG, PNG, WebP or GIF only: an SVG can
    carry script), its size is capped by ALERT_IMAGE_MAX_BYTES, and its alt text is
    required: a resident using a screen reader must get what the picture says.
    Served only through the alert's own access check (alerts.views.alert_image).
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=_image_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(help_text="Bytes.")
    alt_text = models.CharField(max_length=250, help_text="What the picture shows, for those who cannot see it.")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_type__in=["image/jpeg", "image/png", "image/webp", "image/gif"]),
                name="%(app_label)s_%(class)s_known_type",
            ),
        ]

    def __str__(self) -> str:
        return self.alt_text

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.content_type, "")


class AlertUpdate(models.Model):
    """News about a published alert, sent to exactly the members who got it.

    An update adds something ("the car was seen heading north"); a cancellation says
    it is over ("the missing person has been found, thank you"); a withdrawal notice
    says the alert was taken back. Each has its own dispatch, whose audience is "whoever
    got the original dispatch".
    """

    class Kind(models.TextChoices):
        UPDATE = "update", "Update"
        CANCELLATION = "cancellation", "Cancellation"
        WITHDRAWAL = "withdrawal", "Withdrawal notice"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.UPDATE)
    body = models.TextField(help_text="Plain text.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatch = models.OneToOneField(
        "notifications.Dispatch", null=True, blank=True, on_delete=models.PROTECT, related_name="alert_update"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.alert}"


class GroupMessage(models.Model):
    """A coordinator's message to their own group (a Neighbourhood Watch scheme, Rural Watch…).

    It goes out through the same pipeline as an alert, in the name of the group's
    organisation, to the group's active members who opted in to that organisation.
    A coordinator can message only the groups they coordinate, and nobody else.
    """

    group = models.ForeignKey("groups.CommunityGroup", on_delete=models.CASCADE, related_name="messages")
    organisation = models.ForeignKey("members.Organisation", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="group_messages_sent"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain text.")
    dispatch = models.OneToOneField(
        "notifications.Dispatch", null=True, blank=True, on_delete=models.PROTECT, related_name="group_message"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "-created_at"], name="alerts_groupmsg_group_idx")]

    def __str__(self) -> str:
        return self.subject
