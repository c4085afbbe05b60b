"""Reads of alerts and group messages, always scoped to the member asking.

An officer reads their own organisation's alerts (another organisation's are not
found, a 404). A resident reads an alert only if it is public and out, or if it was
sent to them. Anonymous visitors read public alerts only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from groups.models import CommunityGroup
from members.models import Member, Organisation
from members.permissions import is_officer
from notifications.audience import audience_member_ids
from notifications.models import Delivery, Dispatch
from notifications.selectors import dispatch_reach

from .models import Alert, AlertUpdate, GroupMessage

# Deliveries that did not reach anyone: not counted as "a message they had".
_NOT_RECEIVED = (Delivery.Status.FAILED, Delivery.Status.CANCELLED)
FLOOD_DAYS = 7
# Above this many members, the per-member figures of the flood check come from a random sample.
FLOOD_SAMPLE = 2000


# --- officers


def alerts_for_officer(
    *,
    viewer: Member,
    status: str = "",
    kind: str = "",
    category: str = "",
    priority: int | None = None,
    search: str = "",
) -> QuerySet[Alert]:
    """An officer's organisation's alerts, newest first, filtered; nobody else's.

    One query for the rows however many a page shows (author and dispatch joined).
    """
    if not is_officer(member=viewer):
        return Alert.objects.none()
    alerts = Alert.objects.filter(organisation_id=viewer.organisation_id).select_related("author", "dispatch")
    if status:
        alerts = alerts.filter(status=status)
    if kind:
        alerts = alerts.filter(kind=kind)
    if category:
        alerts = alerts.filter(category=category)
    if priority:
        alerts = alerts.filter(priority=priority)
    if search:
        alerts = alerts.filter(title__icontains=search)
    return alerts.order_by("-created_at", "-pk")


def alert_get_for_officer(*, viewer: Member, pk: int) -> Alert:
    """One of the officer's organisation's alerts, with its images and updates; Alert.DoesNotExist otherwise."""
    return (
        alerts_for_officer(viewer=viewer)
        .select_related("organisation")
        .prefetch_related("images", Prefetch("updates", queryset=AlertUpdate.objects.select_related("author")))
        .get(pk=pk)
    )


def reply_stats(*, dispatch_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Replies and ratings per dispatch (replies.selectors.reply_stats; two queries)."""
    if not dispatch_ids:
        return {}
    # Imported here: replies builds on alerts, not the other way round.
    from replies.selectors import reply_stats as stats

    return stats(dispatch_ids=dispatch_ids)


def alerts_reach(*, alerts: list[Alert]) -> dict[int, dict[str, Any]]:
    """Each alert's reach, by alert id: audience, per channel delivered/failed/pending, read
    in the app, replies and the average rating. Three queries however many alerts."""
    ids = [a.dispatch_id for a in alerts if a.dispatch_id]
    reach = dispatch_reach(dispatch_ids=ids) if ids else {}
    replies = reply_stats(dispatch_ids=ids)
    result = {}
    for alert in alerts:
        entry = reach.get(alert.dispatch_id, {"channels": {}, "read": 0, "members": 0})
        channels = entry["channels"]
        result[alert.pk] = {
            **entry,
            "delivered": sum(c["delivered"] for c in channels.values()),
            "failed": sum(c["failed"] for c in channels.values()),
            "pending": sum(c["pending"] for c in channels.values()),
            "replies": replies.get(alert.dispatch_id, {}).get("replies"),
            "ratings": replies.get(alert.dispatch_id, {}).get("ratings"),
            "rating_average": replies.get(alert.dispatch_id, {}).get("rating_average"),
        }
    return result


def alert_reach_detail(*, alert: Alert) -> dict[str, Any]:
    """An alert's reach and each of its updates', for the alert's page (three queries)."""
    updates = [u for u in alert.updates.all() if u.dispatch_id]
    ids = [i for i in [alert.dispatch_id, *(u.dispatch_id for u in updates)] if i]
    reach = dispatch_reach(dispatch_ids=ids) if ids else {}
    replies = reply_stats(dispatch_ids=ids)
    channel_order = [c for c, _ in Delivery.Channel.choices]

    def rows(dispatch_id: int | None) -> dict[str, Any]:
        entry = reach.get(dispatch_id, {"channels": {}, "read": 0, "members": 0})
        channels = [
            {"channel": c, "label": Delivery.Channel(c).label, **entry["channels"][c]}
            for c in channel_order
            if c in entry["channels"]
        ]
        return {
            "members": entry["members"],
            "read": entry["read"],
            "channels": channels,
            **replies.get(dispatch_id, {"replies": None, "ratings": None, "rating_average": None}),
        }

    return {"alert": rows(alert.dispatch_id), "updates": {u.pk: rows(u.dispatch_id) for u in updates}}


