"""Benchmark: what the officer composing an alert waits for, on a big force.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/alerts_audience.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/alerts_audience.py --members 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/alerts_audience.py --reuse

PostgreSQL only (what production runs; SQLite figures would say little). It works in
its own database, `mcv_bench_alerts` on the same server (created if missing, migrated),
and empties and reseeds it on every run (`--reuse` times the last run's data again):

* one district (bench/geo.py's irregular outline around Maidstone) with N residents
  inside it, all verified and opted in to one force, its `AreaMember` rows computed;
* D dispatches from that force in the last week, each delivered (inbox and email) to
  a different random 60% of the residents: D x 1.2 N delivery rows.

It then times, each run three times (the median is reported):

* **live count, district**: `audience_size_by_channel` for the district, what the
  compose page asks each time the targeting changes;
* **live count, drawn shape**: the same for a polygon drawn over half the district,
  and **live count, circle** for a circle of 5 km around its middle; each also counted
  the way the fan-out selects its audience (`audience_members`: the shape's ids sent
  back to the database), which is how the live count worked before, and the two
  answers must be equal;
* **flood check, district** and **flood check, drawn shape**:
  `alerts.selectors.audience_recent_messages`, how many of the week's messages reached
  the audience and how many each member had.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import geo  # noqa: E402  (bench/geo.py: the district, the residents, the database helpers)

BENCH_DATABASE = "mcv_bench_alerts"
RUNS = 3


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def database_url() -> str:
    import os

    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/alerts_audience.py needs DATABASE_URL=postgres://… (its own database is made there).")
    geo._create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def insert_for_every_member(model, overrides: dict, *, member_column: str = "member_id", where: str = "") -> None:
    """One INSERT … SELECT: a row of `model` for every member, its other columns at their defaults."""
    from django.db import connection

    from members.models import Member

    template = model()
    fields = [
        f for f in model._meta.concrete_fields
        if not f.primary_key and f.column != member_column and f.db_default is models_not_provided()
    ]  # fmt: skip
    columns = [f.column for f in fields]
    values = []
    for f in fields:
        if f.column in overrides:
            values.append(overrides[f.column])
        else:
            values.append(f.get_db_prep_save(getattr(template, f.attname, None), connection))
    select = ", ".join(["%s"] * len(values))
    member_table = Member._meta.db_table
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}, {member_column}) "  # noqa: S608
        f"SELECT {select}, id FROM {member_table} {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def models_not_provided():
    from django.db.models.fields import NOT_PROVIDED

    return NOT_PROVIDED


def seed(members: int, dispatches: int, rng: np.random.Generator) -> dict:
    import shapely
    from allauth.account.models import EmailAddress
    from django.db import connection, transaction
    from django.utils import timezone

    from groups.services import area_members_recompute, area_upsert
    from members.models import Organisation, OrganisationOptIn, Preferences
    from notifications.models import Delivery, Dispatch

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE members_member, members_organisation, groups_area, notifications_dispatch, "
            "notifications_delivery, groups_areamember RESTART IDENTITY CASCADE"
        )
    geometry = geo.district_geometry(rng)
    shape = shapely.geometry.shape(geometry)
    lons, lats = geo.seed_points(shape, rng, members)
    started = time.perf_counter()
    geo.seed_members(lons, lats)
    with transaction.atomic():
        police = Organisation.objects.create(name="Bench Police", slug="bench-police", kind="police")
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO {EmailAddress._meta.db_table} (user_id, email, verified, "primary") '  # noqa: S608
                "SELECT id, email, true, true FROM members_member"
            )
        insert_for_every_member(Preferences, {"updated_at": now})
        insert_for_every_member(OrganisationOptIn, {"organisation_id": police.pk, "created_at": now})
        district, _ = area_upsert(
            code=geo.DISTRICT_CODE, name="Maidstone", level="district", geometry=geometry, recompute=False
        )
        police.areas.add(district)
    area_members_recompute(area_id=district.pk)
    week = []
    for k in range(dispatches):
        dispatch = Dispatch.objects.create(
            organisation=police, source_type="bench", source_id=str(k), subject=f"Bench {k}", body_text="Bench.",
            status=Dispatch.Status.DONE, created_at=now - (k + 1) * (timezone.timedelta(hours=12)),
            audience={"include": [{"area": district.pk}]},
        )  # fmt: skip
        week.append(dispatch.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Delivery._meta.db_table} "  # noqa: S608
                "(dispatch_id, member_id, channel, status, attempts, provider_id, error, created_at, sent_at) "
                "SELECT %s, id, c.channel, 'sent', 1, '', '', %s, %s FROM members_member "
                "CROSS JOIN (VALUES ('inbox'), ('email')) AS c(channel) WHERE random() < 0.6",
                [dispatch.pk, now, now],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute(f"SELECT count(*) FROM {Delivery._meta.db_table}")  # noqa: S608
        deliveries = cursor.fetchone()[0]
    say(f"Seeded {len(lons):,} members and {deliveries:,} deliveries in {time.perf_counter() - started:.1f} s.")
    return {"organisation": police, "district": district, "dispatches": dispatches, "deliveries": deliveries}


def reuse() -> dict:
    """The last run's data, to time again without reseeding."""
    from groups.models import Area
    from members.models import Organisation
    from notifications.models import Delivery, Dispatch

    police = Organisation.objects.filter(slug="bench-police").first()
    if police is None:
        sys.exit("Nothing to reuse: run once without --reuse.")
    district = Area.objects.get(code=geo.DISTRICT_CODE)
    dispatches = Dispatch.objects.filter(organisation=police).count()
    return {
        "organisation": police,
        "district": district,
        "dispatches": dispatches,
        "deliveries": Delivery.objects.count(),
    }


