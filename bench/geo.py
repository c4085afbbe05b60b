"""Benchmark: who lives in a district, `area_members_recompute` against a naive Python loop.

    .venv/bin/python bench/geo.py [--members 100000] [--profile]
    .venv/bin/python bench/geo.py --members 1000000

It never touches development data. With DATABASE_URL pointing at PostgreSQL it works
in its own database, `mcv_bench` on the same server (created if missing, migrated);
without DATABASE_URL it falls back to SQLite in var/bench.sqlite3, with a warning
(SQLite figures say little about production). Each run empties the bench database's
members and areas and seeds them again:

* one district: a 60-vertex irregular polygon around Maidstone, about 0.3° by 0.2°,
  with a hole (an enclave belonging to another district);
* N members at random points inside it, N/20 more inside its bounding box but
  outside the polygon (in the hole or the bays of its outline), and N/10 more
  outside its bounding box.

It then times (a) `groups.services.area_members_recompute` for the district, from an
empty `AreaMember`, and again when nothing changes; and (b) the naive way, one
`Polygon.contains(Point(lon, lat))` per member of the bounding box, in Python. Above
100,000 members in the box the naive loop is timed on a random sample of 100,000 and
scaled linearly (it is linear: one independent test per member); and (c) the naive
recompute: the same loop over members read through the ORM, writing one AreaMember
per member inside (timed on 5,000 members in a rolled-back transaction, scaled). The
headline speed-up compares (a) with (c), like for like (both read and write); the
speed-up against (b), tests only, is printed too.

The bench process is pinned to one CPU. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mcv_bench"
NAIVE_SAMPLE = 100_000
DISTRICT_CODE = "BENCH-MAIDSTONE"
# Maidstone town centre; the district is about 0.3° of longitude by 0.2° of latitude.
CENTRE = (0.522, 51.272)
SEMI_AXES = (0.15, 0.10)
FIRST_NAMES = ["Alex", "Sam", "Jo", "Pat", "Chris", "Lee", "Robin", "Charlie", "Jamie", "Morgan"]
LAST_NAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright"]


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- the database: our own, never the developer's


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        say(
            "WARNING: DATABASE_URL is not set, so this runs on SQLite (var/bench.sqlite3). "
            "Production runs on PostgreSQL: set DATABASE_URL=postgres://… for figures that mean something."
        )
        (ROOT / "var").mkdir(exist_ok=True)
        return f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/geo.py runs on PostgreSQL or SQLite, not {parts.scheme}.")
    create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def create_database_if_missing(maintenance_url: str, name: str) -> None:
    """Each bench works in a database of its own, created here the first time."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            say(f"Creating database {name}.")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "mcv.settings"
    # Not DEBUG: Django would keep every statement (with its million-element parameters) in memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# --- the data


def district_geometry(rng: np.random.Generator) -> dict:
    """A 60-vertex irregular outline around Maidstone with a 12-vertex hole, as GeoJSON."""
    n = 60
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(-0.03, 0.03, n)
    radius = 1 + 0.12 * np.sin(3 * theta + 1.0) + 0.07 * np.sin(7 * theta) + rng.normal(0, 0.04, n)
    radius = np.clip(radius, 0.7, 1.25) / 1.12
    lons = CENTRE[0] + SEMI_AXES[0] * radius * np.cos(theta)
    lats = CENTRE[1] + SEMI_AXES[1] * radius * np.sin(theta)
    shell = [[round(x, 6), round(y, 6)] for x, y in zip(lons, lats, strict=True)]
    hole_theta = np.linspace(2 * np.pi, 0, 12, endpoint=False)  # clockwise, as RFC 7946 has holes
    hole = [
        [round(CENTRE[0] + 0.04 + 0.025 * np.cos(t), 6), round(CENTRE[1] - 0.02 + 0.015 * np.sin(t), 6)]
        for t in hole_theta
    ]
    return {"type": "Polygon", "coordinates": [[*shell, shell[0]], [*hole, hole[0]]]}


