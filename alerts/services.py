"""The verbs of alerts: write, illustrate, publish or schedule, update, withdraw; and group messages.

Every verb that sends something writes its row and its `notifications.Dispatch` in one
transaction (`dispatch_publish`), so an alert is never published without its message
nor a message sent for an alert that was rolled back; the fan-out is queued only when
that transaction commits. Publishing, scheduling, updating, withdrawing and group
messages are audit-logged.

Keyword-only, and the actor is always given: each verb checks the actor may do it
(PermissionDenied) and says what is wrong with the input (ValidationError, by field
where there is one, so a form can show it next to the field).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import personal_data
from core.services import audit_record
from groups.jurisdiction import audience_check_jurisdiction
from groups.models import CommunityGroup
from members.models import Interest, Member
from notifications.audience import audience_size_by_channel, audience_spec_clean
from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_cancel, dispatch_publish

from .models import Alert, AlertImage, AlertUpdate, GroupMessage
from .permissions import can_compose_alert, can_manage_alert, can_message_group
from .rendering import links_clean, markdown_to_html

ALLOWED_IMAGE_TYPES = tuple(AlertImage.EXTENSIONS)
MAX_IMAGES = 6
# How far ahead an alert may be scheduled: further than this is a forgotten draft.
MAX_SCHEDULE_AHEAD = timedelta(days=90)
# A quick poll's limits: those of surveys.services.poll_create, checked here too so the
# officer hears about them while writing, not when the alert is already going out.
POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 120
POLL_OPTIONS_MIN, POLL_OPTIONS_MAX = 2, 6
EMPTY_AUDIENCE = (
    "Nobody would receive this: no resident who has agreed to hear from {organisation} lives in, or "
    "belongs to, what you chose. Check the areas, groups, shapes and exclusions, or the category filter."
)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- the audience


def audience_check(*, organisation, spec: Any) -> dict[str, Any]:
    """An audience spec checked and normalised, inside the organisation's areas; ValidationError if not."""
    cleaned = audience_spec_clean(spec=spec)
    audience_check_jurisdiction(organisation=organisation, spec=cleaned)
    return cleaned


def _audience_is_empty(spec: Any) -> bool:
    return not (isinstance(spec, dict) and (spec.get("include") or spec.get("exclude")))


# --- writing an alert


def poll_clean(*, question: Any, options: Any) -> tuple[str, list[str]]:
    """An alert's quick poll checked as surveys' poll_create will check it: ("", []) for none.

    ValidationError by field ("poll_question", "poll_options"), all problems at once."""
    errors: dict[str, list[str]] = {}
    question = " ".join(str(question or "").split())
    if options is None or options == "":
        options = []
    if not isinstance(options, list | tuple):
        raise ValidationError({"poll_options": ["The poll's answers must be a list."]})
    labels = [" ".join(str(o).split()) for o in options if str(o or "").strip()]
    if not question and not labels:
        return "", []
    if not question:
        errors["poll_question"] = ["Write the poll's question, or remove its answers to send no poll."]
    elif len(question) > POLL_QUESTION_MAX:
        errors["poll_question"] = [f"The poll's question has at most {POLL_QUESTION_MAX} characters."]
    problems = []
    if len(labels) < POLL_OPTIONS_MIN:
        problems.append(f"Give at least {POLL_OPTIONS_MIN} answers, one per line.")
    elif len(labels) > POLL_OPTIONS_MAX:
        problems.append(f"Give at most {POLL_OPTIONS_MAX} answers.")
    too_long = [label for label in labels if len(label) > POLL_OPTION_MAX]
    if too_long:
        problems.append(
            f"Keep each answer to {POLL_OPTION_MAX} characters: they are buttons. “{too_long[0][:40]}…” is longer."
        )
    seen: set[str] = set()
    for label in labels:
        if label.casefold() in seen:
            problems.append(f"“{label}” is there twice: each answer must be different.")
            break
        seen.add(label.casefold())
    if problems:
        errors["poll_options"] = problems
    if errors:
        raise ValidationError(errors)
    return question, labels


