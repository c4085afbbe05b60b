"""Benchmark: the public alert feeds (alerts/feeds.py), built cold, served warm, and answered 304.

    .venv/bin/python bench/feeds.py [--alerts 500] [--wards 196] [--vertices 400]

It never touches development data: like bench/geo.py it works in a database of its own
(`mcv_bench_feeds` on the PostgreSQL of DATABASE_URL, or var/bench.sqlite3 without it,
with a warning), and each run deletes and seeds again only its own rows (the
organisation `bench-feeds`, areas coded `BENCHF-…`).

The town: a force area whose outline has 10 times `--vertices` points, tiled by a grid of
`--wards` wards, each with `--vertices` points along its edges, jittered by about 20 m
independently on each side, so that neighbours overlap in slivers as real boundary
files do. `--alerts` public alerts, newest a minute apart: 70% to one ward, 15% to a
circle, 10% to a drawn shape, 5% to the whole force area; 80% alerts, 10% appeals, 10%
news; one in three has an update.

For each feed it times, over 5 runs each: a cold build (the cache emptied first), a warm
answer (the body cached under its ETag) and a 304 (If-None-Match), and counts queries.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geo
from geo import bench_database_url, django_setup, say

geo.BENCH_DATABASE = "mcv_bench_feeds"  # bench_database_url() reads it when called

ORG_SLUG = "bench-feeds"
CODE_PREFIX = "BENCHF-"
# Around Maidstone: 0.6° of longitude by 0.4° of latitude.
WEST, SOUTH, WIDTH, HEIGHT = 0.2, 51.1, 0.6, 0.4
RUNS = 5


def jagged_edge(a, b, points: int, rng: np.random.Generator) -> list[list[float]]:
    """From corner a towards b, wobbling about 20 m across the edge (never along it, which
    could fold the outline over itself); it fades out towards the corners."""
    t = np.linspace(0, 1, points, endpoint=False)
    wobble = np.clip(rng.normal(0, 0.0002, points), -0.0005, 0.0005) * np.sin(np.pi * t)  # still at the corners
    across_x, across_y = (0.0, 1.0) if a[1] == b[1] else (1.0, 0.0)
    xs = a[0] + (b[0] - a[0]) * t + wobble * across_x
    ys = a[1] + (b[1] - a[1]) * t + wobble * across_y
    return [[round(float(x), 6), round(float(y), 6)] for x, y in zip(xs, ys, strict=True)]


def ward_geometry(x0, y0, x1, y1, vertices: int, rng) -> dict:
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    ring = []
    for i in range(4):
        ring += jagged_edge(corners[i], corners[(i + 1) % 4], max(vertices // 4, 2), rng)
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def force_geometry(vertices: int) -> dict:
    """The grid's outline, with its edges finely divided (real force boundaries are long)."""
    corners = [(WEST, SOUTH), (WEST + WIDTH, SOUTH), (WEST + WIDTH, SOUTH + HEIGHT), (WEST, SOUTH + HEIGHT)]
    ring = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        t = np.linspace(0, 1, vertices * 10 // 4, endpoint=False)
        ring += [[a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s] for s in t]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def seed(*, alerts: int, wards: int, vertices: int, rng: np.random.Generator):
    from django.db import transaction
    from django.utils import timezone

    from alerts.models import Alert, AlertUpdate
    from groups.models import Area
    from groups.services import area_upsert
    from members.models import Organisation

    with transaction.atomic():
        Alert.objects.filter(organisation__slug=ORG_SLUG).delete()
        Organisation.areas.through.objects.filter(organisation__slug=ORG_SLUG).delete()
        Area.objects.filter(code__startswith=CODE_PREFIX, level="ward").delete()
        Area.objects.filter(code__startswith=CODE_PREFIX).delete()
        org, _ = Organisation.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench Police", "kind": "police"})
        force, _ = area_upsert(code=f"{CODE_PREFIX}FORCE", name="Bench force", level="force",
                               geometry=force_geometry(vertices), recompute=False)  # fmt: skip
        org.areas.add(force)
        side = round(wards**0.5)
        dx, dy = WIDTH / side, HEIGHT / side
        ward_rows = []
        for i in range(side):
            for j in range(side):
                x0, y0 = WEST + i * dx, SOUTH + j * dy
                geometry = ward_geometry(x0, y0, x0 + dx, y0 + dy, vertices, rng)
                code = f"{CODE_PREFIX}W{i:02d}{j:02d}"
                ward, _ = area_upsert(code=code, name=f"Ward {i}-{j}", level="ward", geometry=geometry, parent=force,
                                      recompute=False)  # fmt: skip
                ward_rows.append(ward)
        now = timezone.now()
        rows = []
        for n in range(alerts):
            pick = rng.random()
            if pick < 0.70:
                audience = {"include": [{"area": ward_rows[int(rng.integers(len(ward_rows)))].pk}]}
            elif pick < 0.85:
                lon, lat = WEST + rng.random() * WIDTH, SOUTH + rng.random() * HEIGHT
                audience = {"include": [{"radius": {"lon": lon, "lat": lat, "metres": float(rng.integers(200, 3000))}}]}
            elif pick < 0.95:
                lon, lat = WEST + rng.random() * (WIDTH - 0.03), SOUTH + rng.random() * (HEIGHT - 0.02)
                square = [[lon, lat], [lon + 0.03, lat], [lon + 0.03, lat + 0.02], [lon, lat + 0.02], [lon, lat]]
                audience = {"include": [{"polygon": {"type": "Polygon", "coordinates": [square]}}]}
            else:
                audience = {"include": [{"area": force.pk}]}
            kind = "alert" if n % 10 < 8 else ("appeal" if n % 10 == 8 else "news")
            out = now - timedelta(minutes=n)
            rows.append(Alert(organisation=org, kind=kind, category="burglary", priority=int(1 + n % 5),
                              title=f"Bench alert {n}", body_markdown="Lock your doors.",
                              body_html="<p>Lock your doors. <strong>Now.</strong></p>", is_public=True,
                              audience=audience, status="published", published_at=out, created_at=out))  # fmt: skip
        made = Alert.objects.bulk_create(rows)
        AlertUpdate.objects.bulk_create(
            [AlertUpdate(alert=a, kind="update", body="An arrest was made.") for a in made[::3]]
        )
    return force, ward_rows, made


def measure(view, path: str, **kwargs) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    factory = RequestFactory()

    def call(**headers):
        request = factory.get(path, **headers)
        start = time.perf_counter()
        response = view(request, **kwargs)
        return time.perf_counter() - start, response

    cold, warm, not_modified = [], [], []
    queries = 0
    for _ in range(RUNS):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            took, response = call()
        assert response.status_code == 200, (path, response.status_code)
        cold.append(took)
        queries = len(captured)
        took, _ = call()
        warm.append(took)
        took, again = call(HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
        not_modified.append(took)
    return {
        "cold_ms": round(statistics.median(cold) * 1000, 1),
        "warm_ms": round(statistics.median(warm) * 1000, 1),
        "304_ms": round(statistics.median(not_modified) * 1000, 1),
        "queries_cold": queries,
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--wards", type=int, default=196)
    parser.add_argument("--vertices", type=int, default=400)
    args = parser.parse_args()
    django_setup(bench_database_url())

    from alerts import feeds

    rng = np.random.default_rng(20261124)
    say(f"Seeding {args.alerts} alerts over {args.wards} wards of {args.vertices} vertices…")
    force, wards, alerts = seed(alerts=args.alerts, wards=args.wards, vertices=args.vertices, rng=rng)
    ward = wards[len(wards) // 2]
    appeal = next(a for a in alerts if a.kind == "appeal")
    cases = {
        "site Atom": (feeds.alerts_atom, "/feeds/alerts.atom", {}),
        "site CAP index": (feeds.cap_index, "/feeds/cap.atom", {}),
        "ward Atom": (feeds.alerts_atom, f"/feeds/areas/{ward.code}/alerts.atom", {"code": ward.code}),
        "ward CAP index": (feeds.cap_index, f"/feeds/areas/{ward.code}/cap.atom", {"code": ward.code}),
        "force Atom": (feeds.alerts_atom, f"/feeds/areas/{force.code}/alerts.atom", {"code": force.code}),
        "force CAP index": (feeds.cap_index, f"/feeds/areas/{force.code}/cap.atom", {"code": force.code}),
        "one CAP message": (feeds.cap_alert, f"/feeds/cap/alerts/{appeal.pk}.xml", {"pk": appeal.pk}),
    }
    results = {name: measure(view, path, **kwargs) for name, (view, path, kwargs) in cases.items()}

    print(f"{'feed':<18} {'cold ms':>9} {'warm ms':>9} {'304 ms':>8} {'queries':>8} {'bytes':>9}")
    for name, r in results.items():
        print(f"{name:<18} {r['cold_ms']:>9} {r['warm_ms']:>9} {r['304_ms']:>8} {r['queries_cold']:>8} {r['bytes']:>9}")
    print(json.dumps({"bench": "feeds", **vars(args), "results": results}))


if __name__ == "__main__":
    main()
