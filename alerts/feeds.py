"""Public alerts for other systems to pick up: Atom feeds, and OASIS CAP 1.2 messages.

Anyone may read these, signed in or not: they carry only alerts the officer marked
public (`Alert.is_public`), once they are out, never a draft, a scheduled alert before
its time or a non-public one. Routes (alerts/feed_urls.py, namespace `feeds`):

| URL | what |
| --- | --- |
| /feeds/alerts.atom | Atom: the newest 50 public alerts, appeals, news and events that are out and not withdrawn |
| /feeds/areas/<code>/alerts.atom | the same for one area (force area, district or ward, by its code) |
| /feeds/cap.atom | CAP index: an Atom feed whose entries link to CAP 1.2 messages (newest 100) |
| /feeds/areas/<code>/cap.atom | the CAP index of one area |
| /feeds/cap/alerts/<pk>.xml | an alert as a CAP message (msgType Alert) |
| /feeds/cap/alerts/<pk>/updates/<update_pk>.xml | its update (Update) or cancellation (Cancel) |
| /feeds/cap/alerts/<pk>/withdrawn.xml | the Cancel saying a withdrawn alert no longer stands |

Which alerts are in an area's feeds. An alert is in the feeds of area A when a place
it was sent to overlaps A: an area (A itself, one inside A, one containing A, one
crossing it), a geographic group's area, a drawn shape or a circle. "Overlaps" means
sharing at least 1% of the smaller of the two, so that neighbouring wards, which
share a boundary (and, in real boundary files, slivers along it), do not get each
other's alerts. An alert whose left-out places cover all of A (a district minus
this ward) is not in A's feeds. Alerts sent only to interest groups or to the
recipients of an earlier message have no place: they are in the site-wide feeds only.
Custom areas have no feed (they are their organisation's own, like their names).

CAP. Only alerts and appeals become CAP messages: news and events are in the Atom
feeds, but a CAP consumer (a broadcaster, a sign, a phone's public alerts) treats every
message as a warning. Each message has a stable identifier (`mcv-<organisation slug>-
alert-<pk>`, `…-update-<pk>`, `…-withdrawn`), the sender `<organisation slug>@<site host>`,
status Actual, scope Public, and one <info> in en-GB:

| priority | urgency | severity | certainty |
| --- | --- | --- | --- |
| 1 (most urgent) | Immediate | Severe | Observed |
| 2 | Expected | Moderate | Observed |
| 3 | Future | Minor | Observed |
| 4 | Future | Minor | Likely |
| 5 (least urgent) | Unknown | Minor | Unknown |

Categories: crime of every kind is Security, missing persons Rescue, road safety
Transport, the rest Other (CATEGORY_TO_CAP). An update is msgType Update, a
cancellation ("the missing person has been found") msgType Cancel with responseType
AllClear and urgency Past; both reference the alert and the updates before them. A
withdrawn alert leaves the Atom feeds and its own CAP URLs (404, as its page), and
its CAP index entry becomes a Cancel that references it, so a system that picked it
up learns to drop it; the Cancel repeats nothing of what was withdrawn.

Where: each <area> is a place the alert was sent to. A named area (force, district,
ward) goes with its name, its outline simplified to about 50 m and its ONS GSS code; a
custom area or a drawn shape is "An area drawn by <organisation>", simplified the same
way; a circle's centre is rounded to about 100 m and its radius widened by 0.1 km to
still cover it (a circle is often drawn around someone's home). Left-out places are
not expressed (CAP areas cannot exclude).

The window: a site-wide feed draws on the newest 200 public alerts that went out
(SITE_WINDOW), an area's on the newest 500 of the organisations that could reach it
(AREA_WINDOW): an organisation's alerts only ever reach inside its own areas.

Caching: every feed answers with an ETag and Last-Modified worked out from its window
(four indexed queries at most, no model built), so a poller asking again with
If-None-Match gets a 304 cheaply; `Cache-Control: public, max-age=60`; the body is kept
in the cache under its ETag for five minutes, which also bounds how long a renamed
organisation or a redrawn boundary takes to show. A full build is a constant number of
queries, however many alerts. bench/feeds.py measures it (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import shapely
import shapely.errors
import shapely.geometry
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Prefetch, Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.feedgenerator import Atom1Feed, Enclosure, rfc3339_date
from django.utils.html import escape, linebreaks
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_safe

from groups.jurisdiction import circle_polygon
from groups.models import Area, CommunityGroup
from members.models import Interest, Organisation

from .models import Alert, AlertImage, AlertUpdate

FEED_ENTRIES = 50  # Atom entries per feed
CAP_INDEX_ENTRIES = 100  # CAP messages per index
SITE_WINDOW = 200  # the newest public alerts a site-wide feed draws on
AREA_WINDOW = 500  # the newest public alerts of the organisations near an area that its feeds draw on
FEED_MAX_AGE = 60  # seconds: a priority 1 alert must not wait long in someone's cache
BODY_CACHE_SECONDS = 300
FEEDS_VERSION = "1"  # part of every ETag and cache key: bump when the output's shape changes
OVERLAP_SHARE = 0.01
CAP_TOLERANCE = 0.0005  # degrees, about 50 m: outlines simplified for CAP
PUBLIC_LEVELS = (Area.Level.FORCE, Area.Level.DISTRICT, Area.Level.WARD)
CAP_KINDS = (Alert.Kind.ALERT, Alert.Kind.APPEAL)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml; charset=utf-8"
ATOM_CONTENT_TYPE = Atom1Feed.content_type

CATEGORY_TO_CAP = {
    Interest.BURGLARY: "Security",
    Interest.VEHICLE_CRIME: "Security",
    Interest.FRAUD_SCAMS: "Security",
    Interest.ANTI_SOCIAL_BEHAVIOUR: "Security",
    Interest.VIOLENCE_WEAPONS: "Security",
    Interest.DRUGS: "Security",
    Interest.RURAL_CRIME: "Security",
    Interest.BUSINESS_CRIME: "Security",
    Interest.CYBER_CRIME: "Security",
    Interest.MISSING_PERSONS: "Rescue",
    Interest.ROAD_SAFETY: "Transport",
    Interest.COMMUNITY_EVENTS: "Other",
    Interest.POLICE_NEWS: "Other",
}
# priority: (urgency, severity, certainty); see the table above.
PRIORITY_TO_CAP = {
    1: ("Immediate", "Severe", "Observed"),
    2: ("Expected", "Moderate", "Observed"),
    3: ("Future", "Minor", "Observed"),
    4: ("Future", "Minor", "Likely"),
    5: ("Unknown", "Minor", "Unknown"),
}


# --- the alerts a feed draws on


def _public_live() -> Q:
    # The same rule as alerts.selectors (alerts_public, alert_get_for_viewer): public, and out.
    # Withdrawn alerts are kept here: the CAP index says they were withdrawn.
    return Q(is_public=True) & (
        Q(status__in=[Alert.Status.PUBLISHED, Alert.Status.WITHDRAWN])
        | Q(status=Alert.Status.SCHEDULED, scheduled_for__lte=timezone.now())
    )


def _near(area: Area) -> Q:
    """Areas whose bounding box meets the area's (groups_area_bbox_idx)."""
    return Q(min_lon__lte=area.max_lon, max_lon__gte=area.min_lon, min_lat__lte=area.max_lat, max_lat__gte=area.min_lat)


