"""Reads of reply threads and ratings, always scoped to the member asking.

A resident sees only their own threads; an officer only their organisation's. Anyone
else's thread is simply not in the queryset, so views answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Left

from groups.jurisdiction import organisation_areas
from groups.models import Area, AreaMember
from members.models import Member, Organisation
from members.permissions import is_officer
from notifications.models import Delivery, Dispatch

from .models import Message, Rating, ReplySettings, Thread
from .permissions import is_resident

PREVIEW_CHARS = 160


# --- what an alert's reach shows


def reply_stats(dispatch_ids: list[int]) -> dict[int, dict]:
    """Replies and ratings per dispatch: `{dispatch_id: {"replies": n, "ratings": n,
    "rating_average": 4.2 | None}}`, with an entry for every id asked about.

    `replies` counts the messages residents wrote about it (an officer's answers are
    not replies to the alert), from each thread's own count. Two aggregate queries
    however many ids: a list of alerts shows each one's reach at the same cost as one.
    """
    stats = {pk: {"replies": 0, "ratings": 0, "rating_average": None} for pk in dispatch_ids}
    if not dispatch_ids:
        return stats
    replies = (
        Thread.objects.filter(dispatch_id__in=dispatch_ids)
        .values("dispatch_id")
        .annotate(n=Sum("resident_messages"))
        .order_by()
    )
    for row in replies:
        stats[row["dispatch_id"]]["replies"] = row["n"] or 0
    ratings = (
        Rating.objects.filter(dispatch_id__in=dispatch_ids)
        .values("dispatch_id")
        .annotate(n=Count("pk"), average=Avg("score"))
        .order_by()
    )
    for row in ratings:
        stats[row["dispatch_id"]]["ratings"] = row["n"]
        stats[row["dispatch_id"]]["rating_average"] = round(float(row["average"]), 2)
    return stats


# --- residents


def dispatches_replyable_by(*, member: Member) -> QuerySet[Dispatch]:
    """The messages a resident may answer and rate: those they were sent, of a replyable kind."""
    if not is_resident(member=member):
        return Dispatch.objects.none()
    return Dispatch.objects.filter(
        # Only a message that reached them: a copy stopped before it went out does not count.
        Exists(
            Delivery.objects.filter(dispatch_id=OuterRef("pk"), member=member).exclude(
                status__in=[Delivery.Status.CANCELLED, Delivery.Status.FAILED]
            )
        ),
        source_type__in=settings.REPLY_SOURCE_TYPES,
    ).select_related("organisation")


def threads_of_resident(*, member: Member) -> QuerySet[Thread]:
    """A resident's own conversations, latest first, each with the message it answers.

    One query however many rows a page shows. `unanswered_by_organisation` and
    `answered` come from the thread's bookkeeping columns, not the messages.
    """
    if not is_resident(member=member):
        return Thread.objects.none()
    return (
        Thread.objects.filter(resident=member)
        .select_related("dispatch", "organisation")
        .annotate(message_count=Count("messages"))
        .order_by("-last_message_at", "-pk")
    )


def thread_of_resident(*, member: Member, thread_id: int) -> Thread:
    """One of the resident's own threads; anyone else's is Thread.DoesNotExist."""
    return threads_of_resident(member=member).get(pk=thread_id)


def thread_for_dispatch(*, member: Member, dispatch: Dispatch) -> Thread | None:
    if not is_resident(member=member):
        return None
    return Thread.objects.filter(resident=member, dispatch=dispatch).select_related("organisation").first()


def thread_messages(*, thread: Thread) -> QuerySet[Message]:
    """A thread's messages, oldest first, with their authors (one query)."""
    return thread.messages.select_related("author").order_by("created_at", "pk")


def rating_of(*, member: Member, dispatch: Dispatch) -> Rating | None:
    if not is_resident(member=member):
        return None
    return Rating.objects.filter(resident=member, dispatch=dispatch).first()


