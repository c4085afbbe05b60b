"""The verbs of geography: import and draw areas, place members, keep `AreaMember` right."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core import personal_data
from core.services import audit_record
from members.models import Member
from members.validators import normalise_postcode

from .geometry import bbox, geometry_from_geojson, points_covered, points_on_edge
from .models import Area, AreaMember, Postcode

# Rows per statement when removing members from an area, and when adding them on SQLite.
_INSERT_BATCH = 10_000


def area_upsert(
    *,
    code: str,
    name: str,
    level: str,
    geometry: dict,
    parent: Area | None = None,
    organisation=None,
    is_synthetic: bool = False,
    actor: Member | None = None,
    recompute: bool = True,
) -> tuple[Area, bool]:
    """Create or update an area by its code. Returns (area, changed).

    Re-importing the same boundary changes nothing (no write, no recompute). A changed
    shape queues a recompute of who lives there once the transaction commits.
    """
    geom = geometry_from_geojson(geometry)
    fields: dict[str, Any] = {
        "name": name,
        "level": level,
        "geometry": geometry,
        "parent": parent,
        "organisation": organisation,
        "is_synthetic": is_synthetic,
        **bbox(geom),
    }
    area = Area.objects.filter(code=code).first()
    if area is None:
        area = Area(code=code, created_by=actor, **fields)
        area.full_clean()
        area.save()
        changed, shape_changed = True, True
    else:
        shape_changed = area.geometry != geometry
        changed = shape_changed or any(getattr(area, k) != v for k, v in fields.items())
        if changed:
            for key, value in fields.items():
                setattr(area, key, value)
            area.__dict__.pop("shape", None)
            area.full_clean()
            area.save()
    if shape_changed and recompute:
        from .tasks import area_members_recompute_task

        area_members_recompute_task.delay_on_commit(area_id=area.pk)
    return area, changed


_MEMBER_FILTER = "longitude BETWEEN %s AND %s AND latitude BETWEEN %s AND %s AND is_active AND erased_at IS NULL"
# Fixed-size big-endian binary records, as PostgreSQL's int8send/float8send write them.
_PG_MEMBER_POINT = np.dtype([("id", ">i8"), ("lon", ">f8"), ("lat", ">f8")])
_PG_MEMBER_ID = np.dtype(">i8")


def _pg_records(sql: str, params: list, dtype: np.dtype) -> np.ndarray:
    """Run a query that returns one bytea of packed binary records; view it as a numpy array.

    A million rows fetched as tuples cost seconds of Python objects; packed by the
    server (`string_agg(int8send(…) || float8send(…))`), they arrive as one value that
    numpy reads in place. Each record is built from one row, so its fields stay together.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        blob = cursor.fetchone()[0]
    return np.frombuffer(blob or b"", dtype=dtype)


def _members_in_bbox(area: Area) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids and coordinates of placed, active members inside the area's bounding box (one SQL scan)."""
    table = Member._meta.db_table
    params = [area.min_lon, area.max_lon, area.min_lat, area.max_lat]
    if connection.vendor == "postgresql":
        sql = (
            "SELECT string_agg(int8send(id) || float8send(longitude) || float8send(latitude), ''::bytea) "  # noqa: S608
            f"FROM {table} WHERE {_MEMBER_FILTER}"
        )
        records = _pg_records(sql, params, _PG_MEMBER_POINT)
        return records["id"].astype("int64"), records["lon"].astype("float64"), records["lat"].astype("float64")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, longitude, latitude FROM {table} WHERE {_MEMBER_FILTER}", params)  # noqa: S608
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return empty.astype("int64"), empty, empty
    data = np.array(rows, dtype="float64")
    return data[:, 0].astype("int64"), data[:, 1], data[:, 2]


def _area_member_ids(area_id: int) -> np.ndarray:
    """The ids of the members `AreaMember` holds for one area now."""
    if connection.vendor == "postgresql":
        table = AreaMember._meta.db_table
        return _pg_records(
            f"SELECT string_agg(int8send(member_id), ''::bytea) FROM {table} WHERE area_id = %s",  # noqa: S608
            [area_id],
            _PG_MEMBER_ID,
        ).astype("int64")
    return np.fromiter(
        AreaMember.objects.filter(area_id=area_id).values_list("member_id", flat=True).iterator(chunk_size=50_000),
        dtype="int64",
    )


def _tiling_owner(level: str, lon: float, lat: float) -> int | None:
    """Of the areas of a tiling level covering a point, the one that keeps it: the lowest code.

    Only called for points exactly on an edge, so neighbouring wards never both claim
    (or both drop) a member who lives on their shared boundary.
    """
    candidates = Area.objects.filter(
        level=level, min_lon__lte=lon, max_lon__gte=lon, min_lat__lte=lat, max_lat__gte=lat
    ).order_by("code")
    for candidate in candidates:
        if points_covered(candidate.shape, [lon], [lat])[0]:
            return candidate.pk
    return None