def _alert_fields_clean(*, organisation, fields: dict[str, Any]) -> dict[str, Any]:
    """Check what an officer wrote; ValidationError by field name, all problems at once."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(fields)

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    title = " ".join(str(fields.get("title", "")).split())
    if not title:
        fail("title", "Give the alert a title.")
    elif len(title) > 200:
        fail("title", "A title has at most 200 characters.")
    cleaned["title"] = title
    body = str(fields.get("body_markdown", "")).strip()
    if not body:
        fail("body_markdown", "Write what residents need to know.")
    elif len(body) > 20_000:
        fail("body_markdown", "The message has at most 20,000 characters.")
    cleaned["body_markdown"] = body
    if fields.get("kind") not in Alert.Kind.values:
        fail("kind", "Choose what kind of message this is.")
    if fields.get("category") not in Interest.values:
        fail("category", "Choose what the message is about.")
    priority = fields.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        fail("priority", "Priority is 1 (most urgent) to 5 (least urgent).")
    try:
        cleaned["links"] = links_clean(fields.get("links") or [])
    except ValidationError as exc:
        fail("links", " ".join(exc.messages))
    starts, ends = fields.get("event_starts_at"), fields.get("event_ends_at")
    place = " ".join(str(fields.get("event_place") or "").split())
    cleaned["event_place"] = place
    if fields.get("kind") == Alert.Kind.EVENT:
        if starts is None:
            fail("event_starts_at", "Say when the event starts.")
        if not place:
            fail("event_place", "Say where the event is.")
    if starts and ends and ends < starts:
        fail("event_ends_at", "The event cannot end before it starts.")
    try:
        cleaned["poll_question"], cleaned["poll_options"] = poll_clean(
            question=fields.get("poll_question"), options=fields.get("poll_options")
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    audience = fields.get("audience")
    if _audience_is_empty(audience):
        cleaned["audience"] = {}
    else:
        try:
            cleaned["audience"] = audience_check(organisation=organisation, spec=audience)
        except ValidationError as exc:
            fail("audience", " ".join(exc.messages))
    if errors:
        raise ValidationError(errors)
    return cleaned


ALERT_FIELDS = (
    "kind", "category", "priority", "title", "body_markdown", "links",
    "event_starts_at", "event_ends_at", "event_place", "is_public", "audience", "poll_question", "poll_options",
)  # fmt: skip


@transaction.atomic
def alert_create(
    *,
    actor: Member,
    kind: str,
    category: str,
    priority: int,
    title: str,
    body_markdown: str,
    audience: dict[str, Any] | None = None,
    links: list[dict[str, str]] | None = None,
    event_starts_at: datetime | None = None,
    event_ends_at: datetime | None = None,
    event_place: str = "",
    is_public: bool = False,
    poll_question: str = "",
    poll_options: list[str] | None = None,
) -> Alert:
    """An officer saves a new alert as a draft (nothing is sent). The audience may be left for later.

    With `poll_question` and 2 to 6 `poll_options`, the alert goes out with a quick poll."""
    if not can_compose_alert(member=actor):
        raise PermissionDenied("Only officers write alerts.")
    fields = _alert_fields_clean(
        organisation=actor.organisation_id,
        fields={
            "kind": kind, "category": category, "priority": priority, "title": title,
            "body_markdown": body_markdown, "audience": audience, "links": links, "event_starts_at": event_starts_at,
            "event_ends_at": event_ends_at, "event_place": event_place, "is_public": bool(is_public),
            "poll_question": poll_question, "poll_options": poll_options or [],
        },
    )  # fmt: skip
    alert = Alert(organisation_id=actor.organisation_id, author=actor, **fields)
    alert.body_html = markdown_to_html(alert.body_markdown)
    alert.save()
    audit_record(actor=actor, action="alerts.alert.drafted", target=alert, organisation=alert.organisation)
    return alert


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().select_related("organisation").get(pk=alert.pk)


def _manageable(actor: Member, alert: Alert) -> None:
    if not can_manage_alert(member=actor, alert=alert):
        raise PermissionDenied("Only officers of the organisation that wrote this alert can change it.")


@transaction.atomic
def alert_edit(*, actor: Member, alert: Alert, **changes: Any) -> Alert:
    """Change a draft (any of ALERT_FIELDS). Published alerts are changed by updates, never edited."""
    _manageable(actor, alert)
    unknown = set(changes) - set(ALERT_FIELDS)
    if unknown:
        raise TypeError(f"Not alert fields: {sorted(unknown)}")
    alert = _locked(alert)
    if alert.status != Alert.Status.DRAFT:
        raise ValidationError("Only a draft can be changed. Send an update instead.")
    fields = {name: getattr(alert, name) for name in ALERT_FIELDS} | changes
    fields["is_public"] = bool(fields["is_public"])
    cleaned = _alert_fields_clean(organisation=alert.organisation_id, fields=fields)
    for name, value in cleaned.items():
        setattr(alert, name, value)
    alert.body_html = markdown_to_html(alert.body_markdown)
    alert.save()
    return alert


@transaction.atomic
def alert_delete(*, actor: Member, alert: Alert) -> None:
    """Throw away a draft (with its images). Anything that went out stays on record."""
    _manageable(actor, alert)
    alert = _locked(alert)
    if alert.status != Alert.Status.DRAFT:
        raise ValidationError("Only a draft can be deleted. Withdraw a published alert instead.")
    files = [image.file.name for image in alert.images.all()]
    audit_record(
        actor=actor, action="alerts.alert.deleted", target=alert, organisation=alert.organisation,
        data={"title_length": len(alert.title)},
    )  # fmt: skip
    alert.delete()
    transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)


# --- images


def image_check(*, upload: UploadedFile) -> str:
    """The upload's real type from its first bytes (not its name or what the browser said);
    ValidationError for anything but a JPEG, PNG, WebP or GIF within ALERT_IMAGE_MAX_BYTES."""
    limit = settings.ALERT_IMAGE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"The picture is {upload.size / 1_048_576:.1f} MB; the most is {limit / 1_048_576:.0f} MB. "
            "Make it smaller and try again."
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_IMAGE_TYPES or not _STRICT_HEADERS[kind.mime](head):
        found = f" (it is {kind.mime})" if kind and kind.mime not in ALLOWED_IMAGE_TYPES else ""
        raise ValidationError(f"The picture must be a JPEG, PNG, WebP or GIF image{found}.")
    return kind.mime


# filetype looks at as few bytes as it can (three for a GIF); each type's full header is
# checked as well, so a text file starting "GIF" is not taken for a picture.
_STRICT_HEADERS = {
    "image/png": lambda h: h[:8] == b"\x89PNG\r\n\x1a\n" and h[12:16] == b"IHDR",
    "image/jpeg": lambda h: h[:3] == b"\xff\xd8\xff",
    "image/gif": lambda h: h[:6] in (b"GIF87a", b"GIF89a"),
    "image/webp": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP" and h[12:15] == b"VP8",
}


@transaction.atomic
def alert_image_add(*, actor: Member, alert: Alert, upload: UploadedFile, alt_text: str) -> AlertImage:
    """Add a picture to a draft. Its alt text (what it shows) is required."""
    _manageable(actor, alert)
    alt_text = " ".join((alt_text or "").split())
    errors: dict[str, list[str]] = {}
    if not alt_text:
        errors["alt_text"] = ["Say what the picture shows, for residents who cannot see it."]
    elif len(alt_text) > 250:
        errors["alt_text"] = ["The description has at most 250 characters."]
    try:
        content_type = image_check(upload=upload)
    except ValidationError as exc:
        errors["file"] = exc.messages
    if errors:
        raise ValidationError(errors)
    alert = _locked(alert)
    if alert.status != Alert.Status.DRAFT:
        raise ValidationError("Pictures can be added only to a draft.")
    count = alert.images.count()
    if count >= MAX_IMAGES:
        raise ValidationError({"file": [f"An alert has at most {MAX_IMAGES} pictures."]})
    image = AlertImage(alert=alert, content_type=content_type, size=upload.size, alt_text=alt_text, position=count)
    image.file.save("upload", ContentFile(upload.read()), save=False)
    try:
        image.save()
    except Exception:
        _delete_files([image.file.name])  # no picture left behind without its row
        raise
    return image


@transaction.atomic
def alert_image_remove(*, actor: Member, alert: Alert, image_id: int) -> None:
    _manageable(actor, alert)
    alert = _locked(alert)
    if alert.status != Alert.Status.DRAFT:
        raise ValidationError("Pictures can be removed only from a draft.")
    image = alert.images.get(pk=image_id)
    name = image.file.name
    image.delete()
    transaction.on_commit(lambda: _delete_files([name]))


# --- publishing


def alert_dispatch_content(*, alert: Alert) -> dict[str, str]:
    """The subject, text and HTML residents get for an alert (email, text message, inbox)."""
    kind = "" if alert.kind == Alert.Kind.ALERT else f"{alert.get_kind_display()}: "
    context = {"alert": alert, "image_count": len(alert.images.all())}
    return {
        "subject": f"{kind}{alert.title}"[:200],
        "body_text": render_to_string("alerts/dispatch_body.txt", context).strip(),
        "body_html": render_to_string("alerts/dispatch_body.html", context).strip(),
        "url": _absolute(reverse("alerts:view", kwargs={"pk": alert.pk})),
    }


def _publishable(alert: Alert) -> dict[str, Any]:
    """Check a draft can go out to somebody; the checked audience."""
    if alert.status != Alert.Status.DRAFT:
        raise ValidationError(f"This alert is {alert.get_status_display().lower()}, not a draft.")
    if _audience_is_empty(alert.audience):
        raise ValidationError("Choose who this is for: at least one area, group, shape or circle.")
    spec = audience_check(organisation=alert.organisation_id, spec=alert.audience)
    size = audience_size_by_channel(
        spec=spec, organisation=alert.organisation_id, category=alert.category, priority=alert.priority
    )
    if size["members"] == 0:
        raise ValidationError(EMPTY_AUDIENCE.format(organisation=alert.organisation.name))
    return spec


def _send(*, actor: Member, alert: Alert, spec: dict[str, Any], send_at: datetime | None) -> Dispatch:
    """The alert's dispatch, with its quick poll if it has one. Both publishing now and
    scheduling come here, inside their transaction: the poll exists before the fan-out (on
    commit, or at `send_at`), so every email carries its one-tap links from the first."""
    dispatch = dispatch_publish(
        organisation=alert.organisation_id,
        source=alert,
        audience=spec,
        category=alert.category,
        priority=alert.priority,
        created_by=actor,
        send_at=send_at,
        **alert_dispatch_content(alert=alert),
    )
    if alert.poll_question:
        # Imported here: surveys builds on notifications and alerts' pages use its template tags.
        from surveys.services import poll_for_alert

        poll_for_alert(actor=actor, dispatch=dispatch, question=alert.poll_question, options=alert.poll_options)
    return dispatch


@transaction.atomic
def alert_publish(*, actor: Member, alert: Alert) -> Dispatch:
    """Publish a draft now: the alert and its dispatch are written together, fanned out on commit.

    Refused (ValidationError) when the audience reaches nobody, or reaches outside the
    organisation's areas.
    """
    _manageable(actor, alert)
    alert = _locked(alert)
    spec = _publishable(alert)
    dispatch = _send(actor=actor, alert=alert, spec=spec, send_at=None)
    alert.audience = spec
    alert.status = Alert.Status.PUBLISHED
    alert.published_at = dispatch.created_at
    alert.dispatch = dispatch
    alert.save(update_fields=["audience", "status", "published_at", "dispatch", "updated_at"])
    audit_record(
        actor=actor, action="alerts.alert.published", target=alert, organisation=alert.organisation,
        data={"dispatch": dispatch.pk, "priority": alert.priority, "kind": alert.kind},
    )  # fmt: skip
    return dispatch


@transaction.atomic
def alert_schedule(*, actor: Member, alert: Alert, send_at: datetime) -> Dispatch:
    """Publish a draft at a later time: the dispatch is written now and waits (the sweep sends it)."""
    _manageable(actor, alert)
    now = timezone.now()
    if send_at is None or send_at <= now + timedelta(minutes=1):
        raise ValidationError({"send_at": ["Choose a time in the future (to send now, publish it instead)."]})
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError({"send_at": [f"Schedule at most {MAX_SCHEDULE_AHEAD.days} days ahead."]})
    alert = _locked(alert)
    spec = _publishable(alert)
    dispatch = _send(actor=actor, alert=alert, spec=spec, send_at=send_at)
    alert.audience = spec
    alert.status = Alert.Status.SCHEDULED
    alert.scheduled_for = send_at
    alert.dispatch = dispatch
    alert.save(update_fields=["audience", "status", "scheduled_for", "dispatch", "updated_at"])
    audit_record(
        actor=actor, action="alerts.alert.scheduled", target=alert, organisation=alert.organisation,
        data={"dispatch": dispatch.pk, "send_at": send_at.isoformat()},
    )  # fmt: skip
    return dispatch


@transaction.atomic
def alert_unschedule(*, actor: Member, alert: Alert) -> Alert:
    """Call back a scheduled alert before its time: its dispatch is cancelled, it is a draft again."""
    _manageable(actor, alert)
    alert = _locked(alert)
    if alert.status != Alert.Status.SCHEDULED:
        raise ValidationError("This alert is not scheduled.")
    if alert.scheduled_for <= timezone.now():
        raise ValidationError("Its time has come and it is going out. Withdraw it instead.")
    dispatch_cancel(dispatch_id=alert.dispatch_id)
    cancelled = alert.dispatch_id
    alert.status, alert.scheduled_for, alert.dispatch = Alert.Status.DRAFT, None, None
    alert.save(update_fields=["status", "scheduled_for", "dispatch", "updated_at"])
    audit_record(
        actor=actor, action="alerts.alert.unscheduled", target=alert, organisation=alert.organisation,
        data={"dispatch": cancelled},
    )  # fmt: skip
    return alert


def alerts_release_scheduled(*, now: datetime | None = None) -> int:
    """Scheduled alerts whose time has come are published (their dispatches go with the sweep).

    One UPDATE; run every minute by beat. Safe to run twice."""
    now = now or timezone.now()
    return Alert.objects.filter(status=Alert.Status.SCHEDULED, scheduled_for__lte=now).update(
        status=Alert.Status.PUBLISHED, published_at=F("scheduled_for"), updated_at=now
    )


# --- after publishing: updates, cancellations, withdrawal


def _followable(alert: Alert) -> None:
    """An alert that went out, so that its recipients can be told more."""
    if alert.status == Alert.Status.SCHEDULED and alert.is_live:
        alerts_release_scheduled()
        alert.refresh_from_db()
    if alert.status != Alert.Status.PUBLISHED or alert.dispatch_id is None:
        raise ValidationError("Only a published alert can be updated.")
    dispatch = Dispatch.objects.get(pk=alert.dispatch_id)
    fanned_out = dispatch.status in (Dispatch.Status.SENDING, Dispatch.Status.DONE, Dispatch.Status.CANCELLED)
    if fanned_out and not Delivery.objects.filter(dispatch_id=dispatch.pk).exists():
        raise ValidationError("Nobody received this alert, so there is nobody to update.")


def _follow_up(*, actor: Member, alert: Alert, kind: str, body: str) -> AlertUpdate:
    update = AlertUpdate.objects.create(alert=alert, kind=kind, body=body, author=actor)
    label = {
        AlertUpdate.Kind.UPDATE: "Update",
        AlertUpdate.Kind.CANCELLATION: "Cancelled",
        AlertUpdate.Kind.WITHDRAWAL: "Withdrawn",
    }[kind]
    context = {"alert": alert, "update": update}
    update.dispatch = dispatch_publish(
        organisation=alert.organisation_id,
        source=update,
        subject=f"{label}: {alert.title}"[:200],
        body_text=render_to_string("alerts/update_body.txt", context).strip(),
        body_html=render_to_string("alerts/update_body.html", context).strip(),
        url=_absolute(reverse("alerts:view", kwargs={"pk": alert.pk})) + f"#update-{update.pk}",
        # Exactly who got the original: no new area, interest or channel rules apply.
        audience={"include": [{"dispatch": alert.dispatch_id}]},
        category=alert.category,
        priority=alert.priority,
        created_by=actor,
    )
    update.save(update_fields=["dispatch"])
    return update


@transaction.atomic
def alert_update_send(*, actor: Member, alert: Alert, kind: str, body: str) -> AlertUpdate:
    """Tell everyone who got a published alert something new, or that it is over
    ("the missing person has been found"). Reaches exactly the original's recipients."""
    _manageable(actor, alert)
    if kind not in (AlertUpdate.Kind.UPDATE, AlertUpdate.Kind.CANCELLATION):
        raise ValidationError({"kind": ["Choose an update or a cancellation."]})
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write what has changed."]})
    if len(body) > 5000:
        raise ValidationError({"body": ["An update has at most 5,000 characters."]})
    alert = _locked(alert)
    _followable(alert)
    update = _follow_up(actor=actor, alert=alert, kind=kind, body=body)
    audit_record(
        actor=actor, action=f"alerts.alert.{'cancelled' if kind == 'cancellation' else 'updated'}",
        target=alert, organisation=alert.organisation, data={"update": update.pk, "dispatch": update.dispatch_id},
    )  # fmt: skip
    return update