def seed_points(geom, rng: np.random.Generator, members: int) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes: `members` inside the district, N/20 in its bbox but outside, N/10 beyond."""
    import shapely

    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds

    def in_bbox(count: int, inside: bool) -> tuple[np.ndarray, np.ndarray]:
        xs, ys, have = [], [], 0
        while have < count:
            x = rng.uniform(minx, maxx, max(2 * (count - have), 1000))
            y = rng.uniform(miny, maxy, len(x))
            keep = shapely.contains_xy(geom, x, y) == inside
            xs.append(x[keep])
            ys.append(y[keep])
            have += int(keep.sum())
        return np.concatenate(xs)[:count], np.concatenate(ys)[:count]

    inside_x, inside_y = in_bbox(members, inside=True)
    around_x, around_y = in_bbox(members // 20, inside=False)
    # Elsewhere in Kent and beyond, never inside the district's bounding box.
    far = members // 10
    far_x = rng.uniform(-0.2, 1.5, far)
    far_y = np.where(rng.random(far) < 0.5, rng.uniform(50.9, miny - 0.001, far), rng.uniform(maxy + 0.001, 51.6, far))
    lons = np.concatenate([inside_x, around_x, far_x])
    lats = np.concatenate([inside_y, around_y, far_y])
    order = rng.permutation(len(lons))  # not sorted by place: ids and locations unrelated, as in life
    return lons[order], lats[order]


def seed_members(lons: np.ndarray, lats: np.ndarray) -> None:
    """Residents at these points, in bulk: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection

    from members.models import Member

    template = Member(email="", first_name="", last_name="", role=Member.Role.RESIDENT, is_active=True)
    template.set_unusable_password()
    fields = [f for f in Member._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    constant = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    where = {name: columns.index(name) for name in ("email", "first_name", "last_name", "longitude", "latitude")}
    where["location_source"] = columns.index("location_source")
    constant[where["location_source"]] = "pin"

    def rows():
        row = list(constant)
        for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
            row[where["email"]] = f"bench-{i}@example.invalid"
            row[where["first_name"]] = FIRST_NAMES[i % 10]
            row[where["last_name"]] = LAST_NAMES[(i // 10) % 10]
            row[where["longitude"]] = lon
            row[where["latitude"]] = lat
            yield tuple(row)

    table = Member._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
            batch = []
            for row in rows():
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)


def reset_and_seed(members: int, rng: np.random.Generator):
    """Empty the bench database's members and areas, then seed the district and its residents."""
    from django.db import DatabaseError, connection, transaction

    from groups.models import Area, AreaMember
    from groups.services import area_upsert
    from members.models import Member

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"TRUNCATE {AreaMember._meta.db_table}, {Area._meta.db_table}, {Member._meta.db_table} "
                "RESTART IDENTITY CASCADE"
            )
        else:
            for model in (AreaMember, Area, Member):
                cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
    geometry = district_geometry(rng)
    with transaction.atomic():
        area, _ = area_upsert(
            code=DISTRICT_CODE,
            name="Maidstone (synthetic benchmark district)",
            level="district",
            geometry=geometry,
            is_synthetic=True,
            recompute=False,
        )
    lons, lats = seed_points(area.shape, rng, members)
    started = time.perf_counter()
    with transaction.atomic():
        seed_members(lons, lats)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Member._meta.db_table}")
            # Start the timings with the seeding's writes on disk, not half-way through their checkpoint.
            try:
                cursor.execute("CHECKPOINT")
            except DatabaseError as exc:  # it needs superuser or pg_checkpoint; only a nicety
                say(f"(no CHECKPOINT: {exc})")
    say(f"Seeded {len(lons):,} members in {time.perf_counter() - started:.1f} s.")
    return area


# --- the measurements


def time_recompute(area) -> tuple[float, dict]:
    from groups.services import area_members_recompute

    started = time.perf_counter()
    result = area_members_recompute(area_id=area.pk)
    return time.perf_counter() - started, result


def naive(area, rng: np.random.Generator) -> dict[str, float | int]:
    """The naive way, one `contains` per member of the bbox in Python, against the service's vectorised test.

    Both run on the same candidates (fetched once, untimed) so that this is like for like:
    the point-in-polygon work alone.
    """
    from unittest import mock

    from shapely.geometry import Point, shape

    from groups import services

    candidates = services._members_in_bbox(area)
    _, lons, lats = candidates
    in_bbox = len(lons)

    area.__dict__.pop("shape", None)
    started = time.perf_counter()
    with mock.patch.object(services, "_members_in_bbox", return_value=candidates):
        vectorised = len(services.area_members_compute(area))
    vectorised_s = time.perf_counter() - started

    if in_bbox > NAIVE_SAMPLE:
        pick = rng.choice(in_bbox, NAIVE_SAMPLE, replace=False)
        lons, lats = lons[pick], lats[pick]
    points = list(zip(lons.tolist(), lats.tolist(), strict=True))
    polygon = shape(area.geometry)  # as a naive import would have it: not prepared
    started = time.perf_counter()
    inside = 0
    for lon, lat in points:
        if polygon.contains(Point(lon, lat)):
            inside += 1
    seconds = time.perf_counter() - started
    return {
        "naive_s": seconds * in_bbox / len(points),
        "in_bbox": in_bbox,
        "sampled": len(points),
        "inside_sample": inside,
        "vectorised_s": vectorised_s,
        "vectorised_inside": vectorised,
    }