def area_members_compute(area: Area) -> np.ndarray:
    """The ids of the members who live in the area: bbox prefilter in SQL, then GEOS, vectorised."""
    ids, lons, lats = _members_in_bbox(area)
    if not len(ids):
        return ids
    # Strictly inside first, in one vectorised pass; only the points left over (a few
    # percent) are tested for lying on the edge, where the tiling rule decides.
    shape = area.shape
    shapely.prepare(shape)
    keep = shapely.contains_xy(shape, lons, lats)
    rest = np.flatnonzero(~keep)
    on_edge = rest[points_covered(shape, lons[rest], lats[rest])]
    for i in on_edge:
        lon, lat = float(lons[i]), float(lats[i])
        keep[i] = area.level not in Area.TILING_LEVELS or _tiling_owner(area.level, lon, lat) == area.pk
    return ids[keep]


@transaction.atomic
def area_members_recompute(*, area_id: int) -> dict[str, int]:
    """Make `AreaMember` for one area match who lives there now; returns what changed.

    In bulk: one scan for candidates, one vectorised test, one statement to remove
    and one to add. Re-running it changes nothing.

    The area's row stays locked until commit. Whoever else adds an `AreaMember` for
    this area (`member_areas_recompute`) also updates that row's member count before
    committing, so no one can slip in a row between reading `held` and the insert.
    """
    area = Area.objects.select_for_update().get(pk=area_id)
    now_ids = area_members_compute(area)
    held = _area_member_ids(area.pk)
    to_add = np.setdiff1d(now_ids, held, assume_unique=True)
    to_remove = np.setdiff1d(held, now_ids, assume_unique=True)
    for start in range(0, len(to_remove), _INSERT_BATCH):
        chunk = to_remove[start : start + _INSERT_BATCH].tolist()
        AreaMember.objects.filter(area_id=area.pk, member_id__in=chunk).delete()
    _insert_area_members(area.pk, to_add)
    area.member_count = len(now_ids)
    area.members_computed_at = timezone.now()
    area.save(update_fields=["member_count", "members_computed_at"])
    return {"members": len(now_ids), "added": len(to_add), "removed": len(to_remove)}


# PostgreSQL's binary COPY format: signature, flags, header extension length; rows; trailer.
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_PG_COPY_TRAILER = b"\xff\xff"
_PG_AREA_MEMBER_ROW = np.dtype(
    [("fields", ">i2"), ("area_len", ">i4"), ("area_id", ">i8"), ("member_len", ">i4"), ("member_id", ">i8")]
)


def _insert_area_members(area_id: int, member_ids: np.ndarray) -> None:
    """Add these members to the area (none of them is in it yet: the caller holds the area's lock)."""
    if not len(member_ids):
        return
    table = AreaMember._meta.db_table
    if connection.vendor == "postgresql":
        # Binary COPY, packed by numpy: no Python object per row, and no per-row conflict
        # check (ON CONFLICT costs a speculative insertion per row; see the caller's docstring).
        rows = np.empty(len(member_ids), dtype=_PG_AREA_MEMBER_ROW)
        rows["fields"], rows["area_len"], rows["member_len"] = 2, 8, 8
        rows["area_id"], rows["member_id"] = area_id, member_ids
        copy_sql = f"COPY {table} (area_id, member_id) FROM STDIN (FORMAT BINARY)"
        # The driver's own cursor (`cursor.cursor`): Django's wrapper has no COPY.
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            copy.write(_PG_COPY_HEADER)
            for start in range(0, len(rows), 100_000):
                copy.write(rows[start : start + 100_000].tobytes())
            copy.write(_PG_COPY_TRAILER)
        return
    for start in range(0, len(member_ids), _INSERT_BATCH):
        AreaMember.objects.bulk_create(
            [AreaMember(area_id=area_id, member_id=int(m)) for m in member_ids[start : start + _INSERT_BATCH]],
            ignore_conflicts=True,
        )


