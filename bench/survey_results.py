"""Benchmark: a survey's results page data and CSV export, against one raw SQL aggregate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/survey_results.py
    .venv/bin/python bench/survey_results.py --responses 20000     # SQLite, var/bench_surveys.sqlite3

It never touches development data. With DATABASE_URL pointing at PostgreSQL it works in
its own database, `mcv_bench_surveys` on the same server (created if missing, migrated);
without it, SQLite in var/bench_surveys.sqlite3, with a warning. Each run empties what it
seeded last time (it flushes its own database) and seeds again:

* one force, 6 districts of 10 wards each (60 wards);
* N x 1.5 residents spread over the wards (AreaMember rows for ward and district), all
  invited (a fanned-out invitation: one inbox delivery each);
* a published, identified survey of six questions, one of every kind: single choice
  (4 options), multiple choice (6 options, at most 3), rating 1-5, a matrix of 5
  statements on 1-5, free text (answered by 1 in 5), ranking (top 3 of 6);
* N responses (default 100,000) from residents of every ward, skewed so wards differ:
  about 13 answer rows each, so 1.3 million rows for 100,000 responses.

Then, each measured 5 times (median reported, after one warm-up):

* **raw aggregate**: `SELECT question_id, option_id, value, COUNT(*) FROM surveys_answer
  WHERE survey_id = %s GROUP BY 1, 2, 3`, all rows fetched: the least any results page
  must do;
* **results (ward breakdown)**: `surveys.results.survey_results(survey=…, by="ward")`,
  everything the officer's page shows: per-question figures, ward breakdown with small
  cells withheld, response rates per ward against the invited;
* **results, first view**: the same once, before the invited-per-ward figure is kept
  on the survey (it joins the invitation's deliveries with where members live);
* **results page, rendered**: the page through Django's test client (template, SVG charts);
* **CSV export**: every line of `surveys.results.survey_csv_lines`, one row per response.

The last line printed is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geo  # bench/geo.py: the database helpers

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mcv_bench_surveys"
ORG_SLUG = "bench-survey-police"
DISTRICTS, WARDS_PER_DISTRICT = 6, 10
REPEATS = 5


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- the database: our own, never the developer's


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        say(
            "WARNING: DATABASE_URL is not set, so this runs on SQLite (var/bench_surveys.sqlite3). "
            "Production runs on PostgreSQL: set DATABASE_URL=postgres://… for figures that mean something."
        )
        (ROOT / "var").mkdir(exist_ok=True)
        return f"sqlite:///{ROOT / 'var' / 'bench_surveys.sqlite3'}"
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/survey_results.py runs on PostgreSQL or SQLite, not {parts.scheme}.")
    geo.create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "mcv.settings"
    os.environ["DEBUG"] = "false"  # DEBUG would keep every statement in memory
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def copy_rows(table: str, columns: list[str], rows) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            from datetime import datetime

            def adapt(value):
                if isinstance(value, uuid.UUID):
                    return value.hex
                if isinstance(value, datetime):
                    return connection.ops.adapt_datetimefield_value(value)
                return value

            marks = ", ".join(["%s"] * len(columns))
            batch: list = []
            for row in rows:
                batch.append([adapt(v) for v in row])
                if len(batch) >= 20_000:
                    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)  # noqa: S608
                    batch = []
            if batch:
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)  # noqa: S608


# --- the data


QUESTIONS = [
    {"kind": "single", "text": "Do you feel safe in the town centre?",
     "options": ["Yes", "Mostly", "Not really", "No"]},
    {
        "kind": "multiple",
        "text": "Which of these worry you most?",
        "options": ["Burglary", "Speeding", "Drugs", "Litter", "Shoplifting", "Noise"],
        "max_choices": 3,
    },
    {"kind": "rating", "text": "How safe is your street?", "scale_min": 1, "scale_max": 5,
     "scale_labels": ["Very unsafe", "Unsafe", "Neither", "Safe", "Very safe"]},
    {"kind": "matrix", "text": "How safe do you feel here?",
     "options": ["Town centre by day", "Town centre after dark", "The park", "On the bus", "At the station"],
     "scale_min": 1, "scale_max": 5},
    {"kind": "text", "text": "Anything else?", "required": False, "max_length": 500},
    {"kind": "ranking", "text": "Rank your top 3 local concerns",
     "options": ["Parking", "Noise", "Shoplifting", "Graffiti", "Speeding", "Litter"], "rank_count": 3},
]  # fmt: skip


def clear_previous() -> None:
    """Empty the bench database (ours alone: see bench_database_url)."""
    from django.core.management import call_command

    say("Emptying the bench database.")
    call_command("flush", interactive=False, verbosity=0)


def seed(responses: int, rng: np.random.Generator) -> int:
    """Everything above; returns the survey's id."""
    from django.db import connection
    from django.utils import timezone

    from groups.models import Area
    from members.models import Member, Organisation
    from notifications.models import Dispatch
    from surveys import services
    from surveys.models import Survey

    now = timezone.now()
    org = Organisation.objects.create(name="Bench Survey Police", slug=ORG_SLUG, kind="police")
    wards, district_of = [], {}
    for d in range(DISTRICTS):
        x0 = 0.1 * d
        district = Area.objects.create(
            code=f"BENCHS-D{d}", name=f"District {d + 1}", level="district",
            geometry={"type": "Polygon",
                      "coordinates": [[[x0, 51], [x0 + 0.1, 51], [x0 + 0.1, 51.1], [x0, 51.1], [x0, 51]]]},
            min_lon=x0, min_lat=51, max_lon=x0 + 0.1, max_lat=51.1,
        )  # fmt: skip
        for w in range(WARDS_PER_DISTRICT):
            y0 = 51 + 0.01 * w
            ward = Area.objects.create(
                code=f"BENCHS-D{d}W{w}", name=f"Ward {d + 1}.{w + 1}", level="ward", parent=district,
                geometry={"type": "Polygon", "coordinates": [
                    [[x0, y0], [x0 + 0.1, y0], [x0 + 0.1, y0 + 0.01], [x0, y0 + 0.01], [x0, y0]]]},
                min_lon=x0, min_lat=y0, max_lon=x0 + 0.1, max_lat=y0 + 0.01,
            )  # fmt: skip
            wards.append(ward.pk)
            district_of[ward.pk] = district.pk
    org.areas.add(*Area.objects.filter(code__startswith="BENCHS-D", level="district"))

    invited = int(responses * 1.5)
    say(f"Seeding {invited:,} residents, their areas and their invitation.")
    t = time.perf_counter()
    # Wards of very different sizes, so that some are small enough to be withheld.
    weights = rng.pareto(1.2, len(wards)) + 0.05
    member_ward = rng.choice(np.array(wards), size=invited, p=weights / weights.sum())
    first_id = (Member.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    ids = np.arange(first_id, first_id + invited)
    copy_rows(
        "members_member",
        ["id", "password", "is_superuser", "email", "first_name", "last_name", "phone", "address_line1",
         "address_line2", "town", "postcode", "location_source", "role", "is_active", "is_staff", "date_joined"],
        ((int(i), "!", False, f"bench-s-{i}@example.org", "Resident", f"Number {i}", "", "", "", "", "", "",
          "resident", True, False, now) for i in ids),
    )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('members_member', 'id'), (SELECT MAX(id) FROM members_member))"
            )
    copy_rows(
        "groups_areamember", ["area_id", "member_id"],
        ((int(area), int(m)) for m, w in zip(ids, member_ward, strict=True) for area in (w, district_of[int(w)])),
    )  # fmt: skip
    survey = services.survey_define(actor=_officer(org), title="Feeling safe (bench)", questions=QUESTIONS)
    dispatch = Dispatch.objects.create(
        organisation=org, source_type="surveys.survey", source_id=str(survey.pk), subject="Survey", body_text=".",
        audience={"include": [{"area": a} for a in set(district_of.values())]}, status="done",
        audience_size=invited, fanned_out_at=now, completed_at=now,
    )  # fmt: skip
    copy_rows(
        "notifications_delivery",
        ["dispatch_id", "member_id", "channel", "status", "attempts", "provider_id", "error", "sent_at", "created_at"],
        ((dispatch.pk, int(m), "inbox", "sent", 0, "", "", now, now) for m in ids),
    )
    Survey.objects.filter(pk=survey.pk).update(
        status="published", opens_at=now - timedelta(days=7), closes_at=now + timedelta(days=7),
        invitation_dispatch=dispatch, published_at=now - timedelta(days=7),
    )  # fmt: skip
    say(f"  {time.perf_counter() - t:.1f} s")

    say(f"Seeding {responses:,} responses.")
    t = time.perf_counter()
    answering = rng.choice(ids, size=responses, replace=False)
    answering.sort()
    ward_of = dict(zip(ids.tolist(), member_ward.tolist(), strict=True))
    copy_rows(
        "surveys_response",
        ["survey_id", "member_id", "ward_id", "district_id", "edit_key_hash", "submitted_at", "updated_at"],
        ((survey.pk, int(m), ward_of[int(m)], district_of[ward_of[int(m)]], "", now, now) for m in answering),
    )
    copy_rows("surveys_participation", ["id", "survey_id", "member_id"],
              ((uuid.uuid4(), survey.pk, int(m)) for m in answering))  # fmt: skip
    response_rows = list(survey.responses.order_by("pk").values_list("pk", "ward_id", "district_id"))
    questions = list(survey.questions.prefetch_related("options").order_by("position"))
    rows = _answers(survey.pk, questions, response_rows, rng)
    copy_rows(
        "surveys_answer",
        ["response_id", "survey_id", "question_id", "option_id", "value", "text", "first", "ward_id", "district_id"],
        rows,
    )
    say(f"  {time.perf_counter() - t:.1f} s")
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a big load: statistics, and the visibility map
        # that lets the aggregates read the covering index without visiting the table.
        with connection.cursor() as cursor:  # Django runs in autocommit here, as VACUUM needs
            for table in ("surveys_answer", "surveys_response", "notifications_delivery", "groups_areamember"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return survey.pk


def _officer(org):
    from members.models import Member

    officer = Member(email=f"bench-s-officer@{ORG_SLUG}.example", first_name="Bench", last_name="Officer",
                     role="officer", organisation=org)  # fmt: skip
    officer.set_unusable_password()
    officer.save()
    # Officers act only with two-factor authentication set up (members.permissions).
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=officer, type=Authenticator.Type.TOTP, data={})
    return officer


