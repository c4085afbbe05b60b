"""A synthetic Kent and Medway for the demo: districts, wards, postcodes and scheme streets.

None of these boundaries is real. The 13 districts sit roughly where the real ones are
(a Voronoi tessellation of their approximate centres, clipped to a rough outline of the
county), and each is cut into a few wards the same way, so that neighbours share their
edges exactly and the wards of a district tile it, as real ONS boundaries do. Codes
start with "SYN-" (never an ONS code) and every row is marked `is_synthetic`.

Everything is drawn from a fixed random seed on a fixed grid (1e-6 degrees, about
10 cm): building it again gives the same shapes to the last digit, so seeding again
writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.db import transaction
from shapely.geometry import MultiPolygon, Polygon, mapping

from .models import Area, Postcode
from .services import area_upsert

SEED = 1829  # the year the Metropolitan Police was founded; any fixed number will do
GRID = 1e-6  # degrees: every coordinate is a multiple of this
DIGITS = 6

FORCE_CODE = "SYN-F-01"
FORCE_NAME = "Kent and Medway (synthetic)"

# A rough outline of Kent and Medway (longitude, latitude), clockwise from Dartford.
KENT_OUTLINE = [
    (0.15, 51.465),  # Dartford, on the Thames
    (0.33, 51.455),  # Gravesend
    (0.45, 51.47),  # Cliffe marshes
    (0.60, 51.475),  # Hoo peninsula
    (0.72, 51.455),  # Isle of Grain
    (0.76, 51.445),  # Sheerness
    (0.95, 51.395),  # Leysdown
    (0.90, 51.355),  # the Swale, near Faversham
    (1.02, 51.365),  # Whitstable
    (1.13, 51.375),  # Herne Bay
    (1.30, 51.38),  # Birchington
    (1.38, 51.392),  # Margate
    (1.45, 51.38),  # North Foreland
    (1.43, 51.33),  # Ramsgate
    (1.36, 51.30),  # Pegwell Bay
    (1.40, 51.22),  # Deal
    (1.38, 51.15),  # St Margaret's at Cliffe
    (1.32, 51.115),  # Dover
    (1.18, 51.075),  # Folkestone
    (1.05, 51.06),  # Hythe
    (0.98, 50.915),  # Dungeness
    (0.78, 50.96),  # the border near Rye
    (0.70, 51.02),  # south of Tenterden
    (0.55, 51.03),  # Hawkhurst
    (0.40, 51.075),  # Lamberhurst
    (0.18, 51.10),  # Groombridge
    (0.04, 51.15),  # Edenbridge
    (0.04, 51.30),  # Westerham
    (0.10, 51.40),  # Swanley
]
KENT_BOUNDS = (
    min(x for x, _ in KENT_OUTLINE),
    min(y for _, y in KENT_OUTLINE),
    max(x for x, _ in KENT_OUTLINE),
    max(y for _, y in KENT_OUTLINE),
)

# name, approximate centre (longitude, latitude), main town, postcode outward codes.
DISTRICTS = [
    ("Ashford", (0.87, 51.15), "Ashford", ["TN23", "TN24", "TN25", "TN26", "TN27"]),
    ("Canterbury", (1.08, 51.28), "Canterbury", ["CT1", "CT2", "CT3", "CT4", "CT5", "CT6"]),
    ("Dartford", (0.22, 51.43), "Dartford", ["DA1", "DA2", "DA3", "DA4"]),
    ("Dover", (1.31, 51.13), "Dover", ["CT14", "CT15", "CT16", "CT17"]),
    ("Folkestone and Hythe", (1.05, 51.08), "Folkestone", ["CT18", "CT19", "CT20", "CT21", "TN28", "TN29"]),
    ("Gravesham", (0.37, 51.42), "Gravesend", ["DA11", "DA12", "DA13"]),
    ("Maidstone", (0.52, 51.27), "Maidstone", ["ME14", "ME15", "ME16", "ME17", "ME18"]),
    ("Medway", (0.55, 51.40), "Chatham", ["ME1", "ME2", "ME3", "ME4", "ME5", "ME7", "ME8"]),
    ("Sevenoaks", (0.18, 51.27), "Sevenoaks", ["TN13", "TN14", "TN15", "TN8"]),
    ("Swale", (0.80, 51.34), "Sittingbourne", ["ME10", "ME11", "ME12", "ME13", "ME9"]),
    ("Thanet", (1.38, 51.36), "Margate", ["CT7", "CT8", "CT9", "CT10", "CT11", "CT12"]),
    ("Tonbridge and Malling", (0.35, 51.25), "Tonbridge", ["ME19", "ME20", "ME6", "TN9", "TN10", "TN11"]),
    ("Tunbridge Wells", (0.35, 51.12), "Royal Tunbridge Wells", ["TN1", "TN2", "TN3", "TN4", "TN12", "TN17"]),
]

# Postcodes that must exist where the demo accounts live (see seed_demo): Demo Street, Maidstone.
ANCHORED_POSTCODES = {"ME14 1XX": (0.5246, 51.2760), "ME14 1XY": (0.5252, 51.2763)}
ANCHOR_DISTRICT = "Maidstone"

# Neighbourhood Watch schemes: (district, street). The first covers Demo Street, where the demo residents live.
SCHEMES = [
    ("Maidstone", "Demo Street"),
    ("Canterbury", "Orchard Close"),
    ("Thanet", "Harbour View"),
    ("Tunbridge Wells", "Oast House Lane"),
    ("Swale", "Hop Garden Way"),
    ("Dover", "Cliff Top Road"),
]

COMPASS = ["East", "North East", "North", "North West", "West", "South West", "South", "South East"]
OTHER_WARD_NAMES = ["Park", "Village", "Hill", "Vale", "Meadows", "Green", "Rural"]
# Letters a postcode's inward code may use (never C, I, K, M, O, V).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Near Kent, a degree of longitude is about cos(51.25°) of a degree of latitude: shapes are
# made in this stretched plane so that "nearest centre" means nearest on the ground.
_X_SCALE = math.cos(math.radians(51.25))


@dataclass(frozen=True)
class DemoArea:
    code: str
    name: str
    level: str
    shape: Polygon | MultiPolygon
    parent_code: str | None = None

    @property
    def geometry(self) -> dict:
        """GeoJSON with plain lists and rounded floats: what the database hands back, to compare."""
        return _geojson(self.shape)


@dataclass(frozen=True)
class DemoPostcode:
    postcode: str
    longitude: float
    latitude: float
    ward_code: str


@dataclass(frozen=True)
class DemoScheme:
    """A Neighbourhood Watch scheme's streets: a small custom area inside one ward."""

    area: DemoArea
    street: str
    ward_code: str
    postcode: str


