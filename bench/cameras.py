"""Benchmark: an officer's camera search, with and without the bounding-box prefilter.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/cameras.py
    .venv/bin/python bench/cameras.py --cameras 100000 --searches 200   # a quick look

PostgreSQL only (the production database; SQLite figures would say nothing). It never
touches development data: it works in its own database, `mcv_bench_cameras` on the
server DATABASE_URL names (created if missing, migrated), and empties and reseeds it on
every run:

* one force, "Bench Police", responsible for a county-sized area shaped like Kent
  (a 14-vertex outline over about 1.4° by 0.6°);
* N/2 residents (verified email; 85% of them opted in to the force), living anywhere in
  the county, evenly spread (`--towns`: 70% of them crowded around twelve town centres,
  a normal spread of 1.5 to 4 km, the rest anywhere);
* N cameras (default 1,000,000): 55% doorbells and 30% fixed CCTV at or near their
  owners' homes, 15% dashcams (found by the owner's home); 90% willing to be asked;
  confirmed at some time in the last 500 days (so some have lapsed out of searches).

It then times `cameras.selectors.cameras_near` — the very selector behind the
officer's search page and API — for `--searches` incidents at random points in the
county (spread as the homes are), 500 m radius, after a warm-up of 20. Then the same
selector with `prefilter=False`, the same query without the bounding boxes, on the
first `--baseline` of those points (each one reads every camera: 1,000 of them would
take many minutes, and a sequential scan's time hardly varies). Each search's wall time
covers building the query, PostgreSQL, and turning the rows into results.

Prints a table, then (its last line) one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geo  # bench/geo.py: the database helpers

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mcv_bench_cameras"
RADIUS_M = 500
TARGET_P95_MS = 10.0
TARGET_RATIO = 20.0
# Kent, roughly: enough corners that the "inside the force's area" test is not a rectangle's.
COUNTY = [
    (0.03, 51.25),
    (0.10, 51.45),
    (0.30, 51.48),
    (0.55, 51.46),
    (0.80, 51.40),
    (1.10, 51.38),
    (1.42, 51.39),
    (1.45, 51.20),
    (1.35, 51.10),
    (1.10, 51.00),
    (0.95, 50.91),
    (0.75, 50.95),
    (0.40, 51.05),
    (0.15, 51.10),
]
# Town centres (lon, lat, spread in degrees of latitude; longitude spread is 1.6 times it).
TOWNS = [
    (0.522, 51.272, 0.030),
    (1.080, 51.280, 0.025),
    (0.872, 51.149, 0.025),
    (0.218, 51.446, 0.020),
    (0.368, 51.441, 0.020),
    (0.530, 51.378, 0.035),
    (0.263, 51.132, 0.020),
    (1.166, 51.081, 0.020),
    (1.310, 51.128, 0.015),
    (1.386, 51.381, 0.020),
    (0.190, 51.272, 0.015),
    (0.733, 51.340, 0.015),
]


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/cameras.py measures PostgreSQL: set DATABASE_URL=postgres://… (its own database is used).")
    geo.create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "mcv.settings"
    os.environ["DEBUG"] = "false"  # DEBUG would keep every query in memory
    os.environ.pop("REDIS_URL", None)  # the territory is cached in-process, as a web worker's is after the first
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# --- the data


def homes(rng: np.random.Generator, count: int, *, towns: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Points across the county, uniformly; with `towns`, 70% around twelve town centres."""
    import shapely

    county = shapely.Polygon(COUNTY)
    shapely.prepare(county)
    min_lon, min_lat, max_lon, max_lat = county.bounds
    lons, lats, have = [], [], 0
    while have < count:
        n = (count - have) * 2
        x, y = rng.uniform(min_lon, max_lon, n), rng.uniform(min_lat, max_lat, n)
        if towns:
            centres = np.array(TOWNS)[rng.integers(0, len(TOWNS), n)]
            spread = rng.standard_normal((n, 2)) * centres[:, 2:3] * np.array([1.6, 1.0])
            in_town = rng.random(n) < 0.7
            x = np.where(in_town, centres[:, 0] + spread[:, 0], x)
            y = np.where(in_town, centres[:, 1] + spread[:, 1], y)
        keep = shapely.contains_xy(county, x, y)
        lons.append(x[keep])
        lats.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(lons)[:count], np.concatenate(lats)[:count]


