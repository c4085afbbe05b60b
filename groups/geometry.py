"""Shapes and points: GeoJSON in, shapely 2 out, and the vectorised point-in-polygon test.

Coordinates are WGS84 (longitude, latitude), as in GeoJSON and ONS boundary files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

POLYGONAL = ("Polygon", "MultiPolygon")


def geometry_from_geojson(geojson: dict) -> Polygon | MultiPolygon:
    """Parse and check a GeoJSON Polygon or MultiPolygon; raise ValidationError saying what is wrong."""
    if not isinstance(geojson, dict) or geojson.get("type") not in POLYGONAL:
        kind = geojson.get("type") if isinstance(geojson, dict) else type(geojson).__name__
        raise ValidationError(f"The shape must be a Polygon or MultiPolygon, not {kind}.")
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise ValidationError(f"The shape's coordinates cannot be read: {str(exc).rstrip('.')}.") from exc
    if geom.is_empty:
        raise ValidationError("The shape is empty.")
    if not geom.is_valid:
        raise ValidationError(f"The shape is not a valid polygon: {explain_validity(geom)}.")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError("The shape is not in longitude/latitude (WGS84) coordinates.")
    return geom


def bbox(geom) -> dict[str, float]:
    minx, miny, maxx, maxy = geom.bounds
    return {"min_lon": minx, "min_lat": miny, "max_lon": maxx, "max_lat": maxy}


def points_covered(geom, lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray) -> np.ndarray:
    """A boolean array: which points lie inside `geom` or on its edge (vectorised, GEOS).

    Inside a hole is outside; every part of a MultiPolygon counts. Points exactly on an
    edge are covered: the caller decides which of two neighbours keeps them.
    """
    x = np.asarray(lons, dtype="float64")
    y = np.asarray(lats, dtype="float64")
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    shapely.prepare(geom)
    return shapely.intersects_xy(geom, x, y)


def points_on_edge(geom, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Which of these (covered) points lie exactly on the boundary rather than strictly inside."""
    if len(lons) == 0:
        return np.zeros(0, dtype=bool)
    return ~shapely.contains_xy(geom, np.asarray(lons, dtype="float64"), np.asarray(lats, dtype="float64"))


def haversine_m(lon1: float, lat1: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from one point to many (vectorised)."""
    r = 6_371_008.8
    lon1, lat1 = np.radians(lon1), np.radians(lat1)
    lons, lats = np.radians(np.asarray(lons, dtype="float64")), np.radians(np.asarray(lats, dtype="float64"))
    a = np.sin((lats - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lats) * np.sin((lons - lon1) / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))
