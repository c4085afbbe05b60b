"""Benchmark: the daily digest for N residents, each with M messages held for it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/digest.py [--members 20000]

It never touches development data. On PostgreSQL it works in its own database,
`mcv_bench_digest` on the same server (created if missing, migrated); without
DATABASE_URL it falls back to SQLite in var/bench-digest.sqlite3, with a warning.
Each run empties that database's members and messages and seeds them again, in bulk:
N residents opted in to one force, on the daily digest, with a verified email; M
dispatches from that force; for each member and dispatch an inbox copy and an email
delivery held for the digest (status `digest`), as fan-out leaves them.

It then times, at the digest time:

(a) `digest_run`'s one INSERT … SELECT making the N Digest rows, and the numbering
    of the batches (DISPATCH_BATCH_SIZE digests each);
(b) `digest_batch_send` over every batch, one after another in this one process:
    claim, read the members' messages, render, build each member's email and hand it
    to a mail backend that writes the whole MIME message to bytes and drops it (the
    SMTP conversation itself is the mail server's time, not ours), and record the
    outcome of the digests and of all N * M deliveries;
(c) the queries per batch (which must not grow with the batch's members).

Workers scale (b) out: the estimate for a million members divides by the worker
count given (--workers). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.core.mail.backends.base import BaseEmailBackend

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geo  # bench/geo.py: the database helpers

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mcv_bench_digest"
DIGEST_AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


class SerialisingBackend(BaseEmailBackend):
    """Writes each message as it would go over SMTP, then drops it."""

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            message.message().as_bytes()
        return len(email_messages)


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        say("WARNING: DATABASE_URL is not set, so this runs on SQLite. Set DATABASE_URL=postgres://… for real figures.")
        (ROOT / "var").mkdir(exist_ok=True)
        return f"sqlite:///{ROOT / 'var' / 'bench-digest.sqlite3'}"
    parts = urlsplit(url)
    geo.create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "mcv.settings"
    os.environ["DEBUG"] = "false"  # DEBUG would keep every statement in memory
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    os.environ.pop("REDIS_URL", None)  # no rate limit bucket, no broker: this process does the work
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.conf import settings

    settings.MAILERS = {"default": {"BACKEND": "__main__.SerialisingBackend"}}
    settings.DISPATCH_MAILER = "default"
    settings.DISPATCH_DIGEST_TIME = "18:00"
    settings.CHANNEL_RATE_LIMITS = {}


def seed(members: int, messages: int) -> None:
    from allauth.account.models import EmailAddress
    from django.db import connection, transaction

    from members.models import Member, Organisation, OrganisationOptIn, Preferences
    from notifications.models import Delivery, Digest, Dispatch

    with transaction.atomic():
        Digest.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Delivery._meta.db_table}")  # noqa: S608
        Dispatch.objects.all().delete()
        Member.objects.filter(email__startswith="bench-digest-").delete()
        kent, _ = Organisation.objects.get_or_create(slug="bench-kent", defaults={"name": "Kent Police"})
        template = Member()
        template.set_unusable_password()
        password = template.password
        people = Member.objects.bulk_create(
            [
                Member(email=f"bench-digest-{i}@example.invalid", first_name="Alex", password=password)
                for i in range(members)
            ],
            batch_size=5000,
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=m, email=m.email, verified=True, primary=True) for m in people], batch_size=5000
        )
        Preferences.objects.bulk_create(
            [Preferences(member=m, frequency=Preferences.Frequency.DAILY_DIGEST) for m in people], batch_size=5000
        )
        OrganisationOptIn.objects.bulk_create(
            [OrganisationOptIn(member=m, organisation=kent) for m in people], batch_size=5000
        )
        for n in range(messages):
            dispatch = Dispatch.objects.create(
                organisation=kent,
                source_type="bench.message",
                source_id=str(n),
                priority=3 + n % 3,
                subject=f"Message {n}: burglaries on Elm Road",
                body_text="Lock your doors and windows. " * 20,
                url="https://mcv.example/alerts/1/",
                status=Dispatch.Status.SENDING,
            )
            ops = connection.ops
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {Delivery._meta.db_table} (dispatch_id, member_id, channel, status, attempts, "  # noqa: S608
                    "next_attempt_at, provider_id, error, sent_at, created_at) "
                    "SELECT %s, m.id, c.channel, CASE WHEN c.channel = 'inbox' THEN 'sent' ELSE 'digest' END, 0, "
                    "CASE WHEN c.channel = 'inbox' THEN NULL ELSE %s END, '', '', NULL, %s "
                    f"FROM {Member._meta.db_table} m CROSS JOIN (SELECT 'inbox' AS channel UNION ALL "
                    "SELECT 'email') AS c WHERE m.email LIKE 'bench-digest-%%'",
                    [
                        dispatch.pk,
                        ops.adapt_datetimefield_value(DIGEST_AT),
                        ops.adapt_datetimefield_value(DIGEST_AT - timedelta(hours=messages - n)),
                    ],
                )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=5, help="messages held for each member")
    parser.add_argument("--workers", type=int, default=8, help="for the estimate of a million members")
    args = parser.parse_args()

    django_setup(bench_database_url())
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from notifications.digest import _digest_batches, _digests_create, digest_batch_send
    from notifications.models import Delivery, Digest

    say(f"Seeding {args.members:,} members with {args.messages} messages each…")
    started = time.perf_counter()
    seed(args.members, args.messages)
    say(f"  seeded in {time.perf_counter() - started:.1f} s")

    now = DIGEST_AT + timedelta(seconds=1)
    started = time.perf_counter()
    created = _digests_create(now=now)
    batches = _digest_batches(now=now)
    create_s = time.perf_counter() - started

    queries, sent, started = [], 0, time.perf_counter()
    for first_id, last_id in batches:
        reset_queries()
        with CaptureQueriesContext(connection) as context:
            result = digest_batch_send(first_id=first_id, last_id=last_id, now=now)
        queries.append(len(context.captured_queries))
        sent += result.get("sent", 0)
    send_s = time.perf_counter() - started

    assert created == sent == args.members, (created, sent)
    left = Delivery.objects.filter(status=Delivery.Status.DIGEST).count()
    assert left == 0 and Digest.objects.filter(status=Digest.Status.SENT).count() == args.members
    per_second = sent / send_s
    million_minutes = 1_000_000 / per_second / args.workers / 60
    rows = [
        ("database", connection.vendor),
        ("members on the digest", f"{args.members:,}"),
        ("messages each", args.messages),
        ("(a) digests made, one INSERT … SELECT", f"{create_s:.2f} s ({len(batches)} batches)"),
        ("(b) digests sent, one process", f"{send_s:.1f} s = {per_second:,.0f} a second"),
        ("(c) queries per batch", f"{min(queries)}–{max(queries)}"),
        (f"a million members, {args.workers} workers", f"about {million_minutes:.1f} minutes of sending"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(
        json.dumps(
            {
                "bench": "digest",
                "database": connection.vendor,
                "members": args.members,
                "messages": args.messages,
                "create_seconds": round(create_s, 3),
                "send_seconds": round(send_s, 2),
                "digests_per_second": round(per_second, 1),
                "queries_per_batch": max(queries),
                "million_members_minutes": round(million_minutes, 1),
                "workers": args.workers,
            }
        )
    )


if __name__ == "__main__":
    main()