@dataclass
class Geography:
    force: DemoArea
    districts: list[DemoArea]
    wards: list[DemoArea]
    schemes: list[DemoScheme]
    postcodes: list[DemoPostcode]
    towns: dict[str, str] = field(default_factory=dict)  # district code → main town

    @property
    def areas(self) -> list[DemoArea]:
        """Parents before children, as they must be written."""
        return [self.force, *self.districts, *self.wards, *(s.area for s in self.schemes)]

    def by_code(self, code: str) -> DemoArea:
        return next(a for a in self.areas if a.code == code)

    def postcodes_of(self, ward_code: str) -> list[DemoPostcode]:
        return [p for p in self.postcodes if p.ward_code == ward_code]


def geography_build() -> Geography:
    """Make the whole synthetic county (pure: no database). Same result every time."""
    rng = np.random.default_rng(SEED)
    outline = _snap(Polygon(KENT_OUTLINE))
    centres = np.array([centre for _, centre, _, _ in DISTRICTS])
    cells = _voronoi(_to_plane(centres), extend_to=_to_plane_geom(outline))
    district_drafts = [_clip(_from_plane_geom(cell), outline) for cell in cells]
    ward_drafts = []  # (district index, shape)
    for d, ((name, _, _, _), draft) in enumerate(zip(DISTRICTS, district_drafts, strict=True)):
        anchors = list(ANCHORED_POSTCODES.values()) if name == ANCHOR_DISTRICT else []
        ward_drafts += [(d, shape) for shape in _ward_cells(draft, anchors, rng)]
    ward_shapes = _partition([shape for _, shape in ward_drafts], outline)

    force = DemoArea(FORCE_CODE, FORCE_NAME, Area.Level.FORCE, _settle(shapely.coverage_union_all(ward_shapes)))
    districts, wards, towns, postcodes = [], [], {}, []
    used_postcodes = set(ANCHORED_POSTCODES)
    for d, (name, centre, town, outwards) in enumerate(DISTRICTS):
        own = [shape for (i, _), shape in zip(ward_drafts, ward_shapes, strict=True) if i == d]
        district = DemoArea(
            f"SYN-D-{d + 1:02d}", name, Area.Level.DISTRICT, _settle(shapely.coverage_union_all(own)), FORCE_CODE
        )
        districts.append(district)
        towns[district.code] = town
        own_wards = _wards(district, centre, own)
        wards += own_wards
        for w, ward in enumerate(own_wards):
            outward = outwards[w % len(outwards)]
            count = int(rng.integers(3, 6))
            lons, lats = random_points(ward.shape, count, rng, within=[district.shape])
            for lon, lat in zip(lons, lats, strict=True):
                code = _new_postcode(outward, rng, used_postcodes)
                postcodes.append(DemoPostcode(code, float(lon), float(lat), ward.code))

    for code, (lon, lat) in ANCHORED_POSTCODES.items():
        ward = next(w for w in wards if w.shape.contains(shapely.Point(lon, lat)))
        postcodes.append(DemoPostcode(code, lon, lat, ward.code))

    schemes = [
        _scheme(s, district_name, street, districts, wards, postcodes, used_postcodes, rng)
        for s, (district_name, street) in enumerate(SCHEMES, start=1)
    ]
    return Geography(force, districts, wards, schemes, postcodes, towns)


