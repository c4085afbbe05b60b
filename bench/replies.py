"""Benchmark: what an officer waits for in the reply inbox of a big force.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/replies.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/replies.py --threads 500000

PostgreSQL only. It works in its own database, `mcv_bench_replies` on the same server
(created if missing, migrated), and empties and reseeds it on every run:

* one district (bench/geo.py's synthetic outline) cut into 16 wards, with R residents
  inside it, their `AreaMember` rows computed, the force responsible for it;
* D alerts from that force, and T reply threads spread over them (each a different
  resident and alert), with one message from the resident each and an officer's answer
  on half; 10% still open (--open-percent: a force working its inbox closes threads),
  half of those unread, and 1% of all threads urgent (all of them open); a third
  assigned among 10 officers.

It then times, each three times (the median is reported), the officer's reply inbox as
the page asks for it: the view counts, a page of 25 (open, urgent, unread, one ward, one
alert and one ward), the filter choices, the nav badge, the whole page through Django's
test client, and `reply_stats` for 50 alerts (what an alert list shows). The last line
printed is one JSON object.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

import geo  # (bench/geo.py: the district, the residents, the database helpers)

BENCH_DATABASE = "mcv_bench_replies"
RUNS = 3
WARDS_PER_SIDE = 4


def database_url() -> str:
    import os

    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/replies.py needs DATABASE_URL=postgres://… (its own database is made there).")
    geo._create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def seed(residents: int, dispatches: int, threads: int, open_percent: int, rng: np.random.Generator) -> dict:
    from allauth.mfa.models import Authenticator
    from django.db import connection, transaction
    from django.utils import timezone

    from groups.services import area_members_recompute, area_upsert
    from members.models import Member, Organisation
    from notifications.models import Dispatch

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE replies_message, replies_thread, replies_rating, notifications_dispatch, "
            "notifications_delivery, members_organisation RESTART IDENTITY CASCADE"
        )
    district = geo.reset_and_seed(residents, rng)
    started = time.perf_counter()
    minx, miny, maxx, maxy = district.shape.bounds
    dx, dy = (maxx - minx) / WARDS_PER_SIDE, (maxy - miny) / WARDS_PER_SIDE
    wards = []
    for i in range(WARDS_PER_SIDE):
        for j in range(WARDS_PER_SIDE):
            x0, y0 = minx + i * dx, miny + j * dy
            square = [[x0, y0], [x0 + dx, y0], [x0 + dx, y0 + dy], [x0, y0 + dy], [x0, y0]]
            ward, _ = area_upsert(
                code=f"E05BENCH{i}{j}",
                name=f"Bench ward {i}{j}",
                level="ward",
                geometry={"type": "Polygon", "coordinates": [square]},
                parent=district,
                is_synthetic=True,
                recompute=False,
            )
            wards.append(ward)
    for ward in wards:
        area_members_recompute(area_id=ward.pk)
    now = timezone.now()
    with transaction.atomic():
        police = Organisation.objects.create(name="Bench Police", slug="bench-police", kind="police")
        police.areas.add(district)
        officers = [
            Member.objects.create_user(
                f"officer{k}@bench.invalid",
                None,
                first_name="Officer",
                last_name=str(k),
                role=Member.Role.OFFICER,
                organisation=police,
            )
            for k in range(10)
        ]
        Authenticator.objects.create(user=officers[0], type=Authenticator.Type.TOTP, data={"secret": "x"})
        alerts = [
            Dispatch.objects.create(
                organisation=police,
                source_type="alerts.alert",
                source_id=str(k),
                subject=f"Bench alert {k}",
                body_text="Bench.",
                status=Dispatch.Status.DONE,
                audience={"include": []},
                created_at=now - timezone.timedelta(hours=k),
            )
            for k in range(dispatches)
        ]
        first_alert, officer_ids = alerts[0].pk, [o.pk for o in officers]
        with connection.cursor() as cursor:
            # Thread k: alert k mod D, resident k div D (so no two alike); times spread over 30 days.
            cursor.execute(
                "WITH m AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM members_member "
                "WHERE role = 'resident') "
                "INSERT INTO replies_thread (organisation_id, dispatch_id, resident_id, status, unread, "
                "resident_messages, urgent, urgent_since, assignee_id, created_at, last_message_at, "
                "last_resident_message_at, last_officer_message_at, organisation_read_at, awaiting_since, "
                "reminded_at, closed_at, closed_by_id) "
                "SELECT %(org)s, %(alert)s + k %% %(d)s, m.id, "
                "CASE WHEN k %% 100 < %(open)s THEN 'open' ELSE 'closed' END, "
                "k %% 100 < %(open)s AND k %% 2 = 0, 1, k %% 100 < %(open)s AND k %% 1000 < 10, NULL, "
                "CASE WHEN k %% 3 = 0 THEN (%(officers)s)[1 + k %% 10] END, t, t, t, "
                "CASE WHEN k %% 2 = 1 THEN t + interval '1 hour' END, "
                "CASE WHEN k %% 2 = 1 THEN t + interval '1 hour' END, "
                "CASE WHEN k %% 100 < %(open)s AND k %% 2 = 0 THEN t END, NULL, NULL, NULL "
                "FROM (SELECT k, %(now)s - (k %% 43200) * interval '1 minute' AS t FROM generate_series(0, %(t)s - 1) "
                "AS k) AS s JOIN m ON m.n = k / %(d)s",
                {
                    "org": police.pk,
                    "alert": first_alert,
                    "d": dispatches,
                    "officers": officer_ids,
                    "now": now,
                    "t": threads,
                    "open": open_percent,
                },
            )
            cursor.execute(
                "INSERT INTO replies_message (thread_id, author_id, from_resident, body, urgent, trigger_words, "
                "escalated_at, created_at) "
                "SELECT id, resident_id, true, 'A reply from a resident about what they saw, ' || id, urgent, "
                "CASE WHEN urgent THEN '[\"knife\"]'::jsonb ELSE '[]'::jsonb END, "
                "CASE WHEN urgent THEN created_at END, created_at FROM replies_thread "
                "UNION ALL SELECT id, %s, false, 'Thank you, we are looking into it.', false, '[]'::jsonb, NULL, "
                "last_officer_message_at FROM replies_thread WHERE last_officer_message_at IS NOT NULL",
                [officer_ids[0]],
            )
            cursor.execute("ANALYZE")
            cursor.execute("SELECT count(*) FROM replies_message")
            messages = cursor.fetchone()[0]
    geo.say(f"Seeded {threads:,} threads and {messages:,} messages in {time.perf_counter() - started:.1f} s.")
    return {"organisation": police, "officer": officers[0], "wards": wards, "alerts": alerts, "messages": messages}


def timed(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--threads", type=int, default=200_000)
    parser.add_argument("--open-percent", type=int, default=10, help="How many of the threads are still open.")
    args = parser.parse_args()
    if args.threads > args.residents * args.alerts * 0.9:
        sys.exit("--threads must be at most --residents x --alerts (one thread per resident and alert).")
    geo.django_setup(database_url())

    from django.core.paginator import Paginator
    from django.test import Client
    from django.test.utils import override_settings

    from replies import selectors

    world = seed(args.residents, args.alerts, args.threads, args.open_percent, np.random.default_rng(20261124))
    officer, ward, alert = world["officer"], world["wards"][5], world["alerts"][0]

    def page_of(filters):
        paginator = Paginator(selectors.reply_inbox(viewer=officer, filters=filters), 25)
        return paginator.count, list(paginator.get_page(1))

    measures = [
        ("view counts (tabs)", lambda: selectors.reply_inbox_counts(viewer=officer)),
        ("nav badge", lambda: selectors.reply_nav_counts(viewer=officer)),
        ("page: open", lambda: page_of(selectors.InboxFilters())),
        ("page: urgent", lambda: page_of(selectors.InboxFilters(view="urgent"))),
        ("page: unread", lambda: page_of(selectors.InboxFilters(view="unread"))),
        ("page: closed", lambda: page_of(selectors.InboxFilters(view="closed"))),
        ("page: open, one ward", lambda: page_of(selectors.InboxFilters(area_id=ward.pk))),
        ("page: all, one ward", lambda: page_of(selectors.InboxFilters(view="all", area_id=ward.pk))),
        (
            "page: one alert, one ward",
            lambda: page_of(selectors.InboxFilters(view="all", dispatch_id=alert.pk, area_id=ward.pk)),
        ),
        ("filter choices: alerts", lambda: list(selectors.inbox_filter_dispatches(viewer=officer))),
        ("filter choices: areas", lambda: list(selectors.inbox_filter_areas(viewer=officer))),
        ("reply_stats, 50 alerts", lambda: selectors.reply_stats([a.pk for a in world["alerts"][:50]])),
    ]
    rows, results = [], {}
    for name, fn in measures:
        seconds, value = timed(fn)
        if isinstance(value, tuple):
            what = f"{value[0]:,} threads"
        elif isinstance(value, dict) and "open" in value:
            what = f"{value['open']:,} open, {value['urgent']:,} urgent, {value['unread']:,} unread"
        elif isinstance(value, dict) and "unread" in value:
            what = f"{value['urgent']:,} urgent, {value['unread']:,} unread"
        elif isinstance(value, dict):
            what = f"{sum(v['replies'] for v in value.values()):,} replies"
        else:
            what = f"{len(value):,} choices"
        rows.append((name, seconds, what))
        key = "".join(c if c.isalnum() else "_" for c in name.lower())
        results["_".join(filter(None, key.split("_"))) + "_s"] = round(seconds, 4)

    from django.conf import settings

    # Without `collectstatic`, plain static names (as in development).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, STORAGES=storages):
        client = Client()
        client.force_login(officer)
        client.get("/replies/")
        seconds, response = timed(lambda: client.get("/replies/"))
        assert response.status_code == 200, response.status_code
        rows.append(("whole page /replies/", seconds, f"{len(response.content):,} bytes"))
        results["whole_page_s"] = round(seconds, 4)

    print(
        f"{args.threads:,} threads ({args.open_percent}% open; {world['messages']:,} messages) from "
        f"{args.residents:,} residents on {args.alerts} alerts (median of {RUNS} runs)\n"
    )
    print(f"| {'measurement':<28} | {'seconds':>8} | result |")
    print(f"| {'-' * 28} | {'-' * 8}: | --- |")
    for name, seconds, what in rows:
        print(f"| {name:<28} | {seconds:>8.4f} | {what} |")
    print()
    print(
        json.dumps(
            {
                "bench": "replies",
                "threads": args.threads,
                "open_percent": args.open_percent,
                "residents": args.residents,
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