def _organisations_near(area: Area) -> Q:
    """Alerts of the organisations that could have sent anything there: those responsible for
    an area near it, or which drew a custom area or run a group there. An organisation's alerts
    only ever reach inside its own areas (groups.jurisdiction), so no other can be in the feed."""
    near = Area.objects.filter(_near(area))
    return (
        Q(organisation_id__in=Organisation.areas.through.objects.filter(area__in=near).values("organisation_id"))
        | Q(organisation_id__in=near.filter(level=Area.Level.CUSTOM).values("organisation_id"))
        | Q(organisation_id__in=CommunityGroup.objects.filter(area__in=near).values("organisation_id"))
    )


# What a feed's ETag is worked out from: enough to tell any change to what it shows.
WINDOW_FIELDS = ("pk", "status", "updated_at", "published_at", "scheduled_for")


def public_window(*, area: Area | None = None, limit: int) -> list[tuple]:
    """The newest `limit` public alerts that are out (withdrawn ones included), newest first,
    as WINDOW_FIELDS tuples: of the whole site, or of the organisations near `area`.

    Two queries, both by index: the released alerts by `published_at` (alerts_alert_public_idx)
    and the scheduled ones whose time has come but which the minute's release has not yet
    marked published (alerts_alert_scheduled_idx; a handful at most). Tuples, not models:
    a poller that already has the feed costs these and the updates' stamp, nothing more.
    """
    base = Alert.objects.filter(is_public=True)
    if area is not None:
        base = base.filter(_organisations_near(area))
    released = base.filter(status__in=[Alert.Status.PUBLISHED, Alert.Status.WITHDRAWN]).order_by("-published_at", "-pk")
    due = base.filter(status=Alert.Status.SCHEDULED, scheduled_for__lte=timezone.now()).order_by("-scheduled_for")
    rows = [*due.values_list(*WINDOW_FIELDS)[:limit], *released.values_list(*WINDOW_FIELDS)[:limit]]
    rows.sort(key=lambda row: (row[3] or row[4], row[0]), reverse=True)
    return rows[:limit]


def _alerts(rows: list[tuple]) -> list[Alert]:
    """The window's alerts themselves, with their organisations, in the window's order (one query)."""
    order = {row[0]: i for i, row in enumerate(rows)}
    alerts = Alert.objects.filter(pk__in=list(order)).select_related("organisation")
    return sorted(alerts, key=lambda a: order[a.pk])