def random_points(geom, n: int, rng: np.random.Generator, *, within=()) -> tuple[np.ndarray, np.ndarray]:
    """`n` points drawn uniformly inside `geom` (strictly, and inside every shape in `within`).

    Coordinates are rounded to the grid before they are tested, so what is stored is
    what was checked. Vectorised: a few rounds of drawing in the bounding box.
    """
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    shapes = [geom, *within]
    for s in shapes:
        shapely.prepare(s)
    minx, miny, maxx, maxy = geom.bounds
    fill = max(geom.area / ((maxx - minx) * (maxy - miny)), 0.01)
    xs, ys, got = [], [], 0
    for _ in range(200):
        m = max(32, int((n - got) / fill * 1.5))
        x = np.round(rng.uniform(minx, maxx, m), DIGITS)
        y = np.round(rng.uniform(miny, maxy, m), DIGITS)
        keep = np.ones(m, dtype=bool)
        for s in shapes:
            keep &= shapely.contains_xy(s, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
        if got >= n:
            return np.concatenate(xs)[:n], np.concatenate(ys)[:n]
    raise RuntimeError("Could not place points inside the shape: is it empty?")


# --- writing it to the database


@dataclass
class SeedResult:
    areas: dict[str, Area]  # by code
    areas_changed: list[int]  # ids of areas created or changed (their members need recomputing)
    postcodes_created: int


@transaction.atomic
def geography_seed(*, geography: Geography, scheme_organisation=None) -> SeedResult:
    """Write the synthetic areas and postcodes; what is already there is left as it is.

    Who lives in each area is not recomputed here (`recompute=False`): the caller
    does that once for all areas, after placing members.
    """
    areas: dict[str, Area] = {}
    changed: list[int] = []
    # One query for what is there already, so that a re-run (every `bin/start`) costs
    # one comparison per area instead of one upsert per area.
    held = {a.code: a for a in Area.objects.filter(code__in=[d.code for d in geography.areas])}
    for spec in geography.areas:
        parent = areas[spec.parent_code] if spec.parent_code else None
        organisation = scheme_organisation if spec.level == Area.Level.CUSTOM else None
        area = held.get(spec.code)
        if area is not None and _same(area, spec, parent, organisation):
            areas[spec.code] = area
            continue
        area, was_changed = area_upsert(
            code=spec.code,
            name=spec.name,
            level=spec.level,
            geometry=spec.geometry,
            parent=parent,
            organisation=organisation,
            is_synthetic=True,
            recompute=False,
        )
        areas[spec.code] = area
        if was_changed:
            changed.append(area.pk)
    wanted = {p.postcode: p for p in geography.postcodes}
    known = set(Postcode.objects.filter(postcode__in=wanted).values_list("postcode", flat=True))
    missing = [
        Postcode(postcode=p.postcode, longitude=p.longitude, latitude=p.latitude, is_synthetic=True)
        for code, p in wanted.items()
        if code not in known
    ]
    Postcode.objects.bulk_create(missing, ignore_conflicts=True)
    return SeedResult(areas=areas, areas_changed=changed, postcodes_created=len(missing))


def _same(area: Area, spec: DemoArea, parent: Area | None, organisation) -> bool:
    """Whether `area_upsert` would find nothing to change."""
    return (
        area.name == spec.name
        and area.level == spec.level
        and area.geometry == spec.geometry
        and area.parent_id == (parent.pk if parent else None)
        and area.organisation_id == (organisation.pk if organisation else None)
        and area.is_synthetic
    )


# --- the shapes


def _ward_cells(district, anchors, rng) -> list:
    """Cut a district into 3 to 6 pieces of similar size; the first anchor lies well inside one."""
    plane = _to_plane_geom(district)
    count = int(rng.integers(3, 7))
    pinned = [tuple(p) for p in _to_plane(np.array(anchors[:1]))] if anchors else []
    seeds = _spread_seeds(plane, count, pinned, rng)
    # Two rounds of Lloyd's relaxation: each seed moves to the middle of its cell, so no
    # ward is a sliver. A pinned seed stays where it is.
    for _ in range(2):
        cells = [c.intersection(plane) for c in _voronoi(seeds, extend_to=plane)]
        for i, cell in enumerate(cells):
            if i >= len(pinned) and not cell.is_empty:
                point = cell.centroid if cell.contains(cell.centroid) else cell.representative_point()
                seeds[i] = (point.x, point.y)
    return [_clip(_from_plane_geom(c), district) for c in _voronoi(seeds, extend_to=plane)]


def _partition(drafts: list, outline) -> list:
    """Turn overlapping-by-a-hair drafts into an exact tiling of the outline.

    Clipping each district's wards separately leaves the corner where a ward edge meets
    the district edge in one ward but not in the ward across the district line: hair-thin
    overlaps and gaps. Instead, every edge of every draft is cut where it meets any
    other (noding, on the grid), the lines are turned back into faces, and each face goes
    to the draft it lies in. Neighbours then share every edge, vertex for vertex.
    """
    lines = shapely.union_all([shapely.boundary(d) for d in [*drafts, outline]], grid_size=GRID)
    faces = [f for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))) if f.area > 0]
    faces = [f for f in faces if outline.contains(f.point_on_surface())]
    tree = shapely.STRtree(drafts)
    owned: list[list] = [[] for _ in drafts]
    for face in faces:
        inside = tree.query(face.point_on_surface(), predicate="within")
        # A sliver between two drafts belongs to the one it overlaps most.
        owner = inside[0] if len(inside) else max(tree.query(face), key=lambda i: face.intersection(drafts[i]).area)
        owned[int(owner)].append(face)
    return [shapely.coverage_union_all(parts) for parts in owned]


