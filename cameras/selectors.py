"""Reads of cameras, searches, requests and evidence, always scoped to the member asking.

The officer's search (`cameras_near`) is the one hot path: a million cameras across a
county, answered in milliseconds. A bounding-box prefilter turns the circle into a
few ranges on the (longitude strip, latitude, longitude) indexes (two partial indexes:
fixed cameras, and dashcams over their wider circle); the exact great-circle distance is then computed
in SQL for the few hundred rows inside the box only. bench/cameras.py times it
against the same query without the box.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from groups.geometry import points_covered
from groups.jurisdiction import circle_polygon, organisation_areas, organisation_territory, territory_bbox
from groups.models import Area
from members.models import Member, Organisation
from members.selectors import members_reachable_by
from notifications.audience import members_messageable

from .models import LONGITUDE_CELLS, Camera, CameraSearch, CustodyEntry, Evidence, FootageAsk, FootageRequest
from .permissions import can_register_cameras, can_search_cameras, can_see_coverage

EARTH_RADIUS_M = 6_371_008.8
# Points shown to officers: four decimal places of a degree, about 10 m.
POINT_PLACES = 4
COVERAGE_CACHE_SECONDS = 600


# --- a resident's own cameras and what they were asked


def cameras_of(*, member: Member) -> QuerySet[Camera]:
    """The member's own cameras (nobody else's, ever)."""
    if not can_register_cameras(member=member):
        return Camera.objects.none()
    return Camera.objects.filter(owner=member).order_by("created_at", "pk")


def cameras_due_confirmation(*, member: Member, now: datetime | None = None) -> QuerySet[Camera]:
    """The member's cameras last confirmed over CAMERA_CONFIRM_AFTER_DAYS ago."""
    now = now or timezone.now()
    return cameras_of(member=member).filter(confirmed_at__lte=now - timedelta(days=settings.CAMERA_CONFIRM_AFTER_DAYS))


def asks_of(*, member: Member) -> QuerySet[FootageAsk]:
    """The footage requests put to this member about their cameras, newest first."""
    if not can_register_cameras(member=member):
        return FootageAsk.objects.none()
    return (
        FootageAsk.objects.filter(owner=member)
        .exclude(status=FootageAsk.Status.ERASED)
        .select_related("request", "request__organisation", "camera")
        .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "pk")))
        .order_by("-created_at", "-pk")
    )


# --- the officer's search


@dataclass(frozen=True)
class CameraHit:
    """A camera found near an incident, as an officer sees it: what and where, never whose."""

    id: int
    kind: str
    kind_label: str
    facing: str
    covers: str
    retention_days: int
    latitude: float
    longitude: float
    distance_m: int
    kept_until: date | None  # the last day footage of the incident is still on it
    lapsed: bool  # footage of the incident has probably been recorded over already

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "facing": self.facing,
            "covers": self.covers,
            "retention_days": self.retention_days,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "distance_m": self.distance_m,
            "kept_until": self.kept_until.isoformat() if self.kept_until else None,
            "lapsed": self.lapsed,
        }