def seed(cameras: int, rng: np.random.Generator, *, towns: bool) -> int:
    """Empty the bench database and seed the force, its residents and their cameras. Returns the force's id."""
    from django.db import connection, transaction

    from groups.jurisdiction import territory_forget
    from groups.services import area_upsert
    from members.models import Organisation

    owners = max(1, cameras // 2)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE members_member, members_organisation, groups_area, cameras_camera RESTART IDENTITY CASCADE"
        )
    with transaction.atomic():
        force = Organisation.objects.create(name="Bench Police", slug="bench-police", kind="police")
        ring = [list(p) for p in COUNTY] + [list(COUNTY[0])]
        area, _ = area_upsert(
            code="BENCH-COUNTY",
            name="Bench county",
            level="force",
            geometry={"type": "Polygon", "coordinates": [ring]},
            recompute=False,
            is_synthetic=True,
        )
        force.areas.add(area)
    territory_forget(organisation=force.pk)

    lons, lats = homes(rng, owners, towns=towns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY members_member (password, is_superuser, email, first_name, last_name, phone, address_line1, "
            "address_line2, town, postcode, latitude, longitude, location_source, role, is_active, is_staff, "
            "date_joined) FROM STDIN"
        ) as copy,
    ):
        for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
            copy.write_row(
                (
                    "!",
                    False,
                    f"bench-{i}@example.invalid",
                    "Bench",
                    "Resident",
                    "",
                    "",
                    "",
                    "",
                    "",
                    lat,
                    lon,
                    "pin",
                    "resident",
                    True,
                    False,
                    "2026-01-01T00:00:00Z",
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO account_emailaddress (user_id, email, verified, "primary") '
            "SELECT id, email, true, true FROM members_member"
        )
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            "INSERT INTO members_organisationoptin (member_id, organisation_id, created_at) "
            "SELECT id, %s, now() FROM members_member WHERE random() < 0.85",
            [force.pk],
        )
    say(f"  {owners:,} residents in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    owner = rng.integers(1, owners + 1, cameras)  # ids 1..owners (RESTART IDENTITY)
    kind = rng.choice(np.array(["doorbell", "cctv", "dashcam"]), cameras, p=[0.55, 0.30, 0.15])
    pinned = (kind == "cctv") & (rng.random(cameras) < 0.5)  # a shop's or a garage's camera, near home
    lon = lons[owner - 1] + np.where(pinned, rng.normal(0, 0.002, cameras), 0.0)
    lat = lats[owner - 1] + np.where(pinned, rng.normal(0, 0.0012, cameras), 0.0)
    willing = rng.random(cameras) < 0.9
    retention = rng.choice(np.array([7, 14, 30, 31, 60, 90]), cameras)
    age_days = rng.uniform(0, 500, cameras)
    facing = rng.choice(np.array(["", "N", "NE", "E", "SE", "S", "SW", "W", "NW"]), cameras)
    now = time.time()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY cameras_camera (owner_id, kind, label, placement, latitude, longitude, facing, covers, "
            "retention_days, willing, confirmed_at, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for i in range(cameras):
            confirmed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - age_days[i] * 86400))
            copy.write_row(
                (
                    int(owner[i]),
                    kind[i],
                    "",
                    "pin" if pinned[i] else "home",
                    float(lat[i]),
                    float(lon[i]),
                    facing[i],
                    "the road outside",
                    int(retention[i]),
                    bool(willing[i]),
                    confirmed,
                    confirmed,
                    confirmed,
                )
            )
    with connection.cursor() as cursor:
        for table in ("members_member", "account_emailaddress", "members_organisationoptin", "cameras_camera"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    say(f"  {cameras:,} cameras in {time.perf_counter() - started:.1f} s")
    return force.pk


# --- the searches


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def time_searches(force_id: int, points: np.ndarray, *, prefilter: bool) -> dict:
    from django.utils import timezone

    from cameras.selectors import cameras_near

    incident_at = timezone.now() - timezone.timedelta(days=1)
    times, hits = [], []
    for lon, lat in points:
        started = time.perf_counter()
        found = cameras_near(
            organisation=force_id,
            lon=float(lon),
            lat=float(lat),
            metres=RADIUS_M,
            incident_at=incident_at,
            prefilter=prefilter,
        )
        times.append((time.perf_counter() - started) * 1000)
        hits.append(len(found))
    return {
        "searches": len(points),
        "p50_ms": round(percentile(times, 50), 3),
        "p95_ms": round(percentile(times, 95), 3),
        "max_ms": round(max(times), 3),
        "mean_cameras_found": round(statistics.fmean(hits), 1),
        "_hits": hits,
    }


def explain(force_id: int, lon: float, lat: float) -> str:
    from django.db import connection

    from cameras.selectors import cameras_near_sql

    sql, params = cameras_near_sql(organisation=force_id, lon=lon, lat=lat, metres=RADIUS_M)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=100, help="searches timed without the prefilter")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--reuse", action="store_true", help="keep the data already seeded (same --cameras)")
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL's plan for one search")
    parser.add_argument(
        "--towns", action="store_true", help="crowd 70%% of homes and incidents into twelve town centres"
    )
    args = parser.parse_args()

    django_setup(bench_database_url())
    import django.db

    from cameras.models import Camera
    from members.models import Organisation

    rng = np.random.default_rng(args.seed)
    if args.reuse and Camera.objects.count() == args.cameras:
        force_id = Organisation.objects.get(slug="bench-police").pk
        say(f"Reusing {args.cameras:,} cameras.")
    else:
        say(f"Seeding {args.cameras:,} cameras…")
        force_id = seed(args.cameras, rng, towns=args.towns)

    # Incidents at random points, spread as the homes are.
    points = np.column_stack(homes(np.random.default_rng(args.seed + 1), args.searches + 20, towns=args.towns))
    warm, points = points[:20], points[20:]
    time_searches(force_id, warm, prefilter=True)
    say(f"Timing {len(points):,} searches of {RADIUS_M} m with the prefilter…")
    fast = time_searches(force_id, points, prefilter=True)
    baseline_points = points[: args.baseline]
    say(f"Timing {len(baseline_points):,} of the same searches without it…")
    slow = time_searches(force_id, baseline_points, prefilter=False)
    # Same answers: the prefilter changes only the speed.
    same = fast["_hits"][: len(baseline_points)] == slow["_hits"]
    del fast["_hits"], slow["_hits"]
    if args.explain:
        say(explain(force_id, float(points[0][0]), float(points[0][1])))

    version = django.db.connection.cursor().connection.info.server_version
    ratio_p50 = slow["p50_ms"] / fast["p50_ms"]
    ratio_p95 = slow["p95_ms"] / fast["p95_ms"]
    rows = [
        ("with the bounding-box prefilter", fast),
        ("without it (distance to every camera)", slow),
    ]
    spread = "70% in town centres" if args.towns else "spread evenly"
    print(f"Camera search, {RADIUS_M} m radius, {args.cameras:,} cameras {spread}, PostgreSQL {version // 10000}")
    print()
    print(
        f"| {'query':<40} | {'searches':>8} | {'p50 ms':>8} | {'p95 ms':>8} | {'max ms':>8} | {'cameras found':>13} |"
    )
    print(f"| {'-' * 40} | {'-' * 8}:| {'-' * 8}:| {'-' * 8}:| {'-' * 8}:| {'-' * 13}:|")
    for name, r in rows:
        print(
            f"| {name:<40} | {r['searches']:>8} | {r['p50_ms']:>8.2f} | {r['p95_ms']:>8.2f} | {r['max_ms']:>8.2f} "
            f"| {r['mean_cameras_found']:>13} |"
        )
    print()
    print(f"The prefilter is {ratio_p50:.0f}× faster at p50 and {ratio_p95:.0f}× at p95; same results: {same}.")
    met = fast["p95_ms"] < TARGET_P95_MS and ratio_p95 >= TARGET_RATIO
    verdict = "met" if met else "NOT met"
    print(f"Targets (p95 under {TARGET_P95_MS:.0f} ms, at least {TARGET_RATIO:.0f}× faster): {verdict}.")
    print(
        json.dumps(
            {
                "bench": "cameras",
                "cameras": args.cameras,
                "spread": "towns" if args.towns else "uniform",
                "radius_m": RADIUS_M,
                "postgresql": version,
                "prefilter": fast,
                "no_prefilter": slow,
                "ratio_p50": round(ratio_p50, 1),
                "ratio_p95": round(ratio_p95, 1),
                "same_results": same,
                "target_p95_ms": TARGET_P95_MS,
                "target_ratio": TARGET_RATIO,
                "met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