def _wards(district: DemoArea, centre, shapes: list) -> list[DemoArea]:
    """Name and number a district's wards (numbered in name order)."""
    shapes = [_settle(s) for s in shapes]
    names = _ward_names(district.name, _to_plane(np.array([centre]))[0], [_to_plane_geom(s) for s in shapes])
    number = int(district.code.rsplit("-", 1)[1])
    order = sorted(range(len(shapes)), key=lambda i: names[i])
    return [
        DemoArea(f"SYN-W-{number:02d}{w:02d}", names[i], Area.Level.WARD, shapes[i], district.code)
        for w, i in enumerate(order, start=1)
    ]


def _spread_seeds(plane, count: int, pinned: list, rng) -> np.ndarray:
    """Random seed points inside a shape, no two closer than about half their fair spacing."""
    seeds = list(pinned)
    gap = 0.5 * math.sqrt(plane.area / count)
    while len(seeds) < count:
        xs, ys = random_points(plane, 64, rng)
        for x, y in zip(xs, ys, strict=True):
            if all((x - sx) ** 2 + (y - sy) ** 2 >= gap**2 for sx, sy in seeds):
                seeds.append((float(x), float(y)))
                if len(seeds) == count:
                    break
        gap *= 0.9
    return np.array(seeds, dtype="float64")