def cameras_findable_by(*, organisation: Organisation | int, now: datetime | None = None) -> QuerySet[Camera]:
    """The cameras an organisation's officers may find at all, before any place is asked.

    The owner is willing to be asked, confirmed the camera within the year and its grace
    period, and is someone the organisation may message: an active resident, opted in
    to it, with a verified email. A footage request reaches exactly these owners (the
    dispatch pipeline's audience has the same rule), so a search never shows a camera
    whose owner the request could not reach.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CAMERA_CONFIRM_AFTER_DAYS + settings.CAMERA_CONFIRM_GRACE_DAYS)
    reachable = members_messageable(organisation=organisation).filter(pk=OuterRef("owner_id"))
    return Camera.objects.filter(Exists(reachable), willing=True, confirmed_at__gte=cutoff)


def _box(lon: float, lat: float, metres: float) -> list[float]:
    """[min lat, max lat, min lon, max lon] holding a circle (a little wider, so it surely does)."""
    dlat = math.degrees(metres / EARTH_RADIUS_M) * 1.01
    dlon = min(180.0, dlat / max(math.cos(math.radians(abs(lat) + dlat)), 1e-6))
    return [lat - dlat, lat + dlat, lon - dlon, lon + dlon]


# The great-circle distance (haversine) in metres from a point to the camera, in SQL.
# Params: 2R, the point's latitude in radians, its cosine, its longitude in radians.
_T = Camera._meta.db_table
_DISTANCE = (
    f"(%s * ASIN(SQRT(POWER(SIN((RADIANS({_T}.latitude) - %s) / 2.0), 2) + "
    f"%s * COS(RADIANS({_T}.latitude)) * POWER(SIN((RADIANS({_T}.longitude) - %s) / 2.0), 2))))"
)
_BOX = f"{_T}.latitude >= %s AND {_T}.latitude <= %s AND {_T}.longitude >= %s AND {_T}.longitude <= %s"
# A box wider than this many strips (a search far wider than any officer's) skips the
# strips: the latitude band alone is then the cheaper scan.
_MAX_CELLS = 64


# The index's first expression (cameras.models.LONGITUDE_STRIP), written as Django writes
# it in the index, the multiplier a literal: PostgreSQL and SQLite use an expression index
# only for the same expression.
_STRIP = f"CAST(FLOOR(({_T}.longitude * {int(LONGITUDE_CELLS)})) AS integer)"


def _box_sql(box: list[float]) -> tuple[str, list]:
    """The box as SQL: the strips of longitude it crosses (the index's first expression),
    then its latitude and longitude ranges. The strips are worked out here as the
    database works them out (floor of longitude * LONGITUDE_CELLS)."""
    first, last = math.floor(box[2] * LONGITUDE_CELLS), math.floor(box[3] * LONGITUDE_CELLS)
    if last - first + 1 > _MAX_CELLS:
        return _BOX, box
    cells = list(range(first, last + 1))
    return f"{_STRIP} IN ({', '.join(['%s'] * len(cells))}) AND {_BOX}", [*cells, *box]


@functools.lru_cache(maxsize=256)
def _owner_reachable_sql(vendor: str, organisation_id: int) -> tuple[str, tuple]:
    """ "The camera's owner is someone the organisation may message", as compiled SQL.

    Compiled by the ORM from notifications' own rule (`members_messageable`, so the
    search and the footage request's audience cannot drift apart), once per organisation:
    it is the same for every search, and building it is most of what the ORM would cost.
    """
    reachable = members_messageable(organisation=organisation_id).filter(pk=OuterRef("owner_id"))
    sql, params = Camera.objects.filter(Exists(reachable)).order_by().query.sql_with_params()
    return sql.split(" WHERE ", 1)[1], tuple(params)


def cameras_near_sql(
    *,
    organisation: Organisation | int,
    lon: float,
    lat: float,
    metres: float,
    prefilter: bool = True,
    now: datetime | None = None,
    limit: int = 1000,
) -> tuple[str, list]:
    """The officer's search as one SQL statement (and its parameters): the cameras
    `cameras_findable_by` allows, within `metres` of the point (dashcams: whose owners live
    within `metres` + CAMERA_DASHCAM_HOME_METRES), nearest first.

    Written out rather than built through the ORM on each search: this is the hot path,
    and the ORM's building took longer than PostgreSQL's answering. The rules are
    `cameras_findable_by`'s (the tests hold the two to the same answers).

    The bounding boxes are the prefilter: each side of the OR reads its own partial
    (longitude strip, latitude, longitude) index, a latitude range in each strip the box
    crosses, so only the cameras in the box are read and only they get the exact
    distance. `prefilter=False` leaves them out (the same answer, by computing the
    distance to every camera): only bench/cameras.py asks for that.
    """
    now = now or timezone.now()
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    cutoff = now - timedelta(days=settings.CAMERA_CONFIRM_AFTER_DAYS + settings.CAMERA_CONFIRM_GRACE_DAYS)
    dashcam_metres = metres + settings.CAMERA_DASHCAM_HOME_METRES
    lat0 = math.radians(lat)
    distance = [2 * EARTH_RADIUS_M, lat0, math.cos(lat0), math.radians(lon)]
    reachable, reachable_params = _owner_reachable_sql(connection.vendor, org_id)
    where = f"{_T}.willing = %s AND {_T}.confirmed_at >= %s AND {reachable}"
    params: list = [True, connection.ops.adapt_datetimefield_value(cutoff), *reachable_params]
    if prefilter:
        fixed, fixed_params = _box_sql(_box(lon, lat, metres))
        dashcam, dashcam_params = _box_sql(_box(lon, lat, dashcam_metres))
        where += f" AND (({_T}.kind <> 'dashcam' AND {fixed}) OR ({_T}.kind = 'dashcam' AND {dashcam}))"
        params += [*fixed_params, *dashcam_params]
    where += f" AND {_DISTANCE} <= CASE WHEN {_T}.kind = 'dashcam' THEN %s ELSE %s END"
    params += [*distance, dashcam_metres, metres]
    sql = (
        f"SELECT {_T}.id, {_T}.kind, {_T}.facing, {_T}.covers, {_T}.retention_days, {_T}.latitude, "  # noqa: S608
        f"{_T}.longitude, {_DISTANCE} AS distance FROM {_T} WHERE {where} ORDER BY distance, {_T}.id LIMIT %s"
    )
    return sql, [*distance, *params, limit]


def cameras_near(
    *,
    organisation: Organisation | int,
    lon: float,
    lat: float,
    metres: float,
    incident_at: datetime | None = None,
    prefilter: bool = True,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[CameraHit]:
    """The cameras an organisation's officers find around a point, nearest first: one query.

    Only inside the organisation's areas (a circle crossing its boundary finds nothing
    beyond it), at most `limit` (CAMERA_SEARCH_MAX_RESULTS). With `incident_at`, each
    camera says until when it keeps footage of the incident, and whether that day has
    passed.
    """
    now = now or timezone.now()
    limit = settings.CAMERA_SEARCH_MAX_RESULTS if limit is None else limit
    territory = organisation_territory(organisation=organisation)
    if territory is None:
        return []
    # Cameras outside the organisation's area are dropped after the query: when the circle
    # crosses its boundary, ask for more so those do not crowd out cameras inside it.
    crosses = not territory.covers(circle_polygon(lon=lon, lat=lat, metres=metres))
    sql, params = cameras_near_sql(
        organisation=organisation,
        lon=lon,
        lat=lat,
        metres=metres,
        prefilter=prefilter,
        now=now,
        limit=limit * 5 if crosses else limit,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    inside = points_covered(territory, [r[6] for r in rows], [r[5] for r in rows])
    today = timezone.localdate(now)
    incident_day = timezone.localtime(incident_at).date() if incident_at is not None else None
    kinds = dict(Camera.Kind.choices)
    hits = []
    for row, keep in zip(rows, inside, strict=True):
        if not keep:
            continue
        if len(hits) == limit:
            break
        pk, kind, facing, covers, retention, lat_, lon_, distance = row
        kept_until = incident_day + timedelta(days=retention) if incident_day is not None else None
        hits.append(
            CameraHit(
                id=pk,
                kind=kind,
                kind_label=kinds[kind],
                facing=facing,
                covers=covers,
                retention_days=retention,
                latitude=round(lat_, POINT_PLACES),
                longitude=round(lon_, POINT_PLACES),
                distance_m=round(distance),
                kept_until=kept_until,
                lapsed=kept_until is not None and kept_until < today,
            )
        )
        if len(hits) == limit:
            break
    return hits


def camera_search_results(*, search: CameraSearch) -> list[CameraHit]:
    """A recorded search's results, worked out again from the cameras registered now."""
    return cameras_near(
        organisation=search.organisation_id,
        lon=search.longitude,
        lat=search.latitude,
        metres=search.radius_m,
        incident_at=search.incident_at,
    )


