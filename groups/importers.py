"""Reading ONS files: boundaries (GeoJSON) into `Area`, postcodes (ONSPD CSV) into `Postcode`.

The management commands `import_boundaries` and `import_postcodes` are thin wrappers
over these two functions. Both are safe to run again on the same file: a boundary
that has not changed is not written (and its members are not recomputed), and a
postcode is upserted by its normalised form.

* Boundaries: ONS Open Geography GeoJSON in WGS84 (the "BGC"/"BFC"/"BUC" downloads),
  a FeatureCollection whose features carry their code and name in properties named
  like `LAD23CD`/`LAD23NM` (districts) or `WD23CD`/`WD23NM` (wards). The whole file
  goes in as one transaction: one bad feature and nothing at all changes.
* Postcodes: the ONS Postcode Directory (ONSPD) CSV, streamed row by row; columns
  `pcd`, `pcd2`, `pcds` (the postcode three ways), `doterm` (the month it was
  terminated, blank while live) and `lat`/`long` (WGS84; 99.999999 when unknown).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from members.models import Member
from members.validators import normalise_postcode, validate_postcode

from .models import Area, Postcode
from .services import area_upsert, member_location_set

# Property name prefixes ONS uses for each level, to pick the code among several `…CD`
# properties (a ward file also carries its district's `LAD23CD`).
LEVEL_PREFIXES = {Area.Level.DISTRICT: ("LAD", "LTLA", "CTYUA", "UTLA"), Area.Level.WARD: ("WD",)}
# CRS names that mean WGS84 longitude/latitude (older GeoJSON files may carry a "crs" member).
WGS84_CRS = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326")
# Listing every problem of a file broken throughout would bury the first ones.
MAX_PROBLEMS_LISTED = 100

Progress = Callable[..., Any]  # tqdm-like: progress(iterable=None, total=..., unit=...) -> bar


class ImportFileError(Exception):
    """The file cannot be imported; `problems` says why (each naming the feature or row)."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(self.summary())

    def summary(self) -> str:
        shown = self.problems[:MAX_PROBLEMS_LISTED]
        lines = [f"  {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  … and {len(self.problems) - len(shown)} more")
        if len(self.problems) == 1:
            return self.problems[0]
        return "\n".join([f"{len(self.problems)} problems:", *lines])


def _no_progress(iterable=None, **kwargs):
    return _NullBar(iterable)


class _NullBar:
    def __init__(self, iterable=None):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n=1):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- boundaries


@dataclass
class BoundaryImportResult:
    code_field: str
    name_field: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def boundary_fields_detect(
    properties: dict[str, Any], *, level: str, code_field: str | None = None, parent_code_field: str | None = None
) -> tuple[str, str]:
    """Which properties hold the code and the name: `LAD23CD`/`LAD23NM`, `WD23CD`/`WD23NM`, ….

    The code is the property ending in `CD` (other than the parent's); when there are
    several, the one whose prefix fits the level (`LAD…` for districts, `WD…` for
    wards). The name is the code's twin ending in `NM` (not `NMW`, the Welsh name),
    else the only property ending in `NM`.
    """
    keys = list(properties)
    if code_field is None:
        candidates = [k for k in keys if k.upper().endswith("CD") and k != parent_code_field]
        if len(candidates) > 1:
            fitting = [k for k in candidates if k.upper().startswith(LEVEL_PREFIXES.get(level, ()))]
            candidates = fitting or candidates
        if len(candidates) != 1:
            found = ", ".join(candidates) if candidates else "none"
            raise ImportFileError(
                f"Cannot tell which property holds the area code (properties ending in CD: {found}; "
                f"all properties: {', '.join(keys) or 'none'}). Name it with --code-field."
            )
        code_field = candidates[0]
    if code_field.upper().endswith("CD") and f"{code_field[:-2]}NM" in properties:
        return code_field, f"{code_field[:-2]}NM"
    names = [k for k in keys if k.upper().endswith("NM")]
    if len(names) != 1:
        raise ImportFileError(
            f"Cannot tell which property holds the area name (properties ending in NM: {', '.join(names) or 'none'}; "
            f"all properties: {', '.join(keys) or 'none'}). Name it with --name-field."
        )
    return code_field, names[0]