def _followups() -> Prefetch:
    # Withdrawal notices went to the recipients only, with the officer's reason: never public.
    return Prefetch(
        "updates",
        queryset=AlertUpdate.objects.exclude(kind=AlertUpdate.Kind.WITHDRAWAL).order_by("created_at", "pk"),
        to_attr="public_updates",
    )


def _with_details(alerts: list[Alert], *, images: bool = True) -> list[Alert]:
    """Their public updates and (unless not wanted) pictures: a query each, however many alerts."""
    lookups = [_followups()]
    if images:
        lookups.append(Prefetch("images", queryset=AlertImage.objects.order_by("position", "pk")))
    prefetch_related_objects(alerts, *lookups)
    return alerts


# --- where an alert went


class Place:
    """A place an alert was sent to (or left out), as the feeds describe it. Its CAP form is
    worked out only when a CAP message needs it (the Atom feeds and the area test do not)."""

    def __init__(self, description: str, shape: Any, *, gss_code: str = "", circle: tuple | None = None) -> None:
        self.description = description
        self.shape = shape  # the exact shapely geometry, for "is it in this area's feed"
        self.gss_code = gss_code
        self.circle = circle  # (lon, lat, metres) for a circle

    @cached_property
    def cap_polygons(self) -> tuple[str, ...]:
        return () if self.circle else cap_polygons(self.shape)

    @cached_property
    def cap_circle(self) -> str:
        if not self.circle:
            return ""
        lon, lat, metres = self.circle
        return cap_circle(lon=lon, lat=lat, metres=metres)


def _gss(code: str) -> str:
    """The ONS GSS code (E05005004: a letter and eight digits), or "" for a made-up one."""
    return code if len(code) == 9 and code[0] in "EWSNK" and code[1:].isdigit() else ""


def cap_polygons(shape: Any) -> tuple[str, ...]:
    """CAP polygons for a shape: its outer rings, simplified to about 50 m, as "lat,lon" pairs,
    first pair repeated last. Holes are dropped: a CAP area cannot have them."""
    simple = shapely.simplify(shape, CAP_TOLERANCE, preserve_topology=True)
    if simple.is_empty:
        simple = shape
    parts = list(simple.geoms) if hasattr(simple, "geoms") else [simple]
    polygons = []
    for part in parts:
        ring = [f"{lat:.5f},{lon:.5f}" for lon, lat in part.exterior.coords]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        if len(ring) >= 4:
            polygons.append(" ".join(ring))
    return tuple(polygons)


def cap_circle(*, lon: float, lat: float, metres: float) -> str:
    """'lat,lon radius_km', the centre rounded to about 100 m and the radius widened to cover it."""
    radius_km = math.ceil((metres / 1000 + 0.1) * 10) / 10
    return f"{lat:.3f},{lon:.3f} {radius_km:.1f}"


def places_of(alerts: Iterable[Alert]) -> dict[int, list[tuple[Place, bool]]]:
    """Each alert's places, each with whether it was left out, by alert id. Two queries (the
    groups, then the areas) however many alerts; an area sent to by many is worked out once."""
    alerts = list(alerts)
    parts = [(alert, part, excluded) for alert in alerts for part, excluded in _parts(alert.audience)]
    group_ids = {p["group"] for _, p, _ in parts if "group" in p}
    group_area = (
        dict(CommunityGroup.objects.filter(pk__in=group_ids, area__isnull=False).values_list("pk", "area_id"))
        if group_ids
        else {}
    )
    area_ids = {p["area"] for _, p, _ in parts if "area" in p} | set(group_area.values())
    areas = (
        {a.pk: a for a in Area.objects.filter(pk__in=area_ids).only("code", "name", "level", "geometry")}
        if area_ids
        else {}
    )
    area_places: dict[int, Place | None] = {}
    places: dict[int, list[tuple[Place, bool]]] = {alert.pk: [] for alert in alerts}
    for alert, part, excluded in parts:
        area = areas.get(part["area"] if "area" in part else group_area.get(part.get("group")))
        if area is not None:
            if area.pk not in area_places:
                area_places[area.pk] = _area_place(area, drawn_by=alert.organisation.name)
            place = area_places[area.pk]
        else:
            place = _drawn_place(alert, part)
        if place is not None:
            places[alert.pk].append((place, excluded))
    return places


def _parts(audience: Any) -> Iterable[tuple[dict[str, Any], bool]]:
    if not isinstance(audience, dict):
        return
    for key, excluded in (("include", False), ("exclude", True)):
        for part in audience.get(key) or []:
            if isinstance(part, dict):
                yield part, excluded


def _shape(geojson: Any) -> Any:
    """A stored shape as shapely, without checking it again (it was checked when it was
    written); None if it no longer reads."""
    try:
        shape = shapely.geometry.shape(geojson)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException):
        return None
    return None if shape.is_empty else shape