def audience_recent_messages(
    *, organisation: Organisation | int, spec: dict[str, Any], category: str = "", audience_members: int | None = None
) -> dict[str, Any]:
    """How much this audience has heard from the organisation in the last 7 days, so an area is not flooded.

    `{"dispatches": 4, "average": 1.7, "most": 3, "reached": 812, "sampled": False, "checked": 812, "days": 7}`:
    how many of the organisation's messages of the week reached anyone in the audience,
    how many of them each member had on average (those who had none included) and at
    most, and how many members had at least one. A message counts once however many
    channels carried it; failed and stopped deliveries do not count.

    Exact for audiences of up to FLOOD_SAMPLE members. Above that, read from that many
    members picked at random (`sampled`; `checked` says how many), so that a county-wide
    audience costs what a ward does: `dispatches` is then the messages that reached
    anyone in the sample (at least that many reached the audience), and `reached` is
    scaled up to `audience_members` (the audience's size) when it is given.

    ONE query (two with drawn shapes: their bounding-box prefilter): the audience, its
    sample, and the sample's deliveries of the week by the inbox index (member,
    channel, created_at), kept if their dispatch is one of the organisation's (few)
    of the week. Counting the week's deliveries for the whole audience instead took
    14 s for 200,000 members (bench/alerts_audience.py).
    """
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    since = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=FLOOD_DAYS))
    members_sql, members_params = (
        audience_member_ids(spec=spec, organisation=org_id, category=category).order_by().query.sql_with_params()
    )
    deliveries, dispatches_table = Delivery._meta.db_table, Dispatch._meta.db_table
    channels = ", ".join(["%s"] * len(Delivery.Channel.values))
    sql = f"""
        WITH sample (member_id) AS (SELECT * FROM ({members_sql}) AS audience ORDER BY random() LIMIT %s),
        pairs AS (
            SELECT DISTINCT d.member_id, d.dispatch_id
            FROM sample JOIN {deliveries} d ON d.member_id = sample.member_id
            WHERE d.channel IN ({channels}) AND d.created_at >= %s AND d.status NOT IN (%s, %s)
              AND d.dispatch_id IN (SELECT id FROM {dispatches_table} WHERE organisation_id = %s AND created_at >= %s)
        ),
        per_member AS (SELECT member_id, COUNT(*) AS n FROM pairs GROUP BY member_id)
        SELECT (SELECT COUNT(DISTINCT dispatch_id) FROM pairs),
               (SELECT COUNT(*) FROM sample),
               (SELECT COUNT(*) FROM per_member),
               (SELECT COALESCE(SUM(n), 0) FROM per_member),
               (SELECT COALESCE(MAX(n), 0) FROM per_member)
    """  # noqa: S608 - table names from the models, values as parameters
    params = [*members_params, FLOOD_SAMPLE, *Delivery.Channel.values, since, *_NOT_RECEIVED, org_id, since]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        dispatches, checked, reached, messages, most = cursor.fetchone()
    sampled = checked >= FLOOD_SAMPLE and (audience_members is None or audience_members > checked)
    if sampled and audience_members:
        reached = round(reached * audience_members / checked)
    return {
        "dispatches": dispatches,
        "average": round(messages / checked, 1) if checked else 0.0,
        "most": most,
        "reached": reached,
        "sampled": sampled,
        "checked": checked,
        "days": FLOOD_DAYS,
    }


# --- residents and the public


def _live() -> Q:
    return Q(status__in=[Alert.Status.PUBLISHED, Alert.Status.WITHDRAWN]) | Q(
        status=Alert.Status.SCHEDULED, scheduled_for__lte=timezone.now()
    )


def alerts_public() -> QuerySet[Alert]:
    """Public alerts that are out and not withdrawn, newest first: the public pages and feeds."""
    return (
        Alert.objects.filter(_live(), is_public=True)
        .exclude(status=Alert.Status.WITHDRAWN)
        .select_related("organisation")
        .order_by("-published_at", "-pk")
    )


def alert_received_by(*, member: Member, alert: Alert) -> Delivery | None:
    """The member's inbox copy of the alert (or any copy, if they do not use the inbox); None if not sent to them."""
    if not member.is_authenticated or alert.dispatch_id is None:
        return None
    # A copy stopped before it went out (withdrawn, failed) is not a message they got.
    copies = (
        Delivery.objects.filter(dispatch_id=alert.dispatch_id, member=member)
        .exclude(status__in=[Delivery.Status.CANCELLED, Delivery.Status.FAILED])
        .order_by(
            # The inbox copy first: that is where they can reply and rate.
            Case(When(channel=Delivery.Channel.INBOX, then=Value(0)), default=Value(1), output_field=IntegerField()),
            "pk",
        )
    )
    return copies.first()