def searches_visible_to(*, viewer: Member) -> QuerySet[CameraSearch]:
    """An officer's organisation's camera searches (nobody else sees any)."""
    if not can_search_cameras(member=viewer):
        return CameraSearch.objects.none()
    return CameraSearch.objects.filter(organisation_id=viewer.organisation_id).select_related("officer")


# --- requests, answers, evidence


def requests_visible_to(*, viewer: Member) -> QuerySet[FootageRequest]:
    """The footage requests of an officer's organisation, each with its answer counts."""
    if not can_search_cameras(member=viewer):
        return FootageRequest.objects.none()
    return (
        FootageRequest.objects.filter(organisation_id=viewer.organisation_id)
        .select_related("created_by", "search")
        .annotate(
            ask_count=Count("asks", distinct=True),
            answered_count=Count("asks", filter=~Q(asks__status=FootageAsk.Status.AWAITING), distinct=True),
            footage_count=Count("asks", filter=Q(asks__status=FootageAsk.Status.FOOTAGE), distinct=True),
        )
        .order_by("-created_at", "-pk")
    )


def request_asks(*, request: FootageRequest) -> QuerySet[FootageAsk]:
    """A request's asks with their evidence, for the officer (the caller has the request in scope)."""
    return (
        request.asks.all()
        .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "pk")))
        .order_by("pk")
    )