def _answers(survey_id: int, questions, responses, rng: np.random.Generator):
    """About 13 answer rows per response; each ward leans its own way, so breakdowns differ."""
    by_kind = {q.kind: q for q in questions}
    options = {q.kind: [o.pk for o in q.options.all()] for q in questions}
    comments = ["More patrols in the evening.", "Street lights are out on my road.", "Speeding near the school.",
                "Thank you for asking.", "Drug dealing by the garages."]  # fmt: skip
    for response_id, ward, district in responses:
        lean = ward % 4  # the ward's own tendency
        q = by_kind["single"]
        yield (response_id, survey_id, q.pk, options["single"][min(3, int(rng.integers(0, 3)) + (lean > 1))],
               None, "", True, ward, district)  # fmt: skip
        q = by_kind["multiple"]
        for i, option in enumerate(rng.choice(options["multiple"], size=int(rng.integers(1, 4)), replace=False)):
            yield response_id, survey_id, q.pk, int(option), None, "", i == 0, ward, district
        q = by_kind["rating"]
        yield (
            response_id,
            survey_id,
            q.pk,
            None,
            int(np.clip(rng.normal(2 + lean * 0.7, 1), 1, 5)),
            "",
            True,
            ward,
            district,
        )
        q = by_kind["matrix"]
        for i, statement in enumerate(options["matrix"]):
            value = int(np.clip(rng.normal(4 - i * 0.5 + lean * 0.2, 1), 1, 5))
            yield response_id, survey_id, q.pk, statement, value, "", i == 0, ward, district
        if rng.random() < 0.2:
            q = by_kind["text"]
            yield response_id, survey_id, q.pk, None, None, comments[int(rng.integers(0, 5))], True, ward, district
        q = by_kind["ranking"]
        for rank, option in enumerate(rng.choice(options["ranking"], size=3, replace=False), start=1):
            yield response_id, survey_id, q.pk, int(option), rank, "", rank == 1, ward, district


