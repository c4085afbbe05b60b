"""Who a message is for: the audience an officer draws, checked, and resolved in the database.

An audience spec is what a dispatch keeps as its snapshot:

    {"include": [part, …], "exclude": [part, …], "interest_only": bool}

where a part is one of

    {"area": <Area id>}              everyone who lives there (the materialised AreaMember)
    {"group": <CommunityGroup id>}   the group's active members
    {"polygon": <GeoJSON Polygon or MultiPolygon>}   a shape drawn on the map
    {"radius": {"lon": …, "lat": …, "metres": …}}     a circle around a point
    {"dispatch": <Dispatch id>}      whoever got that earlier message (an update or a
                                     cancellation reaches exactly the original's audience)
    {"members": [<Member id>, …]}    these members (a footage request to chosen camera
                                     owners, an answer to one resident's reply)

The audience is everyone in any included part and in no excluded part, narrowed to
the residents who can be messaged by the organisation: active, not erased, with a
verified email address (an address nobody proved is theirs is no subscriber), and
opted in to this organisation. With `interest_only` and a category, it is narrowed
again to those who chose that interest.

Everything is one SQL query built by the ORM: no Python loop over members. Drawn
shapes and circles are the one exception that needs Python, and only for the exact
test: the database picks the members inside the shape's bounding box (an index
range scan), shapely or haversine decides on the whole array at once, and the ids
go back into the query as ONE parameter (a PostgreSQL array, or a JSON array that
SQLite unpacks), so a shape holding a million members is still one query.

The officer's live count skips that round trip (see `_size_with_shapes`): the members
inside the boxes come back once with a bit per channel, and numpy counts them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Case, Count, Exists, F, Func, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from core.ids import id_from
from groups.geometry import geometry_from_geojson, haversine_m, points_covered
from groups.models import AreaMember, Membership
from members.models import Member, MemberInterest, Organisation
from members.selectors import members_reachable_by

from .models import Delivery, Dispatch, PushSubscription
from .push import push_configured

# What an officer may draw: enough parts for a ward minus a few hotspots, a circle no
# wider than a county. Larger audiences are built from areas, not circles.
MAX_PARTS = 50
MAX_RADIUS_METRES = 100_000
MAX_LISTED_MEMBERS = 10_000
_EARTH_RADIUS_M = 6_371_008.8

# The channels a dispatch is delivered on (web push only to members with a browser
# subscribed, and only while the site has VAPID keys: see channel_conditions).
DELIVERED_CHANNELS = ("inbox", "email", "sms", "push")


# --- the spec: checked once, where an officer or the API hands it in


def audience_spec_clean(*, spec: Any) -> dict[str, Any]:
    """Check an audience spec and return it normalised; raise ValidationError saying what is wrong.

    Ids become ints, shapes are parsed (an invalid polygon is refused here, not at
    fan-out), and an audience with nothing to include is refused: a message to
    nobody is always a mistake.
    """
    if not isinstance(spec, dict):
        raise ValidationError("The audience must be an object with include and exclude lists.")
    unknown = set(spec) - {"include", "exclude", "interest_only"}
    if unknown:
        raise ValidationError(f"Unknown audience keys: {', '.join(sorted(unknown))}.")
    include = [_part_clean(p) for p in _parts(spec.get("include"), "include")]
    exclude = [_part_clean(p) for p in _parts(spec.get("exclude"), "exclude")]
    if not include:
        raise ValidationError("Choose at least one area, group, shape or circle to send to.")
    if len(include) + len(exclude) > MAX_PARTS:
        raise ValidationError(f"An audience has at most {MAX_PARTS} parts.")
    return {"include": include, "exclude": exclude, "interest_only": bool(spec.get("interest_only", False))}


def _parts(value: Any, name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"The audience's {name} must be a list.")
    return value


def _part_clean(part: Any) -> dict[str, Any]:
    if not isinstance(part, dict) or len(part) != 1:
        raise ValidationError("Each audience part is one of area, group, polygon, radius, dispatch or members.")
    ((kind, value),) = part.items()
    if kind == "members":
        if not isinstance(value, list) or not value or len(value) > MAX_LISTED_MEMBERS:
            raise ValidationError(f"Members must be a list of 1 to {MAX_LISTED_MEMBERS:,} ids.")
        ids = [id_from(v) for v in value]
        if None in ids:
            raise ValidationError("Members must be given by their ids.")
        return {"members": sorted(set(ids))}
    if kind in ("area", "group", "dispatch"):
        pk = id_from(value)
        if pk is None:
            raise ValidationError(f"The {kind} must be given by its id.")
        return {kind: pk}
    if kind == "polygon":
        geometry_from_geojson(value)
        return {"polygon": value}
    if kind == "radius":
        try:
            lon, lat, metres = (float(value[k]) for k in ("lon", "lat", "metres"))
        except (TypeError, KeyError, ValueError) as exc:
            raise ValidationError("A circle needs lon, lat and metres.") from exc
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError("The circle's centre is not on the map.")
        if not (0 < metres <= MAX_RADIUS_METRES):
            raise ValidationError(f"A circle's radius is between 1 and {MAX_RADIUS_METRES:,} metres.")
        return {"radius": {"lon": lon, "lat": lat, "metres": metres}}
    raise ValidationError(f"Unknown audience part: {kind}.")


# --- resolution


@dataclass(frozen=True)
class _Shape:
    """A drawn polygon or a circle: its bounding box for SQL, its exact test for numpy."""

    box: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    polygon: Any = None
    centre: tuple[float, float] | None = None
    metres: float = 0.0

    @classmethod
    def from_part(cls, part: dict[str, Any]) -> _Shape:
        if "polygon" in part:
            geom = geometry_from_geojson(part["polygon"])
            return cls(box=geom.bounds, polygon=geom)
        circle = part["radius"]
        lon, lat, metres = float(circle["lon"]), float(circle["lat"]), float(circle["metres"])
        # A little wider than the circle (1%): the box only has to contain it.
        dlat = math.degrees(metres / _EARTH_RADIUS_M) * 1.01
        coslat = max(math.cos(math.radians(lat)), 1e-6)
        dlon = min(180.0, dlat / coslat)
        return cls(box=(lon - dlon, lat - dlat, lon + dlon, lat + dlat), centre=(lon, lat), metres=metres)

    def box_q(self) -> Q:
        min_lon, min_lat, max_lon, max_lat = self.box
        return Q(longitude__gte=min_lon, longitude__lte=max_lon, latitude__gte=min_lat, latitude__lte=max_lat)

    def covers(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        min_lon, min_lat, max_lon, max_lat = self.box
        inside = (lons >= min_lon) & (lons <= max_lon) & (lats >= min_lat) & (lats <= max_lat)
        hits = np.zeros(len(lons), dtype=bool)
        idx = np.flatnonzero(inside)
        if self.polygon is not None:
            hits[idx] = points_covered(self.polygon, lons[idx], lats[idx])
        else:
            hits[idx] = haversine_m(self.centre[0], self.centre[1], lons[idx], lats[idx]) <= self.metres
        return hits


def members_messageable(*, organisation: Organisation | int) -> QuerySet[Member]:
    """The residents this organisation may message at all (before any targeting)."""
    org = organisation if isinstance(organisation, Organisation) else Organisation(pk=organisation)
    return members_reachable_by(organisation=org).filter(
        Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)),
        role=Member.Role.RESIDENT,
    )


def audience_members(
    *, spec: dict[str, Any] | Dispatch, organisation: Organisation | int | None = None, category: str | None = None
) -> QuerySet[Member]:
    """The residents an audience reaches, as one query (a lazy QuerySet of Member).

    `spec` is an audience spec, or a Dispatch (its snapshot, organisation and category
    are used unless given). Runs at most one query now, and only if the spec has drawn
    shapes or circles (the bounding-box prefilter, whose result the returned query
    carries). An audience that includes nothing is `Member.objects.none()`.
    """
    if isinstance(spec, Dispatch):
        dispatch = spec
        spec = dispatch.audience
        organisation = dispatch.organisation_id if organisation is None else organisation
        category = dispatch.category if category is None else category
    if organisation is None:
        raise TypeError("An audience belongs to an organisation: pass `organisation`.")
    base = members_messageable(organisation=organisation)
    include, exclude = spec.get("include") or [], spec.get("exclude") or []
    shapes = _shapes(include, exclude)
    covered = _members_in_shapes(base, shapes) if shapes else {}

    wanted = _union(include, covered)
    if wanted is None:
        return Member.objects.none()
    members = base.filter(wanted)
    unwanted = _union(exclude, covered)
    if unwanted is not None:
        members = members.exclude(unwanted)
    interest = _interest(spec, category)
    if interest is not None:
        members = members.filter(interest)
    return members


def audience_member_ids(
    *, spec: dict[str, Any] | Dispatch, organisation: Organisation | int | None = None, category: str | None = None
) -> QuerySet[Member]:
    """The ids of the residents an audience reaches (a lazy `values_list("pk", flat=True)`)."""
    return audience_members(spec=spec, organisation=organisation, category=category).values_list("pk", flat=True)


def channel_conditions(*, priority: int, prefix: str = "") -> dict[str, Q]:
    """Which channels a message of this priority goes to, for a member (a Q per channel).

    The one place these rules live: the officer's live counts, the fan-out's INSERT and
    the sender's last check before sending all use them. `prefix` is the path to the
    member from the model queried ("member__" from a Delivery).
    """
    from .services import URGENT_PRIORITY

    p = prefix
    # Texts and pushes interrupt. A member who chose the daily digest gets a non-urgent
    # message in their one digest email and their inbox, never as a text or a push
    # of its own (one text or push a day listing ten messages helps nobody).
    interrupts = Q() if priority <= URGENT_PRIORITY else ~Q(**{f"{p}preferences__frequency": "daily_digest"})
    if push_configured():
        has_browser = Exists(PushSubscription.objects.filter(member=OuterRef(f"{p}pk")))
        push = Q(**{f"{p}preferences__channel_push": True}) & Q(has_browser) & interrupts
    else:
        push = Q(**{f"{p}pk__isnull": True})  # nobody: without VAPID keys nothing can be pushed
    return {
        "inbox": Q(**{f"{p}preferences__channel_inbox": True}),
        "email": Q(**{f"{p}preferences__channel_email": True}),
        # A text only if they want texts, have a number, and the message is at least
        # as urgent as the lowest priority they said is worth a text.
        "sms": Q(**{f"{p}preferences__channel_sms": True, f"{p}preferences__sms_lowest_priority__gte": priority})
        & ~Q(**{f"{p}phone": ""})
        & interrupts,
        # A push only to members who want pushes and have subscribed a browser.
        "push": push,
    }


def audience_size_by_channel(
    *, spec: dict[str, Any], organisation: Organisation | int, category: str = "", priority: int
) -> dict[str, int]:
    """How many members an audience reaches, in all and per channel, for the officer composing.

    `{"members": 812, "inbox": 790, "email": 801, "sms": 37, "push": 120}`. One aggregate query
    (with drawn shapes or circles: one query for the members in their boxes, and a second
    one only if other parts, areas, groups…, are included too); officers see it update as
    they draw. The same members as `audience_members`, which the fan-out sends to.
    """
    conditions = channel_conditions(priority=priority)
    include, exclude = spec.get("include") or [], spec.get("exclude") or []
    shapes = _shapes(include, exclude)
    if shapes:
        return _size_with_shapes(spec, shapes, organisation=organisation, category=category, conditions=conditions)
    members = audience_members(spec=spec, organisation=organisation, category=category)
    if members.query.is_empty():
        return {"members": 0, **dict.fromkeys(DELIVERED_CHANNELS, 0)}
    return _size(members, conditions)


def _size(members: QuerySet[Member], conditions: dict[str, Q]) -> dict[str, int]:
    return members.aggregate(
        members=Count("pk"), **{channel: Count("pk", filter=conditions[channel]) for channel in DELIVERED_CHANNELS}
    )


def _size_with_shapes(
    spec: dict[str, Any],
    shapes: dict[int, _Shape],
    *,
    organisation: Organisation | int,
    category: str,
    conditions: dict[str, Q],
) -> dict[str, int]:
    """The live count of an audience with drawn shapes or circles, without sending ids back.

    `audience_members` hands the ids the exact test kept back to SQL, which the fan-out's
    INSERT … SELECT needs; for a count that round trip cost more than all the rest (half
    a district, 120,000 ids: the planner guesses 200 rows, probes the primary key once per
    id, then joins the preferences without parallel workers). Here the one scan of the
    shapes' boxes also brings each member's channels and whether the audience's other
    parts (areas, groups, …, the interest) hold them, as bits; numpy tests the shapes and
    counts. Members outside every box can only be reached by those other parts: SQL
    counts them, in a second query, only if such parts are included.
    """
    base = members_messageable(organisation=organisation)
    include, exclude = spec.get("include") or [], spec.get("exclude") or []
    other_in = _union([p for p in include if id(p) not in shapes], {})
    other_out = _union([p for p in exclude if id(p) not in shapes], {})
    interest = _interest(spec, category)
    tests = {channel: conditions[channel] for channel in DELIVERED_CHANNELS}
    for name, condition in (("in", other_in), ("out", other_out), ("interest", interest)):
        if condition is not None:
            tests[name] = condition
    in_boxes = _in_boxes(shapes.values())
    ids, lons, lats, bits = _points(base.filter(in_boxes), tests=list(tests.values()))
    flag = {name: (bits >> i) & 1 == 1 for i, name in enumerate(tests)}
    nobody = np.zeros(len(ids), dtype=bool)
    wanted = flag.get("in", nobody).copy()
    unwanted = flag.get("out", nobody).copy()
    for part in include:
        if id(part) in shapes:
            wanted |= shapes[id(part)].covers(lons, lats)
    for part in exclude:
        if id(part) in shapes:
            unwanted |= shapes[id(part)].covers(lons, lats)
    reached = wanted & ~unwanted & flag.get("interest", ~nobody)
    counts = {"members": int(reached.sum()), **{c: int((reached & flag[c]).sum()) for c in DELIVERED_CHANNELS}}
    if other_in is None:
        return counts
    outside = base.filter(other_in).exclude(in_boxes)
    if other_out is not None:
        outside = outside.exclude(other_out)
    if interest is not None:
        outside = outside.filter(interest)
    more = _size(outside, conditions)
    return {name: count + more[name] for name, count in counts.items()}


def _union(parts: Sequence[dict[str, Any]], covered: dict[int, np.ndarray]) -> Q | None:
    """One condition matching anyone in any of the parts; None if it can match nobody."""
    areas = [p["area"] for p in parts if "area" in p]
    groups = [p["group"] for p in parts if "group" in p]
    earlier = [p["dispatch"] for p in parts if "dispatch" in p]
    listed = [m for p in parts if "members" in p for m in p["members"]]
    in_shapes = [covered[id(p)] for p in parts if id(p) in covered]
    terms = []
    if earlier:
        # Who got it: a copy withdrawn before it went out (cancelled) is not "got".
        got = Delivery.objects.filter(dispatch_id__in=earlier, member=OuterRef("pk")).exclude(
            status=Delivery.Status.CANCELLED
        )
        terms.append(Q(Exists(got)))
    if listed:
        terms.append(_ids_in(np.array(sorted(set(listed)), dtype="int64")))
    if areas:
        terms.append(Q(Exists(AreaMember.objects.filter(area_id__in=areas, member=OuterRef("pk")))))
    if groups:
        active = Membership.objects.filter(group_id__in=groups, status=Membership.Status.ACTIVE)
        terms.append(Q(Exists(active.filter(member=OuterRef("pk")))))
    shape_ids = np.unique(np.concatenate(in_shapes)) if in_shapes else np.zeros(0, dtype="int64")
    if len(shape_ids):
        terms.append(_ids_in(shape_ids))
    if not terms:
        return None
    condition = terms[0]
    for term in terms[1:]:
        condition |= term
    return condition


class _AnyOf(Func):
    """`id = ANY(<array>)` (PostgreSQL): ONE parameter however many ids there are. The
    planner sees how many the array holds and hashes it (PostgreSQL 14+); the subquery
    `id IN (SELECT unnest(…))` it replaces was planned as 200 rows whatever it held, then
    probed the primary key once per id: 1.06 s against 0.45 s for the same count over
    212,000 ids (bench/alerts_audience.py's members, same run)."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s::bigint[]))"
    output_field = BooleanField()


def _ids_in(ids: np.ndarray) -> Q:
    """Members whose id is one of `ids`: one parameter, however many ids there are."""
    if connection.vendor == "postgresql":
        return Q(_AnyOf(F("pk"), Value(ids.tolist())))
    return Q(pk__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids.tolist())]))