def _area_place(area: Area, *, drawn_by: str) -> Place | None:
    shape = _shape(area.geometry)
    if shape is None:
        return None
    if area.level == Area.Level.CUSTOM:
        # A custom area's name is its organisation's own ("Drugs hotspot"), never published.
        # Only its own organisation may send to a custom area, so `drawn_by` is always its author.
        return Place(f"An area drawn by {drawn_by}", shape)
    return Place(area.name, shape, gss_code=_gss(area.code))


def _drawn_place(alert: Alert, part: dict[str, Any]) -> Place | None:
    """A drawn shape or circle; None for a group without an area, an earlier message's
    recipients or named members, which have no place."""
    try:
        if "polygon" in part:
            shape = _shape(part["polygon"])
            return Place(f"An area drawn by {alert.organisation.name}", shape) if shape is not None else None
        if "radius" in part:
            c = part["radius"]
            lon, lat, metres = float(c["lon"]), float(c["lat"]), float(c["metres"])
            km = f"{metres / 1000:.1f}".rstrip("0").rstrip(".")
            return Place(
                f"Within {km} km of a point drawn by {alert.organisation.name}",
                circle_polygon(lon=lon, lat=lat, metres=metres),
                circle=(lon, lat, metres),
            )
    except (KeyError, TypeError, ValueError):
        return None  # a shape that no longer reads (it was checked when it went out)
    return None


def _overlap(a: Any, b: Any) -> float:
    """How much of the smaller of two shapes lies in the other (0 to 1)."""
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    if ax0 > bx1 or bx0 > ax1 or ay0 > by1 or by0 > ay1:
        return 0.0
    smaller = min(a.area, b.area)
    if smaller <= 0:
        return 0.0
    if a.contains(b) or b.contains(a):
        return 1.0
    return a.intersection(b).area / smaller


def _covers(place: Any, area_shape: Any) -> bool:
    """Whether a left-out place takes in (nearly) all of the area."""
    if area_shape.area <= 0:
        return False
    return place.covers(area_shape) or place.intersection(area_shape).area / area_shape.area >= 1 - OVERLAP_SHARE


