"""Where an organisation may act: its area of responsibility.

An organisation's officers target messages, surveys and camera searches only inside
the areas it is responsible for (`Organisation.areas`, e.g. Kent Police: the Kent
force area): those areas, every area inside them (districts, wards), and the custom
areas it drew. A drawn shape or a circle must lie inside the union of its areas; a
group must be its own. Kent Police cannot message Essex by drawing a circle there.

An organisation with no areas set may target only its own custom areas and groups:
nothing anywhere else, which is the safe answer until a force admin sets its areas.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from members.models import Organisation

from .geometry import geometry_from_geojson
from .models import Area, CommunityGroup

# A drawn edge may stray this far (degrees, about 10 m) outside the boundary: a pin
# dropped on the county line by hand is not an attempt to message the next force.
_EDGE_TOLERANCE = 0.0001
_TERRITORY_CACHE_SECONDS = 300
_EARTH_RADIUS_M = 6_371_008.8


def _org_id(organisation: Organisation | int) -> int:
    return organisation if isinstance(organisation, int) else organisation.pk


def organisation_areas(*, organisation: Organisation | int) -> QuerySet[Area]:
    """The areas an organisation may target: its own, those inside them (three levels
    deep: force > district > ward > custom), and the custom areas it drew."""
    own = Organisation.areas.through.objects.filter(organisation_id=_org_id(organisation)).values("area_id")
    inside = Q(pk__in=own) | Q(parent__in=own) | Q(parent__parent__in=own) | Q(parent__parent__parent__in=own)
    drawn = Q(level=Area.Level.CUSTOM, organisation_id=_org_id(organisation))
    return Area.objects.filter(inside | drawn)


def organisation_territory(*, organisation: Organisation | int) -> Any:
    """The union of an organisation's areas of responsibility as one shapely geometry
    (None when it has none). Cached for five minutes: boundaries change a few times a year."""
    key = f"jurisdiction:territory:{_org_id(organisation)}"
    cached = cache.get(key)
    if cached is not None:
        return shapely.from_wkb(cached) if cached else None
    shapes = [
        geometry_from_geojson(geojson)
        for geojson in Area.objects.filter(responsible_organisations=_org_id(organisation)).values_list(
            "geometry", flat=True
        )
    ]
    territory = shapely.union_all(shapes) if shapes else None
    if territory is not None:
        territory = shapely.buffer(territory, _EDGE_TOLERANCE)
        shapely.prepare(territory)
    cache.set(key, shapely.to_wkb(territory) if territory is not None else b"", _TERRITORY_CACHE_SECONDS)
    return territory


def territory_forget(*, organisation: Organisation | int) -> None:
    """Drop the cached territory (after its areas or their shapes change)."""
    cache.delete(f"jurisdiction:territory:{_org_id(organisation)}")


def territory_bbox(*, organisation: Organisation | int) -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) of the territory, for an indexed prefilter."""
    territory = organisation_territory(organisation=organisation)
    return None if territory is None else tuple(territory.bounds)


def point_in_jurisdiction(*, organisation: Organisation | int, lon: float, lat: float) -> bool:
    territory = organisation_territory(organisation=organisation)
    return territory is not None and bool(shapely.contains_xy(territory, lon, lat))


def circle_polygon(*, lon: float, lat: float, metres: float, segments: int = 32) -> Any:
    """A circle on the ground as a polygon in degrees (for checking it lies inside a territory)."""
    dlat = math.degrees(metres / _EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return shapely.Polygon(
        [
            (lon + dlon * math.cos(2 * math.pi * i / segments), lat + dlat * math.sin(2 * math.pi * i / segments))
            for i in range(segments)
        ]
    )


def geometry_in_jurisdiction(*, organisation: Organisation | int, geometry: Any) -> bool:
    territory = organisation_territory(organisation=organisation)
    return territory is not None and bool(territory.covers(geometry))


def audience_check_jurisdiction(*, organisation: Organisation | int, spec: dict[str, Any]) -> None:
    """Refuse (ValidationError, saying which part) an audience reaching outside the
    organisation's areas: an area it may not target, another organisation's group, a
    shape or circle crossing its boundary, an earlier message it did not send.

    `spec` is a cleaned audience spec (notifications.audience.audience_spec_clean).
    Named members need no check here: the audience only ever reaches members opted in
    to the organisation.
    """
    from notifications.models import Dispatch

    org_id = _org_id(organisation)
    parts = [*spec.get("include", []), *spec.get("exclude", [])]
    area_ids = {p["area"] for p in parts if "area" in p}
    if area_ids:
        allowed = set(organisation_areas(organisation=org_id).filter(pk__in=area_ids).values_list("pk", flat=True))
        if area_ids - allowed:
            raise ValidationError("You can only send to areas your organisation covers.")
    group_ids = {p["group"] for p in parts if "group" in p}
    if group_ids:
        own = set(
            CommunityGroup.objects.filter(pk__in=group_ids, organisation_id=org_id).values_list("pk", flat=True)
        )
        if group_ids - own:
            raise ValidationError("You can only send to your organisation's groups.")
    dispatch_ids = {p["dispatch"] for p in parts if "dispatch" in p}
    if dispatch_ids:
        own = set(Dispatch.objects.filter(pk__in=dispatch_ids, organisation_id=org_id).values_list("pk", flat=True))
        if dispatch_ids - own:
            raise ValidationError("You can only follow up your organisation's own messages.")
    for part in spec.get("include", []):
        if "polygon" in part:
            shape = geometry_from_geojson(part["polygon"])
        elif "radius" in part:
            circle = part["radius"]
            shape = circle_polygon(lon=circle["lon"], lat=circle["lat"], metres=circle["metres"])
        else:
            continue
        if not geometry_in_jurisdiction(organisation=org_id, geometry=shape):
            raise ValidationError("The area you drew reaches outside your organisation's area. Draw inside it.")