def evidence_visible_to(*, viewer: Member) -> QuerySet[Evidence]:
    """Evidence the member may see: their organisation's requests' (officers), or what they uploaded."""
    if not viewer.is_authenticated:
        return Evidence.objects.none()
    if can_search_cameras(member=viewer):
        scope = Q(ask__request__organisation_id=viewer.organisation_id)
    elif can_register_cameras(member=viewer):
        scope = Q(uploaded_by=viewer)
    else:
        return Evidence.objects.none()
    return Evidence.objects.filter(scope).select_related("ask", "ask__request")


def custody_of(*, request: FootageRequest) -> QuerySet[CustodyEntry]:
    """The chain of custody of every piece of evidence a request received, in order."""
    return (
        CustodyEntry.objects.filter(evidence__ask__request=request)
        .select_related("evidence", "organisation")
        .order_by("at", "pk")
    )


# --- coverage for force admins: counts per ward, never points


@dataclass(frozen=True)
class WardCoverage:
    area: Area
    registered: int  # cameras of residents who hear from the organisation
    findable: int  # of those, the ones officers can find and ask


def coverage_by_ward(*, viewer: Member) -> list[WardCoverage]:
    """How many cameras are registered in each ward of the organisation's areas.

    Counts only, for planning appeals for more registrations. Cameras of residents who
    opted in to the organisation: those it may ask, plus those it may not (unwilling,
    or not confirmed this year). Cached for ten minutes per organisation.
    """
    if not can_see_coverage(member=viewer):
        return []
    org_id = viewer.organisation_id
    wards = list(organisation_areas(organisation=org_id).filter(level=Area.Level.WARD).order_by("name", "pk"))
    key = f"cameras:coverage:{org_id}"
    counts = cache.get(key)
    if counts is None:
        counts = _coverage_counts(org_id, wards)
        cache.set(key, counts, COVERAGE_CACHE_SECONDS)
    return [
        WardCoverage(area=w, registered=counts.get(w.pk, (0, 0))[0], findable=counts.get(w.pk, (0, 0))[1])
        for w in wards
    ]


def _coverage_counts(org_id: int, wards: list[Area]) -> dict[int, tuple[int, int]]:
    box = territory_bbox(organisation=org_id)
    if box is None or not wards:
        return {}
    min_lon, min_lat, max_lon, max_lat = box
    cameras = Camera.objects.filter(
        owner__in=members_reachable_by(organisation=Organisation(pk=org_id)),
        longitude__gte=min_lon,
        longitude__lte=max_lon,
        latitude__gte=min_lat,
        latitude__lte=max_lat,
    )
    findable_ids = cameras_findable_by(organisation=org_id).values("pk")
    lons, lats, findable = _points(cameras.annotate(ok=Exists(findable_ids.filter(pk=OuterRef("pk")))))
    counts = {}
    for ward in wards:
        near = np.flatnonzero(
            (lons >= ward.min_lon) & (lons <= ward.max_lon) & (lats >= ward.min_lat) & (lats <= ward.max_lat)
        )
        if not len(near):
            continue
        shape = ward.shape
        shapely.prepare(shape)
        inside = near[shapely.intersects_xy(shape, lons[near], lats[near])]
        counts[ward.pk] = (len(inside), int(findable[inside].sum()))
    return counts


_PG_POINT = np.dtype([("lon", ">f8"), ("lat", ">f8"), ("ok", ">i4")])


def _points(cameras: QuerySet[Camera]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitudes, latitudes and "findable" flags of these cameras as arrays, in one query
    (on PostgreSQL packed into one bytea by the server: no Python object per camera)."""
    sql, params = cameras.order_by().values_list("longitude", "latitude", "ok").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT string_agg(float8send(t.longitude) || float8send(t.latitude) || int4send(t.ok::int), "  # noqa: S608
                f"''::bytea) FROM ({sql}) AS t",
                params,
            )
            blob = cursor.fetchone()[0]
            rec = np.frombuffer(blob or b"", dtype=_PG_POINT)
            return rec["lon"].astype("float64"), rec["lat"].astype("float64"), rec["ok"].astype(bool)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    data = np.array(rows, dtype="float64")
    return data[:, 0], data[:, 1], data[:, 2].astype(bool)


__all__ = [
    "CameraHit",
    "WardCoverage",
    "asks_of",
    "camera_search_results",
    "cameras_due_confirmation",
    "cameras_findable_by",
    "cameras_near",
    "cameras_near_sql",
    "cameras_of",
    "coverage_by_ward",
    "custody_of",
    "evidence_visible_to",
    "request_asks",
    "requests_visible_to",
    "searches_visible_to",
]