def _shapes(include: Sequence[dict[str, Any]], exclude: Sequence[dict[str, Any]]) -> dict[int, _Shape]:
    """The drawn shapes and circles of an audience, by the id() of their part."""
    return {id(p): _Shape.from_part(p) for p in (*include, *exclude) if "polygon" in p or "radius" in p}


def _interest(spec: dict[str, Any], category: str | None) -> Q | None:
    """With `interest_only` and a category: only those who chose it (None: everyone)."""
    if not (spec.get("interest_only") and category):
        return None
    return Q(Exists(MemberInterest.objects.filter(member=OuterRef("pk"), interest=category)))


def _in_boxes(shapes: Iterable[_Shape]) -> Q:
    """Placed members inside the union of the shapes' bounding boxes (the SQL prefilter)."""
    boxes = Q()
    for shape in shapes:
        boxes |= shape.box_q()
    return boxes & Q(longitude__isnull=False, latitude__isnull=False)


def _members_in_shapes(base: QuerySet[Member], shapes: dict[int, _Shape]) -> dict[int, np.ndarray]:
    """For each shape, the ids of the reachable members inside it: one SQL scan of the
    union of their bounding boxes, then each shape's exact test on the arrays."""
    ids, lons, lats, _ = _points(base.filter(_in_boxes(shapes.values())))
    return {key: ids[shape.covers(lons, lats)] for key, shape in shapes.items()}