def _read_feature_collection(path: Path) -> list:
    try:
        with open(path, encoding="utf-8-sig") as f:
            data = json.load(f)
    except FileNotFoundError as exc:
        raise ImportFileError(f"{path}: no such file.") from exc
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text (byte {exc.start}).") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ImportFileError(f"{path} is not a GeoJSON FeatureCollection (its type is {kind!r}).")
    crs = ((data.get("crs") or {}).get("properties") or {}).get("name")
    if crs and crs not in WGS84_CRS:
        raise ImportFileError(
            f"{path} is in {crs}, not WGS84 longitude/latitude: download the GeoJSON in WGS84 (EPSG:4326)."
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise ImportFileError(f"{path}: the FeatureCollection has no list of features.")
    return features


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def boundaries_import(
    *,
    path: Path | str,
    level: str,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_code_field: str | None = None,
    progress: Progress = _no_progress,
) -> BoundaryImportResult:
    """Create or update one area per feature of an ONS boundary file, all or nothing.

    Every problem (a bad shape, no code or name, a code used twice, a parent code that
    is neither in the database nor earlier in the file) is collected with the feature's
    1-based position and code; if there is any, `ImportFileError` lists them all and
    the database is left exactly as it was. A blank parent code makes a top-level area.
    Areas whose shape changed have their members recomputed once the import commits
    (queued by `area_upsert`).

    The parsed JSON is the only whole-file structure kept: shapes are built one
    feature at a time and each feature is dropped once it is in.
    """
    path = Path(path)
    if level not in Area.Level.values:
        raise ImportFileError(f"Unknown level {level!r}: use one of {', '.join(Area.Level.values)}.")
    features = _read_feature_collection(path)
    first = next((f.get("properties") for f in features if isinstance(f, dict) and f.get("properties")), {})
    if name_field is None or code_field is None:
        detected_code, detected_name = boundary_fields_detect(
            first, level=level, code_field=code_field, parent_code_field=parent_code_field
        )
        code_field, name_field = code_field or detected_code, name_field or detected_name
    result = BoundaryImportResult(code_field=code_field, name_field=name_field)

    def props(feature) -> dict:
        return (feature.get("properties") if isinstance(feature, dict) else None) or {}

    codes = {_text(props(f).get(code_field)) for f in features} - {""}
    parent_codes = {_text(props(f).get(parent_code_field)) for f in features} - {""} if parent_code_field else set()
    problems: list[str] = []
    with transaction.atomic():
        existing = set(Area.objects.filter(code__in=codes).values_list("code", flat=True))
        # Parents already in the database; parents imported from this file join as they come.
        parents = {a.code: a for a in Area.objects.filter(code__in=parent_codes).defer("geometry")}
        seen: dict[str, int] = {}
        bar = progress(total=len(features), unit="feature", desc=path.name)
        for position, feature in enumerate(features, start=1):
            features[position - 1] = None  # let each feature go once handled
            bar.update(1)
            p = props(feature)
            code, name = _text(p.get(code_field)), _text(p.get(name_field))
            where = f"feature {position} ({code or 'no code'})"
            found = []
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                problems.append(f"{where}: not a GeoJSON Feature.")
                continue
            if not code:
                found.append(f"no area code in {code_field}")
            elif code in seen:
                found.append(f"the code {code} is also feature {seen[code]}'s")
            if not name:
                found.append(f"no area name in {name_field}")
            parent = None
            if parent_code_field:
                parent_code = _text(p.get(parent_code_field))
                parent = parents.get(parent_code)
                if parent_code and parent is None and parent_code in seen:
                    found.append(f"its parent {parent_code} (feature {seen[parent_code]}) could not be imported")
                elif parent_code and parent is None:
                    found.append(
                        f"unknown parent code {parent_code} in {parent_code_field} "
                        "(the parent must be imported already or come earlier in the file)"
                    )
            if feature.get("geometry") is None:
                found.append("no geometry")
            if found:
                problems.append(f"{where}: {'; '.join(found)}.")
                if code:
                    seen.setdefault(code, position)
                continue
            seen[code] = position
            try:
                area, changed = area_upsert(
                    code=code, name=name, level=level, geometry=feature["geometry"], parent=parent
                )
            except ValidationError as exc:
                problems.append(f"{where}: {_describe(exc)}")
                continue
            if code in parent_codes:
                parents[code] = area
            if code not in existing:
                result.created += 1
            elif changed:
                result.updated += 1
            else:
                result.unchanged += 1
        bar.close()
        if problems:
            # Leaving the block with an exception rolls everything back, queued recomputes included.
            raise ImportFileError(problems)
    return result


# --- postcodes


@dataclass
class PostcodeImportResult:
    imported: int = 0
    skipped: Counter = field(default_factory=Counter)
    placed: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


SKIP_TERMINATED = "terminated"
SKIP_NO_COORDINATES = "no coordinates"
SKIP_NOT_A_POSTCODE = "not a postcode"


class _CountingReader(io.RawIOBase):
    """A raw binary reader that tells the progress bar how many bytes went by."""

    def __init__(self, raw: IO[bytes], bar) -> None:
        self._raw, self._bar = raw, bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._bar.update(n)
        return n


def _coordinates(lat_text: str, lon_text: str) -> tuple[float, float] | None:
    """(lat, lon) in WGS84, or None for a blank or the ONSPD 'unknown' value (lat 99.999999)."""
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _flush(batch: dict[str, tuple[float, float]]) -> int:
    if not batch:
        return 0
    Postcode.objects.bulk_create(
        [Postcode(postcode=pc, latitude=lat, longitude=lon, is_synthetic=False) for pc, (lat, lon) in batch.items()],
        update_conflicts=True,
        unique_fields=["postcode"],
        update_fields=["latitude", "longitude", "is_synthetic"],
    )
    written = len(batch)
    batch.clear()
    return written


def postcodes_import(
    *,
    path: Path | str,
    postcode_column: str = "pcds",
    latitude_column: str = "lat",
    longitude_column: str = "long",
    terminated_column: str = "doterm",
    batch_size: int = 5000,
    place_members: bool = True,
    progress: Progress = _no_progress,
) -> PostcodeImportResult:
    """Upsert every live postcode with coordinates from an ONSPD-style CSV, streaming.

    Memory stays bounded by one batch, whatever the size of the file. Each batch is
    written on its own (an interrupted import leaves the batches before it in, and a
    re-run finishes the job). Terminated postcodes (`doterm` set) and those without
    coordinates are skipped and counted. Afterwards, residents who could not be
    placed because their postcode was unknown are placed (see `members_unplaced_place`).
    """
    path = Path(path)
    if batch_size < 1:
        raise ImportFileError("The batch size must be at least 1.")
    result = PostcodeImportResult()
    try:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below, wrapped for the progress bar)
    except FileNotFoundError as exc:
        raise ImportFileError(f"{path}: no such file.") from exc
    bar = progress(total=path.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name)
    try:
        text = io.TextIOWrapper(io.BufferedReader(_CountingReader(raw, bar), 1 << 16), encoding="utf-8-sig", newline="")
        with text:
            reader = csv.DictReader(text)
            columns = _columns(
                reader.fieldnames,
                path=path,
                wanted={"postcode": postcode_column, "latitude": latitude_column, "longitude": longitude_column},
                optional={"terminated": terminated_column},
            )
            batch: dict[str, tuple[float, float]] = {}
            for row in _rows(reader, path):
                if columns["terminated"] and _text(row.get(columns["terminated"])):
                    result.skipped[SKIP_TERMINATED] += 1
                    continue
                coordinates = _coordinates(_text(row.get(columns["latitude"])), _text(row.get(columns["longitude"])))
                if coordinates is None:
                    result.skipped[SKIP_NO_COORDINATES] += 1
                    continue
                try:
                    postcode = validate_postcode(_text(row.get(columns["postcode"])))
                except ValidationError:
                    result.skipped[SKIP_NOT_A_POSTCODE] += 1
                    continue
                batch[postcode] = coordinates  # a repeat within the batch: the later row wins
                if len(batch) >= batch_size:
                    result.imported += _flush(batch)
            result.imported += _flush(batch)
    finally:
        bar.close()
        raw.close()
    if place_members:
        result.placed = members_unplaced_place()
    return result