def alert_get_for_viewer(*, viewer: Member, pk: int) -> tuple[Alert, Delivery | None]:
    """An alert as a resident or visitor may see it, with the viewer's own copy of it (or None).

    Public alerts once out: anyone. Others: the residents it was sent to, and the
    officers of its organisation. Anyone else: Alert.DoesNotExist (a 404: whether an
    alert exists is not for them to learn).
    """
    alert = (
        Alert.objects.select_related("organisation")
        .prefetch_related(Prefetch("updates", queryset=AlertUpdate.objects.order_by("created_at", "pk")), "images")
        .get(pk=pk)
    )
    if is_officer(member=viewer) and viewer.organisation_id == alert.organisation_id:
        return alert, None
    if not alert.is_live:
        raise Alert.DoesNotExist
    copy = alert_received_by(member=viewer, alert=alert) if viewer.is_authenticated else None
    if copy is None and not (alert.is_public and alert.status != Alert.Status.WITHDRAWN):
        raise Alert.DoesNotExist
    return alert, copy


def alert_for_dispatch(*, dispatch: Dispatch) -> dict[str, Any] | None:
    """What the alerts app knows about a message in a resident's inbox: the alert (with its
    images) behind an alert or an update, or the group behind a group message. None otherwise."""
    if dispatch.source_type == "alerts.alert":
        alert = Alert.objects.filter(pk=dispatch.source_id).prefetch_related("images").first()
        return {"alert": alert} if alert else None
    if dispatch.source_type == "alerts.alertupdate":
        update = (
            AlertUpdate.objects.filter(pk=dispatch.source_id)
            .select_related("alert")
            .prefetch_related("alert__images")
            .first()
        )
        return {"alert": update.alert, "update": update} if update else None
    if dispatch.source_type == "alerts.groupmessage":
        message = GroupMessage.objects.filter(pk=dispatch.source_id).select_related("group").first()
        return {"group_message": message} if message else None
    return None


# --- coordinators


def groups_coordinated_by(*, member: Member) -> QuerySet[CommunityGroup]:
    """The groups a resident coordinates (actively); nothing for officers or visitors."""
    if not member.is_authenticated or member.is_officer:
        return CommunityGroup.objects.none()
    return (
        CommunityGroup.objects.filter(
            memberships__member=member, memberships__role="coordinator", memberships__status="active"
        )
        .select_related("organisation")
        .order_by("name")
    )


def group_messages_of(*, group: CommunityGroup) -> QuerySet[GroupMessage]:
    """A group's past messages, newest first, with who sent them and how many they reached."""
    return group.messages.select_related("author", "dispatch").order_by("-created_at", "-pk")


# --- describing an audience in words


def shape_words(part: dict[str, Any]) -> str:
    """A drawn shape or circle, as an officer would say it."""
    if "radius" in part:
        c = part["radius"]
        return f"A circle of {c['metres']:,.0f} m around latitude {c['lat']:.4f}, longitude {c['lon']:.4f}"
    geometry = part["polygon"]
    rings = geometry["coordinates"] if geometry.get("type") == "MultiPolygon" else [geometry.get("coordinates", [])]
    corners = sum(max(len(polygon[0]) - 1, 0) for polygon in rings if polygon)
    return f"A shape drawn with {corners} corners"


def audience_describe(*, spec: dict[str, Any], organisation_id: int) -> dict[str, list[str]]:
    """An audience spec in words: {"include": [...], "exclude": [...], "interest_only": bool}.
    Two queries (area and group names), only the organisation's own (others show as unknown)."""
    from groups.jurisdiction import organisation_areas

    spec = spec or {}
    parts = [*(spec.get("include") or []), *(spec.get("exclude") or [])]
    area_ids = {p["area"] for p in parts if "area" in p}
    group_ids = {p["group"] for p in parts if "group" in p}
    areas = (
        {a.pk: a for a in organisation_areas(organisation=organisation_id).filter(pk__in=area_ids)} if area_ids else {}
    )
    groups = (
        dict(CommunityGroup.objects.filter(pk__in=group_ids, organisation_id=organisation_id).values_list("pk", "name"))
        if group_ids
        else {}
    )

    def words(part: dict[str, Any]) -> str:
        if "area" in part:
            area = areas.get(part["area"])
            return f"{area.name} ({area.get_level_display().lower()})" if area else "An area you cannot target"
        if "group" in part:
            return groups.get(part["group"], "A group you cannot target")
        if "dispatch" in part:
            return "Everyone who got an earlier message"
        if "members" in part:
            return f"{len(part['members'])} chosen residents"
        return shape_words(part)

    return {
        "include": [words(p) for p in spec.get("include") or []],
        "exclude": [words(p) for p in spec.get("exclude") or []],
        "interest_only": bool(spec.get("interest_only")),
    }