@transaction.atomic
def alert_withdraw(*, actor: Member, alert: Alert, reason: str = "", notify: bool = False) -> Alert:
    """Take a published alert back: nothing not yet sent is sent (its updates' neither), it
    leaves the public pages, and, if `notify`, those who got it are told it was withdrawn and why."""
    _manageable(actor, alert)
    reason = " ".join((reason or "").split())
    if len(reason) > 300:
        raise ValidationError({"reason": ["The reason has at most 300 characters."]})
    if notify and not reason:
        raise ValidationError({"reason": ["Say why, so residents who got it know what to make of it."]})
    alert = _locked(alert)
    if alert.status == Alert.Status.SCHEDULED and alert.is_live:
        alerts_release_scheduled()
        alert.refresh_from_db()
    if alert.status != Alert.Status.PUBLISHED:
        raise ValidationError("Only a published alert can be withdrawn.")
    stopped = 0
    for dispatch_id in [alert.dispatch_id, *alert.updates.values_list("dispatch_id", flat=True)]:
        if dispatch_id:
            stopped += dispatch_cancel(dispatch_id=dispatch_id)
    notice = None
    if notify:
        notice = _follow_up(actor=actor, alert=alert, kind=AlertUpdate.Kind.WITHDRAWAL, body=reason)
    alert.status, alert.withdrawn_at, alert.withdrawn_reason = Alert.Status.WITHDRAWN, timezone.now(), reason
    alert.save(update_fields=["status", "withdrawn_at", "withdrawn_reason", "updated_at"])
    audit_record(
        actor=actor, action="alerts.alert.withdrawn", target=alert, organisation=alert.organisation,
        data={"stopped": stopped, "notice": notice.pk if notice else None},
    )  # fmt: skip
    return alert


