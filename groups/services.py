"""The verbs of geography: import and draw areas, place members, keep `AreaMember` right."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core import personal_data
from core.services import audit_record
from members.models import Member
from members.validators import normalise_postcode

from .geometry import bbox, geometry_from_geojson, points_covered, points_on_edge
from .models import Area, AreaMember, Postcode

# Above this many rows, inserts go through one array-valued statement on PostgreSQL.
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


def _members_in_bbox(area: Area) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids and coordinates of placed, active members inside the area's bounding box (one SQL scan)."""
    table = Member._meta.db_table
    sql = (
        f"SELECT id, longitude, latitude FROM {table} "  # noqa: S608 (table name from the model)
        "WHERE longitude BETWEEN %s AND %s AND latitude BETWEEN %s AND %s "
        "AND is_active AND erased_at IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [area.min_lon, area.max_lon, area.min_lat, area.max_lat])
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return empty.astype("int64"), empty, empty
    data = np.array(rows, dtype="float64")
    return data[:, 0].astype("int64"), data[:, 1], data[:, 2]


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
    covered = points_covered(area.shape, lons, lats)
    ids, lons, lats = ids[covered], lons[covered], lats[covered]
    if area.level in Area.TILING_LEVELS and len(ids):
        edge = points_on_edge(area.shape, lons, lats)
        if edge.any():
            keep = np.ones(len(ids), dtype=bool)
            for i in np.flatnonzero(edge):
                keep[i] = _tiling_owner(area.level, float(lons[i]), float(lats[i])) == area.pk
            ids = ids[keep]
    return ids


@transaction.atomic
def area_members_recompute(*, area_id: int) -> dict[str, int]:
    """Make `AreaMember` for one area match who lives there now; returns what changed.

    In bulk: one scan for candidates, one vectorised test, one statement to remove
    and one to add. Re-running it changes nothing.
    """
    area = Area.objects.select_for_update().get(pk=area_id)
    now_ids = area_members_compute(area)
    held = np.fromiter(
        AreaMember.objects.filter(area_id=area.pk).values_list("member_id", flat=True).iterator(chunk_size=50_000),
        dtype="int64",
    )
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


def _insert_area_members(area_id: int, member_ids: np.ndarray) -> None:
    if not len(member_ids):
        return
    table = AreaMember._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (area_id, member_id) SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [area_id, member_ids.tolist()],
            )
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