def shapes(district) -> tuple[dict, dict]:
    """A polygon drawn over the western half of the district's box, and a 5 km circle in its middle."""
    import shapely

    minx, miny, maxx, maxy = shapely.geometry.shape(district.geometry).bounds
    half = {
        "type": "Polygon",
        "coordinates": [
            [[minx, miny], [(minx + maxx) / 2, miny], [(minx + maxx) / 2, maxy], [minx, maxy], [minx, miny]]
        ],
    }
    circle = {"lon": (minx + maxx) / 2, "lat": (miny + maxy) / 2, "metres": 5_000}
    return half, circle


def timed(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--dispatches", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="time the last run's data again, without reseeding")
    args = parser.parse_args()
    geo.django_setup(database_url())

    from alerts.selectors import audience_recent_messages
    from notifications.audience import audience_members, audience_size_by_channel, channel_conditions

    world = reuse() if args.reuse else seed(args.members, args.dispatches, np.random.default_rng(20261124))
    org = world["organisation"].pk
    half, circle = shapes(world["district"])
    specs = {
        "district": {"include": [{"area": world["district"].pk}]},
        "drawn shape": {"include": [{"polygon": half}]},
        "circle": {"include": [{"radius": circle}]},
    }

    from django.db.models import Count

    def count_as_fan_out(spec: dict) -> dict:
        """The count over the fan-out's audience query: what the live count ran before."""
        conditions = channel_conditions(priority=3)
        return audience_members(spec=spec, organisation=org).aggregate(
            members=Count("pk"), **{c: Count("pk", filter=q) for c, q in conditions.items()}
        )

    rows = []
    results = {}
    members = None
    for name, spec in specs.items():
        key = name.replace(" ", "_")
        seconds, counts = timed(lambda s=spec: audience_size_by_channel(spec=s, organisation=org, priority=3))
        rows.append((f"live count, {name}", seconds, f"{counts['members']:,} members"))
        results[f"count_{key}_s"] = round(seconds, 3)
        if name == "district":
            members = counts["members"]
        else:
            seconds, before = timed(lambda s=spec: count_as_fan_out(s))
            if before != counts:
                sys.exit(f"The live count of the {name} differs from its fan-out's audience: {counts} != {before}")
            rows.append(("  … by the fan-out's query", seconds, "the same counts"))
            results[f"count_{key}_fan_out_query_s"] = round(seconds, 3)
        if name == "circle":
            continue
        seconds, recent = timed(
            lambda s=spec, n=counts["members"]: audience_recent_messages(organisation=org, spec=s, audience_members=n)
        )
        rows.append((f"flood check, {name}", seconds, f"{recent['dispatches']} messages, {recent['average']} each"))
        results[f"flood_{key}_s"] = round(seconds, 3)

    print(
        f"{members:,} residents in the district, {world['dispatches']} messages this week, "
        f"{world['deliveries']:,} deliveries (median of {RUNS} runs)\n"
    )
    print(f"| {'measurement':<26} | {'seconds':>8} | result |")
    print(f"| {'-' * 26} | {'-' * 8}: | --- |")
    for name, seconds, what in rows:
        print(f"| {name:<26} | {seconds:>8.3f} | {what} |")
    print(
        json.dumps(
            {"members": members, "dispatches": world["dispatches"], "deliveries": world["deliveries"], **results}
        )
    )


if __name__ == "__main__":
    main()