@transaction.atomic
def member_areas_recompute(*, member: Member) -> list[int]:
    """Put one member in the areas they live in now (after a move, or once placed).

    Returns the ids of the areas they are in. Member counts of the areas left and
    joined move by one.
    """
    before = set(AreaMember.objects.filter(member=member).values_list("area_id", flat=True))
    after: set[int] = set()
    if member.is_active and member.erased_at is None and member.longitude is not None:
        lon, lat = member.longitude, member.latitude
        candidates = Area.objects.filter(min_lon__lte=lon, max_lon__gte=lon, min_lat__lte=lat, max_lat__gte=lat)
        for area in candidates:
            if not points_covered(area.shape, [lon], [lat])[0]:
                continue
            on_edge = area.level in Area.TILING_LEVELS and points_on_edge(area.shape, [lon], [lat])[0]
            if on_edge and _tiling_owner(area.level, lon, lat) != area.pk:
                continue
            after.add(area.pk)
    left, joined = before - after, after - before
    if left or joined:
        # Lock the areas touched (in id order, so two movers never deadlock): an area's
        # recompute holds its row too, so the two never interleave, and what this
        # member was in is read again under the lock before the counts move.
        list(Area.objects.select_for_update().filter(pk__in=left | joined).order_by("pk").values_list("pk"))
        before = set(AreaMember.objects.filter(member=member).values_list("area_id", flat=True))
        left, joined = before - after, after - before
    if left:
        AreaMember.objects.filter(member=member, area_id__in=left).delete()
        Area.objects.filter(pk__in=left).update(member_count=F("member_count") - 1)
    if joined:
        AreaMember.objects.bulk_create([AreaMember(member=member, area_id=a) for a in joined], ignore_conflicts=True)
        Area.objects.filter(pk__in=joined).update(member_count=F("member_count") + 1)
    return sorted(after)


def postcode_lookup(postcode: str) -> Postcode | None:
    return Postcode.objects.filter(postcode=normalise_postcode(postcode)).first()


@transaction.atomic
def member_location_set(
    *, member: Member, postcode: str | None = None, longitude: float | None = None, latitude: float | None = None
) -> bool:
    """Place a member: at their postcode if we know it, else at the pin they put on the map.

    Returns whether the member now has a location. Their area memberships follow at once.
    """
    if longitude is not None and latitude is not None:
        if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
            raise ValidationError({"latitude": "That point is not on the map."})
        member.longitude, member.latitude, member.location_source = longitude, latitude, "pin"
    else:
        known = postcode_lookup(postcode or member.postcode)
        if known is not None:
            member.longitude, member.latitude, member.location_source = known.longitude, known.latitude, "postcode"
        elif member.location_source != "pin":
            member.longitude = member.latitude = None
            member.location_source = ""
    member.save(update_fields=["longitude", "latitude", "location_source"])
    member_areas_recompute(member=member)
    return member.longitude is not None


@transaction.atomic
def area_draw(*, actor: Member, name: str, geometry: dict, parent: Area | None = None) -> Area:
    """An officer draws a custom area (a hotspot, a town centre) for their organisation."""
    from django.utils.crypto import get_random_string

    if not actor.is_officer:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only officers draw areas.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the area a name."})
    area, _ = area_upsert(
        code=f"custom-{get_random_string(12).lower()}",
        name=name,
        level=Area.Level.CUSTOM,
        geometry=geometry,
        parent=parent,
        organisation=actor.organisation,
        actor=actor,
    )
    audit_record(actor=actor, action="groups.area.drawn", target=area, organisation=actor.organisation)
    return area


# --- personal data: where a member lives is theirs


@transaction.atomic
def organisation_areas_set(*, actor: Member, areas: list[Area]) -> None:
    """A force admin sets the areas their organisation is responsible for (force area,
    districts): its officers then target messages, surveys and camera searches inside them."""
    from members.permissions import is_force_admin

    from .jurisdiction import territory_forget

    if not is_force_admin(member=actor):
        raise PermissionDenied("Only force admins can do this.")
    if any(area.level not in (Area.Level.FORCE, Area.Level.DISTRICT, Area.Level.WARD) for area in areas):
        raise ValidationError("An area of responsibility is a force area, a district or a ward.")
    organisation = actor.organisation
    before = set(organisation.areas.values_list("code", flat=True))
    organisation.areas.set(areas)
    territory_forget(organisation=organisation)
    audit_record(
        actor=actor,
        action="groups.organisation.areas_set",
        target=organisation,
        organisation=organisation,
        data={"before": sorted(before), "after": sorted(a.code for a in areas)},
    )


def _export_areas(member: Member) -> dict[str, Any]:
    return {
        "location": {
            "latitude": member.latitude,
            "longitude": member.longitude,
            "source": member.location_source,
        },
        "areas": [
            {"code": a.code, "name": a.name, "level": a.level}
            for a in Area.objects.filter(memberships__member=member).order_by("level", "name")
        ],
    }


def _erase_areas(member: Member) -> None:
    member.longitude = member.latitude = None
    member.location_source = ""
    member.save(update_fields=["longitude", "latitude", "location_source"])
    areas = list(AreaMember.objects.filter(member=member).values_list("area_id", flat=True))
    AreaMember.objects.filter(member=member).delete()
    Area.objects.filter(pk__in=areas).update(member_count=F("member_count") - 1)


personal_data.register("geography", export=_export_areas, erase=_erase_areas)