def _ward_names(district_name: str, centre, cells) -> list[str]:
    """Name wards for where they lie: the one nearest the middle is Central, the rest by compass point."""
    points = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    middle = int(np.argmin(((points - centre) ** 2).sum(axis=1)))
    names, taken, spare = [], {"Central"}, iter(OTHER_WARD_NAMES)
    for i, (x, y) in enumerate(points):
        if i == middle:
            names.append(f"{district_name} Central")
            continue
        angle = math.degrees(math.atan2(y - centre[1], x - centre[0])) % 360
        suffix = COMPASS[round(angle / 45) % 8]
        if suffix in taken:
            suffix = next(spare)
        taken.add(suffix)
        names.append(f"{district_name} {suffix}")
    return names


def _scheme(number, district_name, street, districts, wards, postcodes, used_postcodes, rng) -> DemoScheme:
    """A few streets inside one ward: a small irregular polygon of about 500 m across."""
    district = next(d for d in districts if d.name == district_name)
    if district_name == ANCHOR_DISTRICT and street == SCHEMES[0][1]:
        middle = np.mean(list(ANCHORED_POSTCODES.values()), axis=0)
        ward = next(w for w in wards if w.shape.contains(shapely.Point(*middle)))
        postcode = next(iter(ANCHORED_POSTCODES))
    else:
        own = [w for w in wards if w.parent_code == district.code]
        ward = own[int(rng.integers(len(own)))]
        inner = ward.shape.buffer(-0.006)
        xs, ys = random_points(inner if not inner.is_empty else ward.shape, 1, rng)
        middle = np.array([xs[0], ys[0]])
        outward = next(iter(p.postcode.split()[0] for p in postcodes if p.ward_code == ward.code))
        postcode = _new_postcode(outward, rng, used_postcodes)
        postcodes.append(DemoPostcode(postcode, float(middle[0]), float(middle[1]), ward.code))
    angles = np.sort(rng.uniform(0, 2 * math.pi, 7))
    radii = rng.uniform(0.0018, 0.0028, 7)  # degrees of latitude: 200 to 300 m
    ring = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)]) + _to_plane(np.array([middle]))[0]
    shape = _clip(_from_plane_geom(Polygon(ring)), ward.shape)
    if isinstance(shape, MultiPolygon):  # the ward's edge cut it: keep the biggest piece
        shape = max(shape.geoms, key=lambda g: g.area)
    name = f"{street} Neighbourhood Watch area"
    area = DemoArea(f"SYN-S-{number:02d}", name, Area.Level.CUSTOM, _settle(shape), ward.code)
    return DemoScheme(area=area, street=street, ward_code=ward.code, postcode=postcode)


def _new_postcode(outward: str, rng, used: set[str]) -> str:
    while True:
        letters = rng.choice(list(INWARD_LETTERS), 2)
        code = f"{outward} {int(rng.integers(1, 10))}{letters[0]}{letters[1]}"
        if code not in used:
            used.add(code)
            return code


def _voronoi(points: np.ndarray, *, extend_to) -> list[Polygon]:
    """The Voronoi cells of the points, in the order of the points, covering `extend_to`."""
    frame = shapely.box(*extend_to.buffer(1.0).bounds)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=frame, ordered=True)
    return list(shapely.get_parts(cells))


def _clip(shape, to):
    """`shape ∩ to` on the grid, polygons only: neighbours clipped alike share their edges."""
    parts = [p for p in shapely.get_parts(shapely.intersection(shape, to, grid_size=GRID)) if p.area > 0]
    polygons = [q for p in parts for q in (p.geoms if isinstance(p, MultiPolygon) else [p])]
    polygons = [p for p in polygons if isinstance(p, Polygon)]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _snap(shape):
    return shapely.set_precision(shape, GRID)


def _settle(shape):
    """The shape exactly as it will be stored and read back (rounded GeoJSON)."""
    return shapely.geometry.shape(_geojson(shape))


def _to_plane(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype="float64") * [_X_SCALE, 1.0]


def _to_plane_geom(shape):
    return shapely.transform(shape, lambda c: c * [_X_SCALE, 1.0])


def _from_plane_geom(shape):
    return shapely.transform(shape, lambda c: c / [_X_SCALE, 1.0])


def _geojson(shape) -> dict:
    def rounded(value):
        if isinstance(value, (tuple, list)):
            if value and isinstance(value[0], float | int):
                return [round(float(v), DIGITS) for v in value]
            return [rounded(v) for v in value]
        return value

    geo = mapping(shape)
    return {"type": geo["type"], "coordinates": rounded(geo["coordinates"])}