def naive_recompute(area, sample: int = 5_000) -> dict[str, float | int]:
    """The naive *recompute*: members one at a time through the ORM, `contains`, one INSERT each.

    This is the design the issue rules out ("never one member at a time in Python"),
    with the same reads and writes as the real recompute. Timed on the first `sample`
    members of the bounding box, in a transaction that is rolled back, and scaled
    linearly to all the members in the box.
    """
    from django.db import transaction
    from shapely.geometry import Point, shape

    from groups.models import AreaMember
    from members.models import Member

    polygon = shape(area.geometry)
    in_box = Member.objects.filter(
        longitude__gte=area.min_lon,
        longitude__lte=area.max_lon,
        latitude__gte=area.min_lat,
        latitude__lte=area.max_lat,
        is_active=True,
        erased_at__isnull=True,
    ).order_by("pk")
    total = in_box.count()
    started = time.perf_counter()
    with transaction.atomic():
        AreaMember.objects.filter(area=area).delete()
        delete_s = time.perf_counter() - started
        started = time.perf_counter()
        done = 0
        for member in in_box[:sample].iterator(chunk_size=1000):
            if polygon.contains(Point(member.longitude, member.latitude)):
                AreaMember.objects.create(area=area, member=member)
            done += 1
        loop_s = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"naive_recompute_s": delete_s + loop_s * total / max(done, 1), "naive_recompute_sampled": done}


def profile(area) -> dict[str, float]:
    """Where a from-empty recompute's time goes: the service's own steps, timed one by one.

    Runs in a transaction that is rolled back. On PostgreSQL the foreign keys of
    `AreaMember` are checked at commit (they are deferred); here they are forced with
    SET CONSTRAINTS ALL IMMEDIATE so that their cost shows as a phase of its own.
    """
    from unittest import mock

    from django.db import connection, transaction

    from groups import services
    from groups.models import AreaMember

    phases: dict[str, float] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {AreaMember._meta.db_table}")
            else:
                cursor.execute(f"DELETE FROM {AreaMember._meta.db_table}")  # noqa: S608
        area.__dict__.pop("shape", None)
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            phases[name] = now - clock
            clock = now

        candidates = services._members_in_bbox(area)
        lap("fetch candidates (SQL, into numpy)")
        with mock.patch.object(services, "_members_in_bbox", return_value=candidates):
            now_ids = services.area_members_compute(area)
        lap("point in polygon (GEOS, vectorised)")
        held = services._area_member_ids(area.pk)
        to_add = np.setdiff1d(now_ids, held, assume_unique=True)
        lap("members held + difference")
        services._insert_area_members(area.pk, to_add)
        lap("insert AreaMember")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            lap("foreign key checks (at commit)")
        transaction.set_rollback(True)
    return phases