def inbox_delivery_for(*, member: Member, dispatch_id: int) -> Delivery | None:
    """The resident's in-app copy of a message, if they have one (the page to go back to)."""
    return (
        Delivery.objects.filter(member=member, dispatch_id=dispatch_id, channel=Delivery.Channel.INBOX)
        .only("pk")
        .first()
    )


# --- officers


@dataclass(frozen=True)
class InboxFilters:
    """What an officer's reply inbox shows: a view, and optionally one alert or one area."""

    view: str = "open"  # open | urgent | unread | mine | unassigned | closed | all
    dispatch_id: int | None = None
    area_id: int | None = None


VIEWS = {
    "open": "Open",
    "urgent": "Urgent",
    "unread": "Unread",
    "mine": "Assigned to me",
    "unassigned": "Unassigned",
    "closed": "Closed",
    "all": "All",
}


def _view_condition(view: str, viewer: Member) -> Q:
    open_ = Q(status=Thread.Status.OPEN)
    return {
        "open": open_,
        "urgent": open_ & Q(urgent=True),
        # Closing a thread marks it read, so unread threads are always open ones.
        "unread": Q(unread=True),
        "mine": open_ & Q(assignee=viewer),
        "unassigned": open_ & Q(assignee__isnull=True),
        "closed": Q(status=Thread.Status.CLOSED),
        "all": Q(),
    }[view]


def threads_of_organisation(*, viewer: Member) -> QuerySet[Thread]:
    """Every thread of the officer's organisation (nobody else gets any)."""
    if not is_officer(member=viewer):
        return Thread.objects.none()
    return Thread.objects.filter(organisation_id=viewer.organisation_id)


def reply_inbox(*, viewer: Member, filters: InboxFilters | None = None) -> QuerySet[Thread]:
    """An officer's reply inbox: their organisation's threads, filtered, urgent first,
    then those with the newest messages.

    One query for a page of any size: the message answered, the resident and the
    assignee are joined; the latest resident message (a preview) and the resident's
    ward come from correlated subqueries, run for the page's rows only.
    """
    filters = filters or InboxFilters()
    threads = threads_of_organisation(viewer=viewer).filter(_view_condition(filters.view, viewer))
    if filters.dispatch_id is not None:
        threads = threads.filter(dispatch_id=filters.dispatch_id)
    if filters.area_id is not None:
        threads = threads.filter(
            Exists(AreaMember.objects.filter(area_id=filters.area_id, member_id=OuterRef("resident_id")))
        )
    latest = Message.objects.filter(thread_id=OuterRef("pk"), from_resident=True).order_by("-created_at", "-pk")
    ward = Area.objects.filter(level=Area.Level.WARD, memberships__member_id=OuterRef("resident_id")).order_by("name")
    return (
        threads.select_related("dispatch", "resident", "assignee")
        .annotate(
            preview=Coalesce(Left(Subquery(latest.values("body")[:1]), PREVIEW_CHARS), Value("")),
            ward_name=Subquery(ward.values("name")[:1]),
        )
        .order_by("-urgent", "-last_message_at", "-pk")
    )


COUNTED_VIEWS = ("open", "urgent", "unread", "mine", "unassigned")


def reply_inbox_counts(*, viewer: Member) -> dict[str, int | None]:
    """How many threads the views of work still to do hold (open, urgent, unread, mine,
    unassigned), for the view tabs: one query over the organisation's open threads, so
    its cost follows the backlog, not the years of closed threads. Closed and all are
    not counted (None)."""
    counts: dict[str, int | None] = dict.fromkeys(VIEWS)
    if not is_officer(member=viewer):
        return {**counts, **dict.fromkeys(COUNTED_VIEWS, 0)}
    aggregates = {view: Count("pk", filter=_view_condition(view, viewer)) for view in COUNTED_VIEWS if view != "open"}
    counts.update(
        threads_of_organisation(viewer=viewer)
        .filter(status=Thread.Status.OPEN)
        .aggregate(open=Count("pk"), **aggregates)
    )
    return counts