# Fixed-size big-endian records, as PostgreSQL's int8send/float8send/int4send write them.
_PG_POINT = np.dtype([("id", ">i8"), ("lon", ">f8"), ("lat", ">f8"), ("bits", ">i4")])


def _points(
    members: QuerySet[Member], *, tests: Sequence[Q] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ids, coordinates and test results of these (placed) members as numpy arrays (one query).

    Bit i of a member's `bits` says whether `tests[i]` holds for them (at most 31 tests).
    A test is a condition on the member as the ORM compiles it anywhere else (a NULL from
    a missing related row is "no", as in a filter).

    On PostgreSQL the server packs the rows into one bytea that numpy reads in place:
    a million rows as Python tuples would cost seconds, packed they cost a copy.
    """
    bits = Value(0)
    for i, test in enumerate(tests):
        bits = bits + Case(When(test, then=Value(1 << i)), default=Value(0))
    sql, params = (
        members.order_by()
        .values(p_id=F("pk"), p_lon=F("longitude"), p_lat=F("latitude"), p_bits=bits)
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT string_agg(int8send(t.p_id) || float8send(t.p_lon) || float8send(t.p_lat) "  # noqa: S608
                f"|| int4send(t.p_bits::int4), ''::bytea) FROM ({sql}) AS t",
                params,
            )
            blob = cursor.fetchone()[0]
            rec = np.frombuffer(blob or b"", dtype=_PG_POINT)
            return (
                rec["id"].astype("int64"),
                rec["lon"].astype("float64"),
                rec["lat"].astype("float64"),
                rec["bits"].astype("int64"),
            )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros(0, dtype="int64"), np.zeros(0), np.zeros(0), np.zeros(0, dtype="int64")
    ids, lons, lats, flags = zip(*rows, strict=True)
    return (
        np.array(ids, dtype="int64"),
        np.array(lons, dtype="float64"),
        np.array(lats, dtype="float64"),
        np.array(flags, dtype="int64"),
    )


__all__ = [
    "DELIVERED_CHANNELS",
    "audience_member_ids",
    "audience_members",
    "audience_size_by_channel",
    "audience_spec_clean",
    "channel_conditions",
    "members_messageable",
]