def _columns(
    fieldnames: list[str] | None, *, path: Path, wanted: dict[str, str], optional: dict[str, str]
) -> dict[str, str | None]:
    """Map roles to the header's own column names, matching case-insensitively."""
    if not fieldnames:
        raise ImportFileError(f"{path} is empty: expected a header with {', '.join(wanted.values())}.")
    by_lower = {name.strip().lower(): name for name in fieldnames}
    missing = [col for col in wanted.values() if col.lower() not in by_lower]
    if missing:
        raise ImportFileError(
            f"{path} has no column {', '.join(missing)}. Its header has: {', '.join(fieldnames)}. "
            "Name the columns with --postcode-column, --latitude-column and --longitude-column."
        )
    columns: dict[str, str | None] = {role: by_lower[col.lower()] for role, col in wanted.items()}
    columns.update({role: by_lower.get(col.lower()) for role, col in optional.items()})
    return columns


def _rows(reader: csv.DictReader, path: Path) -> Iterator[dict[str, str]]:
    try:
        yield from reader
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{path} cannot be read near line {reader.line_num}: {exc}.") from exc


def members_unplaced_place(*, chunk_size: int = 500) -> int:
    """Place the residents who are not on the map yet but whose postcode is now known.

    Only members with no location at all (`location_source` blank: their postcode was
    unknown and they put no pin) are looked at, in chunks by id; there are few of
    them, so each is placed through `member_location_set` (their areas follow).
    Returns how many were placed.
    """
    waiting = Member.objects.filter(
        location_source="",
        is_active=True,
        erased_at__isnull=True,
        postcode__in=Postcode.objects.values("postcode"),
    ).order_by("pk")
    placed, last_pk = 0, 0
    while True:
        chunk = list(waiting.filter(pk__gt=last_pk)[:chunk_size])
        if not chunk:
            return placed
        for member in chunk:
            placed += member_location_set(member=member, postcode=normalise_postcode(member.postcode))
        last_pk = chunk[-1].pk