def schema_variants(area) -> dict[str, dict[str, float]]:
    """What other shapes of the `AreaMember` table would cost: PostgreSQL only, all rolled back.

    Each variant is made with DDL inside a transaction (PostgreSQL's DDL is transactional),
    timed (a recompute from empty, its deferred foreign-key checks forced, then a recompute
    that changes nothing), and rolled back: the bench database keeps its migrated schema.
    """
    from django.db import connection, transaction

    from groups.models import AreaMember
    from groups.services import area_members_recompute

    table = AreaMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        foreign_keys = [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for (name,) in cursor.fetchall()]
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        # Django's own index on each foreign key: redundant with (area_id, member_id) and (member_id, area_id).
        redundant = [
            f"DROP INDEX {name}"
            for (name,) in cursor.fetchall()
            if name.startswith((f"{table}_area_id_", f"{table}_member_id_"))
        ]
    unique = AreaMember._meta.constraints[0].name
    composite = [f"ALTER TABLE {table} DROP COLUMN id", f"ALTER TABLE {table} DROP CONSTRAINT {unique}"]
    composite.append(f"ALTER TABLE {table} ADD PRIMARY KEY (area_id, member_id)")
    variants = {
        "as migrated (id, 5 indexes, 2 foreign keys)": [],
        "no redundant indexes, no foreign keys": redundant + foreign_keys,
        "composite key (area, member), no foreign keys": redundant + foreign_keys + composite,
        "composite key (area, member), foreign keys kept": redundant + composite,
    }
    results = {}
    for name, ddl in variants.items():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table}")
                for statement in ddl:
                    cursor.execute(statement)
            area.__dict__.pop("shape", None)
            started = time.perf_counter()
            area_members_recompute(area_id=area.pk)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            from_empty = time.perf_counter() - started
            started = time.perf_counter()
            area_members_recompute(area_id=area.pk)
            again = time.perf_counter() - started
            transaction.set_rollback(True)
        results[name] = {"recompute_s": round(from_empty, 3), "recompute_again_s": round(again, 3)}
        say(f"schema variant: {name}: {from_empty:.2f} s from empty, {again:.2f} s again")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="Members inside the district (default 100000).")
    parser.add_argument("--seed", type=int, default=20251124, help="Random seed (same seed, same data).")
    parser.add_argument("--profile", action="store_true", help="Also time the recompute's phases one by one.")
    parser.add_argument(
        "--schema-variants",
        action="store_true",
        help="PostgreSQL: also time other shapes of the AreaMember table (in transactions rolled back).",
    )
    args = parser.parse_args()
    if args.members < 1:
        parser.error("--members must be at least 1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for the bench process

    django_setup(bench_database_url())
    from django.db import connection

    from groups.models import AreaMember

    rng = np.random.default_rng(args.seed)
    area = reset_and_seed(args.members, rng)

    recompute_s, first = time_recompute(area)
    recompute_again_s, again = time_recompute(area)
    assert first["members"] == args.members == AreaMember.objects.filter(area=area).count(), first
    assert (again["added"], again["removed"]) == (0, 0), again
    n = naive(area, rng)
    nr = naive_recompute(area)
    naive_s, in_bbox, sampled, inside_sample = n["naive_s"], n["in_bbox"], n["sampled"], n["inside_sample"]
    assert n["vectorised_inside"] == args.members, n
    expected_inside = args.members * sampled / in_bbox
    if sampled == in_bbox:
        assert inside_sample == args.members, (inside_sample, args.members)  # same answer as the service
    phases = profile(area) if args.profile else {}
    variants = schema_variants(area) if args.schema_variants and connection.vendor == "postgresql" else {}

    server = connection.vendor
    if server == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
    figures = {
        "database": server,
        "members": args.members,
        "members_total": args.members + args.members // 20 + args.members // 10,
        "members_in_bbox": in_bbox,
        "recompute_s": round(recompute_s, 3),
        "recompute_again_s": round(recompute_again_s, 3),
        "naive_s": round(naive_s, 3),
        "naive_sampled": sampled,
        "naive_recompute_s": round(nr["naive_recompute_s"], 3),
        "naive_recompute_sampled": nr["naive_recompute_sampled"],
        "speedup": round(nr["naive_recompute_s"] / recompute_s, 1),
        "speedup_again": round(nr["naive_recompute_s"] / recompute_again_s, 1),
        "speedup_vs_contains_loop": round(naive_s / recompute_s, 1),
        "vectorised_test_s": round(n["vectorised_s"], 3),
        "test_speedup": round(naive_s / n["vectorised_s"], 1),
    }
    if phases:
        figures["phases_s"] = {k: round(v, 3) for k, v in phases.items()}
    if variants:
        figures["schema_variants"] = variants

    scaled = f" (timed on {sampled:,}, scaled)" if sampled < in_bbox else ""
    rows = [
        ("members in the district", f"{args.members:,}"),
        ("members seeded (in bbox / all)", f"{in_bbox:,} / {figures['members_total']:,}"),
        ("recompute, from empty", f"{recompute_s:.2f} s"),
        ("recompute, nothing changed", f"{recompute_again_s:.2f} s"),
        ("naive contains() loop, tests only" + scaled, f"{naive_s:.2f} s"),
        (
            f"naive recompute: ORM + contains + INSERT per member (timed on {nr['naive_recompute_sampled']:,}, scaled)",
            f"{nr['naive_recompute_s']:.2f} s",
        ),
        ("speed-up (naive recompute / recompute)", f"{figures['speedup']}× (again: {figures['speedup_again']}×)"),
        ("speed-up (contains loop / recompute)", f"{figures['speedup_vs_contains_loop']}×"),
        ("vectorised test alone (same candidates)", f"{n['vectorised_s']:.3f} s"),
        ("speed-up of the test (naive / vectorised)", f"{figures['test_speedup']}×"),
        ("database", server),
    ]
    rows += [(f"  phase: {k}", f"{v:.3f} s") for k, v in phases.items()]
    rows += [
        (f"  schema: {k}", f"{v['recompute_s']:.2f} s from empty, {v['recompute_again_s']:.2f} s again")
        for k, v in variants.items()
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'':-<{width + 20}}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"{'':-<{width + 20}}")
    if sampled < in_bbox:
        print(f"(naive sample: {inside_sample:,} inside, {expected_inside:,.0f} expected)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