# --- a coordinator's message to their group


@transaction.atomic
def group_message_send(*, actor: Member, group: CommunityGroup, subject: str, body: str) -> GroupMessage:
    """A coordinator messages their own group, in the name of the group's organisation.

    Only the group's active members who opted in to that organisation get it. At most
    ALERT_GROUP_MESSAGES_PER_DAY a day per group: a scheme's news, not a chat room.
    """
    if not can_message_group(member=actor, group=group):
        raise PermissionDenied("Only this group's coordinators can message it.")
    errors: dict[str, list[str]] = {}
    subject = " ".join((subject or "").split())
    body = (body or "").strip()
    if not subject:
        errors["subject"] = ["Give the message a subject."]
    elif len(subject) > 200:
        errors["subject"] = ["A subject has at most 200 characters."]
    if not body:
        errors["body"] = ["Write the message."]
    elif len(body) > 5000:
        errors["body"] = ["A message has at most 5,000 characters."]
    if errors:
        raise ValidationError(errors)
    # Serialise a group's senders, so two coordinators cannot both slip under the daily limit.
    CommunityGroup.objects.select_for_update().filter(pk=group.pk).first()
    today = GroupMessage.objects.filter(group=group, created_at__gte=timezone.now() - timedelta(days=1)).count()
    if today >= settings.ALERT_GROUP_MESSAGES_PER_DAY:
        raise ValidationError(
            f"{group.name} has had {today} messages in the last 24 hours, the most allowed. Try again tomorrow."
        )
    spec = {"include": [{"group": group.pk}]}
    if audience_size_by_channel(spec=spec, organisation=group.organisation_id, priority=3)["members"] == 0:
        raise ValidationError(
            f"Nobody would receive this: no member of the group has agreed to hear from {group.organisation.name} yet."
        )
    message = GroupMessage.objects.create(
        group=group, organisation_id=group.organisation_id, author=actor, subject=subject, body=body
    )
    message.dispatch = dispatch_publish(
        organisation=group.organisation_id,
        source=message,
        subject=f"{group.name}: {subject}"[:200],
        body_text=render_to_string("alerts/group_message_body.txt", {"message": message, "group": group}).strip(),
        url=_absolute(reverse("notifications:inbox")),
        audience=spec,
        priority=3,
        created_by=actor,
    )
    message.save(update_fields=["dispatch"])
    audit_record(
        actor=actor, action="alerts.group_message.sent", target=message, organisation=group.organisation,
        data={"group": group.pk, "dispatch": message.dispatch_id},
    )  # fmt: skip
    return message