def _boxes_meet(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def alerts_in_area(alerts: list[Alert], area: Area) -> list[Alert]:
    """The alerts that belong in the area's feeds (see the module's docstring).

    Areas are placed by the area tree first: one that is this area, contains it or lies
    inside it overlaps it, with no geometry at all (a force area's feed, whose alerts go to
    its wards, parses no outline). Only the others whose bounding box meets this area's
    (neighbours, custom areas) and drawn shapes and circles are tested on their shapes,
    each once however many alerts went to it. Five queries at most, however many alerts:
    the groups' areas, where the areas sent to sit in the tree, the shapes of those near,
    where this area sits, and its own shape if a test needs it.
    """
    parts = [(alert, part, excluded) for alert in alerts for part, excluded in _parts(alert.audience)]
    group_ids = {p["group"] for _, p, _ in parts if "group" in p}
    group_area = (
        dict(CommunityGroup.objects.filter(pk__in=group_ids, area__isnull=False).values_list("pk", "area_id"))
        if group_ids
        else {}
    )
    area_ids = {p["area"] for _, p, _ in parts if "area" in p} | set(group_area.values())
    tree = ("parent_id", "parent__parent_id", "parent__parent__parent_id")
    above = {pk for pk in Area.objects.filter(pk=area.pk).values_list(*tree).get() if pk}
    box = (area.min_lon, area.min_lat, area.max_lon, area.max_lat)
    relation: dict[int, str] = {}
    for pk, *rest in Area.objects.filter(pk__in=area_ids).values_list(
        "pk", "min_lon", "min_lat", "max_lon", "max_lat", *tree
    ):
        corners, ancestors = tuple(rest[:4]), set(rest[4:])
        if pk == area.pk or pk in above:
            relation[pk] = "covers"  # this area, or one it lies in
        elif area.pk in ancestors:
            relation[pk] = "inside"
        else:
            relation[pk] = "near" if _boxes_meet(corners, box) else "apart"
    near = [pk for pk, how in relation.items() if how == "near"]
    shapes = {pk: _shape(g) for pk, g in Area.objects.filter(pk__in=near).values_list("pk", "geometry")} if near else {}

    feed: list[Any] = []  # this area's shape, read the first time a test needs it

    def feed_shape() -> Any:
        if not feed:
            shape = _shape(Area.objects.values_list("geometry", flat=True).get(pk=area.pk))
            if shape is not None:
                shapely.prepare(shape)
            feed.append(shape)
        return feed[0]

    overlaps: dict[int, bool] = {}
    covers: dict[int, bool] = {}

    def geometric(place: Any, excluded: bool) -> bool:
        memo, test = (covers, _covers) if excluded else (overlaps, lambda p, a: _overlap(p, a) >= OVERLAP_SHARE)
        if id(place) not in memo:
            try:
                memo[id(place)] = place is not None and feed_shape() is not None and test(place, feed_shape())
            except shapely.errors.GEOSException:  # a shape that no longer holds together places nothing
                memo[id(place)] = False
        return memo[id(place)]

    def belongs(alert: Alert) -> bool:
        sent_here, left_out = False, False
        for a, part, excluded in parts_of[alert.pk]:
            target = part["area"] if "area" in part else group_area.get(part["group"]) if "group" in part else None
            if target is not None:
                how = relation.get(target, "apart")
                hit = how in ("covers", "inside") if not excluded else how == "covers"
                if not hit and how == "near":
                    hit = geometric(shapes.get(target), excluded)
            elif "group" in part:
                hit = False  # a group without an area has no place
            else:
                place = drawn.setdefault(id(part), _drawn_place(a, part))
                hit = place is not None and geometric(place.shape, excluded)
            if excluded:
                left_out = left_out or hit
            else:
                sent_here = sent_here or hit
        return sent_here and not left_out

    drawn: dict[int, Place | None] = {}
    parts_of: dict[int, list] = {alert.pk: [] for alert in alerts}
    for alert, part, excluded in parts:
        parts_of[alert.pk].append((alert, part, excluded))
    return [alert for alert in alerts if belongs(alert)]


# --- text and links


class _TextFromHtml(HTMLParser):
    """The sanitised body as plain text: paragraphs apart, list items marked, links spelt out."""

    BLOCKS = {"p", "h2", "h3", "h4", "blockquote", "pre", "ul", "ol", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "a":
            self.href.append(dict(attrs).get("href") or "")
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and not "".join(self.out).rstrip().endswith(href):
                self.out.append(f" ({href})")
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def plain_text(body_html: str) -> str:
    """The sanitised body as plain text (CAP's description is text)."""
    parser = _TextFromHtml()
    parser.feed(body_html or "")
    parser.close()
    text = "\n".join(" ".join(line.split()) for line in "".join(parser.out).split("\n"))
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def alert_page_url(alert: Alert) -> str:
    return _absolute(reverse("alerts:view", kwargs={"pk": alert.pk}))


def _image_url(image: AlertImage) -> str:
    return _absolute(reverse("alerts:image", kwargs={"pk": image.alert_id, "image_pk": image.pk}))


# --- CAP 1.2


def cap_time(moment: datetime) -> str:
    """CAP's date-time: UK local time to the second with its offset; UTC written "-00:00" as CAP requires."""
    text = timezone.localtime(moment).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def cap_sender(alert: Alert) -> str:
    return f"{alert.organisation.slug}@{_site_host()}"


def cap_identifier(alert: Alert, *, update: AlertUpdate | None = None, withdrawn: bool = False) -> str:
    base = f"mcv-{alert.organisation.slug}-alert-{alert.pk}"
    if update is not None:
        return f"{base}-update-{update.pk}"
    return f"{base}-withdrawn" if withdrawn else base


@dataclass
class CapMessage:
    """One CAP message about an alert: the alert itself, an update or cancellation, or its withdrawal."""

    alert: Alert
    update: AlertUpdate | None = None
    withdrawn: bool = False
    places: list[tuple[Place, bool]] = field(default_factory=list)

    @property
    def identifier(self) -> str:
        return cap_identifier(self.alert, update=self.update, withdrawn=self.withdrawn)

    @property
    def sent(self) -> datetime:
        if self.withdrawn:
            return self.alert.withdrawn_at or self.alert.updated_at
        return self.update.created_at if self.update else self.alert.went_out_at

    @property
    def msg_type(self) -> str:
        if self.withdrawn or (self.update and self.update.kind == AlertUpdate.Kind.CANCELLATION):
            return "Cancel"
        return "Update" if self.update else "Alert"

    @property
    def headline(self) -> str:
        if self.withdrawn:
            return f"Withdrawn by {self.alert.organisation.name}"
        if self.update is None:
            return self.alert.title
        label = "Cancelled" if self.update.kind == AlertUpdate.Kind.CANCELLATION else "Update"
        return f"{label}: {self.alert.title}"

    @property
    def url(self) -> str:
        if self.withdrawn:
            return _absolute(reverse("feeds:cap-withdrawn", kwargs={"pk": self.alert.pk}))
        if self.update is not None:
            return _absolute(reverse("feeds:cap-update", kwargs={"pk": self.alert.pk, "update_pk": self.update.pk}))
        return _absolute(reverse("feeds:cap-alert", kwargs={"pk": self.alert.pk}))

    def earlier(self) -> list[CapMessage]:
        """The messages this one refers to: the alert and the updates before this one."""
        if self.update is None and not self.withdrawn:
            return []
        updates = getattr(self.alert, "public_updates", [])
        before = [
            u for u in updates if self.withdrawn or (u.created_at, u.pk) < (self.update.created_at, self.update.pk)
        ]
        return [CapMessage(self.alert), *(CapMessage(self.alert, update=u) for u in before)]

    def xml(self) -> bytes:
        alert = self.alert
        root = ET.Element(f"{{{CAP_NS}}}alert")

        def add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
            element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
            if text is not None:
                element.text = text
            return element

        add(root, "identifier", self.identifier)
        add(root, "sender", cap_sender(alert))
        add(root, "sent", cap_time(self.sent))
        add(root, "status", "Actual")
        add(root, "msgType", self.msg_type)
        add(root, "source", settings.SITE_NAME)
        add(root, "scope", "Public")
        if self.withdrawn:
            add(root, "note", f"Withdrawn by {alert.organisation.name}: it no longer stands.")
        earlier = self.earlier()
        if earlier:
            add(root, "references", " ".join(f"{cap_sender(alert)},{m.identifier},{cap_time(m.sent)}" for m in earlier))
        add(root, "incidents", cap_identifier(alert))
        if not self.withdrawn:
            self._info(add(root, "info"), add)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)

    def _info(self, info: ET.Element, add: Callable[..., ET.Element]) -> None:
        alert, update = self.alert, self.update
        cancelled = update is not None and update.kind == AlertUpdate.Kind.CANCELLATION
        urgency, severity, certainty = PRIORITY_TO_CAP.get(alert.priority, PRIORITY_TO_CAP[3])
        add(info, "language", "en-GB")
        add(info, "category", CATEGORY_TO_CAP.get(alert.category, "Other"))
        event = alert.get_category_display()
        add(info, "event", f"{event} (appeal for information)" if alert.kind == Alert.Kind.APPEAL else event)
        if cancelled:
            add(info, "responseType", "AllClear")
            urgency = "Past"
        add(info, "urgency", urgency)
        add(info, "severity", severity)
        add(info, "certainty", certainty)
        code = add(info, "eventCode")
        add(code, "valueName", "mcv-category")
        add(code, "value", alert.category)
        add(info, "senderName", alert.organisation.name)
        add(info, "headline", self.headline)
        add(info, "description", update.body if update else plain_text(alert.body_html))
        add(info, "web", alert_page_url(alert))
        parameter = add(info, "parameter")
        add(parameter, "valueName", "mcv-priority")
        add(parameter, "value", str(alert.priority))
        if update is None:
            for image in alert.images.all():
                resource = add(info, "resource")
                add(resource, "resourceDesc", image.alt_text)
                add(resource, "mimeType", image.content_type)
                add(resource, "size", str(image.size))
                add(resource, "uri", _image_url(image))
        for place, excluded in self.places:
            if excluded or not (place.cap_polygons or place.cap_circle):
                continue
            where = add(info, "area")
            add(where, "areaDesc", place.description)
            for polygon in place.cap_polygons:
                add(where, "polygon", polygon)
            if place.cap_circle:
                add(where, "circle", place.cap_circle)
            if place.gss_code:
                geocode = add(where, "geocode")
                add(geocode, "valueName", "GSS")
                add(geocode, "value", place.gss_code)


def cap_messages(alert: Alert, places: list[tuple[Place, bool]] | None = None) -> list[CapMessage]:
    """The CAP messages an alert stands for now: itself and its updates, or its withdrawal."""
    if alert.kind not in CAP_KINDS:
        return []
    if alert.status == Alert.Status.WITHDRAWN:
        return [CapMessage(alert, withdrawn=True, places=places)]
    return [
        CapMessage(alert, places=places),
        *(CapMessage(alert, update=u, places=places) for u in getattr(alert, "public_updates", [])),
    ]


# --- the feeds' state: what the ETag is worked out from


@dataclass
class FeedState:
    etag: str
    last_modified: datetime | None
    rows: list[tuple] = field(default_factory=list)  # a list feed's window (WINDOW_FIELDS)
    alerts: list[Alert] = field(default_factory=list)  # a CAP message's one alert
    area: Area | None = None  # an area feed's area (without its shape)


def _stamp(rows: list[tuple], *extra: Any) -> tuple[str, datetime | None]:
    """An ETag and Last-Modified for a window of alerts (WINDOW_FIELDS tuples): anything that
    changes what a feed shows (an alert out, withdrawn or released, an update sent) changes
    them. One query, for the updates."""
    updates = (
        AlertUpdate.objects.filter(alert__in=[row[0] for row in rows])
        .exclude(kind=AlertUpdate.Kind.WITHDRAWAL)
        .aggregate(n=Count("pk"), latest=Max("created_at"))
        if rows
        else {"n": 0, "latest": None}
    )
    moments = [m for row in rows for m in row[2:] if m] + ([updates["latest"]] if updates["latest"] else [])
    digest = hashlib.sha256(FEEDS_VERSION.encode())
    for row in rows:
        digest.update(";".join(m.isoformat() if isinstance(m, datetime) else str(m) for m in row).encode())
    digest.update(f"|{updates['n']}:{updates['latest']}:{extra}".encode())
    return digest.hexdigest()[:40], max(moments) if moments else None


def _row(alert: Alert) -> tuple:
    return tuple(getattr(alert, "pk" if name == "pk" else name) for name in WINDOW_FIELDS)


def _public_area(code: str) -> Area:
    # Its shape only when a feed is built: a poller asking again needs none of it.
    area = Area.objects.filter(level__in=PUBLIC_LEVELS, code=code).defer("geometry").first()
    if area is None:
        raise Http404("No such area.")
    return area


def _list_state(request: HttpRequest, code: str | None = None) -> FeedState:
    area = _public_area(code) if code is not None else None
    rows = public_window(area=area, limit=AREA_WINDOW if area else SITE_WINDOW)
    etag, last_modified = _stamp(rows, area.pk if area else None, area.updated_at.isoformat() if area else None)
    return FeedState(etag, last_modified, rows=rows, area=area)


def _alert_state(*, pk: int, withdrawn: bool, update_pk: int | None = None) -> FeedState:
    """One alert with CAP messages (an alert or appeal, public and out), withdrawn or not as
    asked, and, if asked, one of its public updates; a 404 otherwise."""
    alerts = Alert.objects.filter(_public_live(), pk=pk, kind__in=CAP_KINDS).select_related("organisation")
    if withdrawn:
        alerts = alerts.filter(status=Alert.Status.WITHDRAWN)
    else:
        alerts = alerts.exclude(status=Alert.Status.WITHDRAWN)
    alert = alerts.first()
    if alert is None:
        raise Http404("No such public alert.")
    if update_pk is not None:
        public_updates = AlertUpdate.objects.exclude(kind=AlertUpdate.Kind.WITHDRAWAL)
        if not public_updates.filter(pk=update_pk, alert=alert).exists():
            raise Http404("No such update.")
    etag, last_modified = _stamp([_row(alert)])
    return FeedState(etag, last_modified, alerts=[alert])


# --- rendering


def _entries(state: FeedState) -> list[Alert]:
    """The window's alerts, newest first; only those of the area if the feed has one."""
    alerts = _alerts(state.rows)
    if state.area is not None:
        alerts = alerts_in_area(alerts, state.area)
    return alerts


def _feed_title(state: FeedState, what: str) -> str:
    where = f" for {state.area.name}" if state.area else ""
    return f"{settings.SITE_NAME}: {what}{where}"


def _atom_summary(alert: Alert) -> str:
    """The entry's HTML: the body (sanitised when it was written), when and where for an event,
    links, and each update. Everything not already clean HTML is escaped here."""
    parts = [alert.body_html]
    if alert.kind == Alert.Kind.EVENT and alert.event_starts_at:
        when = date_format(timezone.localtime(alert.event_starts_at), "l j F Y, H:i")
        parts.append(
            f"<p><strong>When:</strong> {escape(when)}. <strong>Where:</strong> {escape(alert.event_place)}.</p>"
        )
    if alert.links:
        items = "".join(f'<li><a href="{escape(link["url"])}">{escape(link["title"])}</a></li>' for link in alert.links)
        parts.append(f"<ul>{items}</ul>")
    for update in getattr(alert, "public_updates", []):
        label = "Cancelled" if update.kind == AlertUpdate.Kind.CANCELLATION else "Update"
        at = date_format(timezone.localtime(update.created_at), "j F Y, H:i")
        parts.append(f"<h2>{label}, {escape(at)}</h2>{linebreaks(update.body, autoescape=True)}")
    return "\n".join(parts)


def tag_uri(moment: datetime, name: str) -> str:
    """A stable Atom id (RFC 4151): the site, the day it first went out, and what it is."""
    return f"tag:{_site_host()},{timezone.localtime(moment):%Y-%m-%d}:{name}"


def render_atom(request: HttpRequest, state: FeedState) -> bytes:
    feed = Atom1Feed(
        title=_feed_title(state, "public alerts"),
        link=_absolute(reverse("alerts:public_list")),
        feed_url=_absolute(request.path),
        feed_guid=_absolute(request.path),
        description="Public alerts, appeals, news and events from the police and their partners.",
        language="en-GB",
        author_name=settings.SITE_NAME,
    )
    shown = _with_details([a for a in _entries(state) if a.status != Alert.Status.WITHDRAWN][:FEED_ENTRIES])
    for alert in shown:
        updates = getattr(alert, "public_updates", [])
        feed.add_item(
            title=alert.title,
            link=alert_page_url(alert),
            unique_id=tag_uri(alert.went_out_at, f"alerts/{alert.pk}"),
            description=_atom_summary(alert),
            pubdate=alert.went_out_at,
            updateddate=updates[-1].created_at if updates else alert.went_out_at,
            author_name=alert.organisation.name,
            categories=[alert.get_kind_display(), alert.get_category_display(), alert.priority_label],
            enclosures=[Enclosure(_image_url(i), str(i.size), i.content_type) for i in alert.images.all()],
        )
    return feed.writeString("utf-8").encode()


class CapIndexFeed(Atom1Feed):
    """An Atom feed whose entries are CAP messages: the link of each is its CAP document
    (type application/cap+xml), with the alert's page as a related link."""

    def add_item_elements(self, handler, item) -> None:
        handler.addQuickElement("title", item["title"])
        handler.addQuickElement("link", "", {"href": item["link"], "rel": "alternate", "type": "application/cap+xml"})
        if item.get("page"):
            handler.addQuickElement("link", "", {"href": item["page"], "rel": "related", "type": "text/html"})
        handler.addQuickElement("published", rfc3339_date(item["pubdate"]))
        handler.addQuickElement("updated", rfc3339_date(item["updateddate"]))
        handler.startElement("author", {})
        handler.addQuickElement("name", item["author_name"])
        handler.endElement("author")
        handler.addQuickElement("id", item["unique_id"])
        handler.addQuickElement("summary", item["description"])
        for category in item["categories"]:
            handler.addQuickElement("category", "", {"term": category})


def render_cap_index(request: HttpRequest, state: FeedState) -> bytes:
    feed = CapIndexFeed(
        title=_feed_title(state, "public alerts (CAP 1.2)"),
        link=_absolute(reverse("alerts:public_list")),
        feed_url=_absolute(request.path),
        feed_guid=_absolute(request.path),
        description="Public alerts and appeals as OASIS CAP 1.2 messages: each entry links to one.",
        language="en-GB",
        author_name=settings.SITE_NAME,
    )
    alerts = [a for a in _entries(state) if a.kind in CAP_KINDS]
    _with_details([a for a in alerts if a.status != Alert.Status.WITHDRAWN], images=False)
    messages = [m for alert in alerts for m in cap_messages(alert)]
    messages.sort(key=lambda m: (m.sent, m.identifier), reverse=True)
    for message in messages[:CAP_INDEX_ENTRIES]:
        alert = message.alert
        sent = timezone.localtime(message.sent)
        summary = "" if message.withdrawn else (message.update.body if message.update else plain_text(alert.body_html))
        feed.add_item(
            title=message.headline,
            link=message.url,
            page=None if message.withdrawn else alert_page_url(alert),
            unique_id=tag_uri(message.sent, message.identifier),
            description=summary[:500],
            pubdate=sent,
            updateddate=sent,
            author_name=alert.organisation.name,
            categories=[message.msg_type, CATEGORY_TO_CAP.get(alert.category, "Other")],
        )
    return feed.writeString("utf-8").encode()


def render_cap_alert(request: HttpRequest, state: FeedState) -> bytes:
    (alert,) = _with_details(state.alerts)
    return CapMessage(alert, places=places_of([alert])[alert.pk]).xml()


def render_cap_update(request: HttpRequest, state: FeedState, update_pk: int) -> bytes:
    (alert,) = _with_details(state.alerts)
    update = next(u for u in alert.public_updates if u.pk == update_pk)  # its existence was checked
    return CapMessage(alert, update=update, places=places_of([alert])[alert.pk]).xml()


def render_cap_withdrawn(request: HttpRequest, state: FeedState) -> bytes:
    (alert,) = _with_details(state.alerts)
    return CapMessage(alert, withdrawn=True).xml()


# --- the views


def public_feed(
    load: Callable[..., FeedState], render: Callable[..., bytes], content_type: str
) -> Callable[..., HttpResponse]:
    """A public, cacheable feed view: GET and HEAD only; ETag and Last-Modified from `load`
    (a 304 when the poller has it already); the body built by `render`, kept under its ETag."""

    def state(request: HttpRequest, **kwargs: Any) -> FeedState:
        found = getattr(request, "_mcv_feed_state", None)
        if found is None:
            found = request._mcv_feed_state = load(request, **kwargs)
        return found

    @require_safe
    @cache_control(public=True, max_age=FEED_MAX_AGE)
    @condition(
        etag_func=lambda request, **kwargs: state(request, **kwargs).etag,
        last_modified_func=lambda request, **kwargs: state(request, **kwargs).last_modified,
    )
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        current = state(request, **kwargs)
        key = f"feeds:{FEEDS_VERSION}:{request.path}:{current.etag}"
        body = cache.get(key)
        if body is None:
            body = render(request, current, **{k: v for k, v in kwargs.items() if k == "update_pk"})
            cache.set(key, body, BODY_CACHE_SECONDS)
        response = HttpResponse(body, content_type=content_type)
        # Public data, no credentials: any site may read it from a browser.
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return view


alerts_atom = public_feed(_list_state, render_atom, ATOM_CONTENT_TYPE)
cap_index = public_feed(_list_state, render_cap_index, ATOM_CONTENT_TYPE)
cap_alert = public_feed(lambda request, pk: _alert_state(pk=pk, withdrawn=False), render_cap_alert, CAP_CONTENT_TYPE)
cap_update = public_feed(
    lambda request, pk, update_pk: _alert_state(pk=pk, withdrawn=False, update_pk=update_pk),
    render_cap_update,
    CAP_CONTENT_TYPE,
)
cap_withdrawn = public_feed(
    lambda request, pk: _alert_state(pk=pk, withdrawn=True), render_cap_withdrawn, CAP_CONTENT_TYPE
)