def reply_nav_counts(*, viewer: Member) -> dict[str, int]:
    """The officer's nav badge: the organisation's open threads that are urgent, and unread (one query)."""
    if not is_officer(member=viewer):
        return {"urgent": 0, "unread": 0}
    return (
        threads_of_organisation(viewer=viewer)
        .filter(Q(urgent=True) | Q(unread=True), status=Thread.Status.OPEN)
        .aggregate(urgent=Count("pk", filter=Q(urgent=True)), unread=Count("pk", filter=Q(unread=True)))
    )


def thread_of_organisation(*, viewer: Member, thread_id: int) -> Thread:
    """One of the officer's organisation's threads; any other is Thread.DoesNotExist."""
    return (
        threads_of_organisation(viewer=viewer)
        .select_related("dispatch", "resident", "assignee", "organisation", "closed_by")
        .get(pk=thread_id)
    )


def resident_areas(*, member: Member) -> QuerySet[Area]:
    """The wards and districts a resident lives in (for the officer reading their reply)."""
    return Area.objects.filter(memberships__member=member, level__in=[Area.Level.DISTRICT, Area.Level.WARD]).order_by(
        "level", "name"
    )


def inbox_filter_dispatches(*, viewer: Member) -> QuerySet[Dispatch]:
    """The messages of the organisation that residents have answered: the "alert" filter's choices."""
    if not is_officer(member=viewer):
        return Dispatch.objects.none()
    return (
        Dispatch.objects.filter(
            Exists(Thread.objects.filter(dispatch_id=OuterRef("pk"))),
            organisation_id=viewer.organisation_id,
        )
        .only("pk", "subject", "created_at")
        .order_by("-created_at", "-pk")
    )


def inbox_filter_areas(*, viewer: Member) -> QuerySet[Area]:
    """The districts and wards of the organisation's area of responsibility: the "area" filter's choices."""
    if not is_officer(member=viewer):
        return Area.objects.none()
    return (
        organisation_areas(organisation=viewer.organisation_id)
        .filter(level__in=[Area.Level.DISTRICT, Area.Level.WARD])
        .only("pk", "name", "level")
        .order_by("level", "name")
    )


def assignable_officers(*, organisation: Organisation | int) -> QuerySet[Member]:
    """The officers (and force admins) a thread of this organisation may be assigned to."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return Member.objects.filter(
        organisation_id=org_id,
        role__in=[Member.Role.OFFICER, Member.Role.FORCE_ADMIN],
        is_active=True,
        erased_at__isnull=True,
    ).order_by("last_name", "first_name", "pk")


def reply_settings_of(*, organisation: Organisation | int) -> ReplySettings:
    """The organisation's reply settings (unsaved defaults if its force admins never set any)."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return ReplySettings.objects.filter(organisation_id=org_id).first() or ReplySettings(organisation_id=org_id)


def trigger_words_of(*, organisation: Organisation | int) -> list[str]:
    words = reply_settings_of(organisation=organisation).trigger_words
    return list(settings.REPLY_TRIGGER_WORDS) if words is None else list(words)


def duty_addresses(*, organisation: Organisation | int) -> list[str]:
    """Where urgent replies go: the duty address, or else every active force admin's."""
    duty = reply_settings_of(organisation=organisation).duty_email
    if duty:
        return [duty]
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return list(
        Member.objects.filter(
            organisation_id=org_id, role=Member.Role.FORCE_ADMIN, is_active=True, erased_at__isnull=True
        )
        .order_by("pk")
        .values_list("email", flat=True)
    )


def threads_awaiting_reminder(*, now: datetime, days: int) -> QuerySet[Thread]:
    """Open threads waiting `days` for an answer whose last reminder (if any) is as old,
    or older than the message now waiting."""
    from datetime import timedelta

    cutoff = now - timedelta(days=days)
    return Thread.objects.filter(status=Thread.Status.OPEN, awaiting_since__lte=cutoff).filter(
        Q(reminded_at__isnull=True) | Q(reminded_at__lte=cutoff) | Q(reminded_at__lt=F("awaiting_since"))
    )