def group_message_count_today(*, group: CommunityGroup) -> int:
    return GroupMessage.objects.filter(group=group, created_at__gte=timezone.now() - timedelta(days=1)).count()


# --- personal data: what a member wrote here


def _export(member: Member) -> dict[str, Any]:
    return {
        "group_messages_sent": [
            {"at": m.created_at.isoformat(), "group": m.group.name, "subject": m.subject, "body": m.body}
            for m in GroupMessage.objects.filter(author=member).select_related("group").order_by("created_at")
        ],
        "alerts_written": [
            {
                "at": a.created_at.isoformat(),
                "title": a.title,
                "kind": a.kind,
                "status": a.status,
                "published_at": a.published_at.isoformat() if a.published_at else None,
            }
            for a in Alert.objects.filter(author=member).order_by("created_at")
        ],
    }


def _erase(member: Member) -> None:
    # Nothing to delete: alerts and group messages that went out are the organisation's
    # record of what residents were told, and they point at the member's tombstone,
    # which identifies nobody. Drafts die with their author's account.
    drafts = Alert.objects.filter(author=member, status=Alert.Status.DRAFT)
    files = list(AlertImage.objects.filter(alert__in=drafts).values_list("file", flat=True))
    drafts.delete()
    transaction.on_commit(lambda: _delete_files(files))


personal_data.register("alerts", export=_export, erase=_erase)