# --- the measurements


def timed(fn, repeats: int = REPEATS) -> tuple[float, list[float]]:
    fn()  # warm-up: connections, caches, plans
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as a web worker has
    django_setup(bench_database_url())

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from surveys.models import Answer, Survey
    from surveys.results import survey_csv_lines, survey_results

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    # No `collectstatic` here: plain static URLs, as in development.
    settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    rng = np.random.default_rng(args.seed)
    clear_previous()
    survey_id = seed(args.responses, rng)
    survey = Survey.objects.select_related("invitation_dispatch").get(pk=survey_id)
    answer_rows = Answer.objects.filter(survey_id=survey_id).count()
    say(f"{survey.responses.count():,} responses, {answer_rows:,} answer rows, {connection.vendor}.")

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT question_id, option_id, value, COUNT(*) FROM surveys_answer "
                "WHERE survey_id = %s GROUP BY question_id, option_id, value",
                [survey_id],
            )
            return len(cursor.fetchall())

    def results() -> None:
        fresh = Survey.objects.select_related("invitation_dispatch").get(pk=survey_id)
        data = survey_results(survey=fresh, by="ward")
        assert data.responses == args.responses and len(data.rates) >= 50

    Survey.objects.filter(pk=survey_id).update(invited_by_area=None)
    t = time.perf_counter()
    results()
    first_view = time.perf_counter() - t

    raw_s, raw_all = timed(raw)
    results_s, results_all = timed(results)

    officer = survey.organisation.staff.get()
    client = Client()
    client.force_login(officer)

    def page() -> None:
        response = client.get(f"/surveys/manage/{survey_id}/results/?by=ward")
        assert response.status_code == 200, response.status_code

    page_s, page_all = timed(page, repeats=3)

    def export() -> None:
        buffer = io.StringIO()
        lines = 0
        for line in survey_csv_lines(survey=survey):
            buffer.write(line)
            lines += 1
        assert lines == args.responses + 2  # the BOM, the header, a row per response

    csv_s, csv_all = timed(export, repeats=3)

    ratio = results_s / raw_s
    rows = [
        ("raw SQL aggregate (question, option, value)", raw_s, ""),
        ("results page data, by ward", results_s, f"{ratio:.2f}× the raw aggregate"),
        ("results page data, first view (invited per ward worked out)", first_view, ""),
        ("results page rendered (HTML, SVG charts)", page_s, ""),
        (f"CSV export ({args.responses:,} rows)", csv_s, ""),
    ]
    print(f"\n{args.responses:,} responses, {answer_rows:,} answer rows, {DISTRICTS * WARDS_PER_DISTRICT} wards, "
          f"{connection.vendor} (median of {REPEATS}, one CPU)\n")  # fmt: skip
    print(f"| {'measurement':<62} | {'seconds':>8} | {'':<26} |")
    print(f"| {'-' * 62} | {'-' * 8}:| {'-' * 26} |")
    for name, seconds, note in rows:
        print(f"| {name:<62} | {seconds:>8.3f} | {note:<26} |")
    met = results_s < 1.0 and ratio <= 3.0
    print(f"\nTarget: results under 1 s and within 3× the raw aggregate: {'met' if met else 'NOT met'}.\n")
    print(
        json.dumps(
            {
                "bench": "survey_results",
                "database": connection.vendor,
                "responses": args.responses,
                "answer_rows": answer_rows,
                "wards": DISTRICTS * WARDS_PER_DISTRICT,
                "raw_aggregate_s": round(raw_s, 4),
                "results_s": round(results_s, 4),
                "results_vs_raw": round(ratio, 2),
                "results_first_view_s": round(first_view, 4),
                "results_page_rendered_s": round(page_s, 4),
                "csv_export_s": round(csv_s, 4),
                "runs": {
                    "raw_aggregate_s": [round(x, 4) for x in raw_all],
                    "results_s": [round(x, 4) for x in results_all],
                    "results_page_rendered_s": [round(x, 4) for x in page_all],
                    "csv_export_s": [round(x, 4) for x in csv_all],
                },
                "target_met": met,
            }
        )
    )


if __name__ == "__main__":
    main()
