"""Benchmark: one alert to a whole district, from publishing to the last email handed over.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/fanout.py [--members 100000] [--sample 10000]
    ... bench/fanout.py --members 1000000

PostgreSQL and Redis come from the environment (give the bench a Redis database of its
own: it empties the Celery queues in it). The bench works in its own database,
`mcv_bench_fanout` on the same server (created if missing, migrated), and seeds it
with N verified, opted-in residents living in one district (kept between runs with
the same N; `--reseed` starts again). It prints:

(a) fan-out: seconds for `dispatch_fan_out` to materialise the deliveries of one
    priority-1 alert to all N members (inbox and email: 2N rows, one INSERT … SELECT,
    committed), against the seconds to `COPY` the same rows into a scratch table made
    `LIKE notifications_delivery INCLUDING ALL` (same columns, indexes, defaults) on
    the same database. Each is run twice, alternately; the better of each is kept.

(b) email to `--sample` members (10,000 by default) through Postfix's `smtp-sink` on a
    loopback port (a C sink that accepts everything as fast as it comes, so it is not
    what is measured; `apt-get install postfix` on Debian: the bench starts its own
    sink and never starts Postfix itself):
    * the pipeline: one Celery worker with 2 processes, as deployed, sending the sample's
      dispatch: messages a second from its first email to its last;
    * a plain `smtplib` loop in one process building the same messages with the
      standard library's `email` package and sending them over one connection;
    * the naive design: one Celery task per recipient (same worker, 2 processes), each
      rendering the templates and calling `send_mail`, which opens a connection per
      message;
    * `smtp-source` (Postfix's C load generator, 2 sessions) against the same sink: the
      most this machine can push through loopback SMTP, the ceiling.

(c) publish to last delivery: seconds from the commit of `dispatch_publish` (the sample's
    dispatch, to the listed members) to the last email recorded sent by the workers,
    fan-out included.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geo  # bench/geo.py: the database helpers

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mcv_bench_fanout"
DISTRICT_CODE = "BENCH-FANOUT-DISTRICT"
NAIVE_COUNTER = "bench:fanout:naive-done"
BODY = "Police are searching for a missing 14-year-old last seen near the station. Call 999 if you see him."


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- the naive design's task: one per recipient, a connection per message.
# Registered when the bench's worker imports this module (`celery worker -I bench.fanout`).
if os.environ.get("MCV_BENCH_WORKER") == "1":
    from mcv.celery import app as _app

    @_app.task(name="bench.fanout.naive_send", ignore_result=True)
    def naive_send(delivery_id: int) -> None:
        """What a first design would do: load the recipient, render, `send_mail`."""
        import redis
        from django.conf import settings
        from django.core.mail import send_mail
        from django.template.loader import render_to_string
        from django.utils.html import linebreaks

        from members.links import preferences_link_url
        from notifications.models import Delivery

        delivery = Delivery.objects.select_related("member", "dispatch__organisation").get(pk=delivery_id)
        dispatch, member = delivery.dispatch, delivery.member
        context = {
            "dispatch": dispatch,
            "organisation": dispatch.organisation,
            "priority_label": "",
            "body_html": linebreaks(dispatch.body_text),
            "member_name": member.first_name,
            "preferences_url": preferences_link_url(member=member),
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
        }
        send_mail(
            render_to_string("notifications/email/dispatch_subject.txt", context).strip(),
            render_to_string("notifications/email/dispatch_message.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [member.email],
            html_message=render_to_string("notifications/email/dispatch_message.html", context),
        )
        redis.Redis.from_url(settings.REDIS_URL).incr(NAIVE_COUNTER)


# --- set-up


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/fanout.py needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/")
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench/fanout.py needs Redis for its workers: set REDIS_URL=redis://127.0.0.1:6379/<db of its own>")
    geo.create_database_if_missing(urlunsplit(parts._replace(path="/postgres")), BENCH_DATABASE)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "mcv.settings"
    os.environ["DEBUG"] = "false"  # DEBUG would keep every statement in memory
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CHANNEL_RATE_LIMITS"] = ""  # nothing held back: we measure speed
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def insert_select(model, source: str, source_params: list, exprs: dict, *, returning: bool = False):
    """INSERT INTO model's table SELECT …: each column from `exprs` (SQL, params) or its default."""
    from django.db import connection
    from django.utils import timezone

    columns, values, params = [], [], []
    for field in (f for f in model._meta.concrete_fields if not f.primary_key):
        columns.append(f'"{field.column}"')
        if field.column in exprs:
            expr, p = exprs[field.column]
            values.append(expr)
            params += p
        else:
            auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            values.append("%s")
            params.append(field.get_db_prep_save(timezone.now() if auto else field.get_default(), connection))
    statement = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}"
    with connection.cursor() as cursor:
        cursor.execute(statement + (" RETURNING id" if returning else ""), params + source_params)
        return [row[0] for row in cursor.fetchall()] if returning else None


def seed(members: int, reseed: bool):
    """The district, its N residents (verified, opted in, email and inbox on), and a force."""
    from allauth.account.models import EmailAddress
    from django.db import connection, transaction

    from groups.models import Area, AreaMember
    from groups.services import area_upsert
    from members.models import Member, Organisation, OrganisationOptIn, Preferences
    from notifications.models import Delivery, Dispatch

    square = [[0.3, 51.1], [0.7, 51.1], [0.7, 51.4], [0.3, 51.4], [0.3, 51.1]]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Delivery._meta.db_table}, {Dispatch._meta.db_table} CASCADE")
    area = Area.objects.filter(code=DISTRICT_CODE).first()
    organisation = Organisation.objects.filter(slug="bench-police").first()
    if area and organisation and AreaMember.objects.filter(area=area).count() == members and not reseed:
        say(f"Reusing the {members:,} residents already seeded (--reseed to start again).")
        return organisation, area
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Members first: the cascade also empties what refers to them (areas, organisations).
        cursor.execute(
            f"TRUNCATE {Member._meta.db_table}, {Area._meta.db_table}, {Organisation._meta.db_table} CASCADE"
        )
    with transaction.atomic():
        organisation = Organisation.objects.create(
            slug="bench-police", name="Bench Police (synthetic)", kind=Organisation.Kind.POLICE
        )
        area, _ = area_upsert(
            code=DISTRICT_CODE,
            name="Benchmark district (synthetic)",
            level="district",
            geometry={"type": "Polygon", "coordinates": [square]},
            is_synthetic=True,
            recompute=False,
        )
    with transaction.atomic():
        ids = insert_select(
            Member,
            "FROM generate_series(1, %s) AS g",
            [members],
            {
                "email": ("'resident-' || g || '@bench.example'", []),
                "first_name": ("(ARRAY['Alex','Sam','Jo','Pat','Chris','Lee','Robin','Charlie'])[1 + g %% 8]", []),
                "last_name": ("%s", ["Resident"]),
                "password": ("%s", ["!"]),
                "longitude": ("0.3 + random() * 0.4", []),
                "latitude": ("51.1 + random() * 0.3", []),
                "location_source": ("%s", ["pin"]),
            },
            returning=True,
        )
        of_members = f"FROM {Member._meta.db_table} AS m WHERE m.id = ANY(%s)"
        insert_select(
            EmailAddress,
            of_members,
            [ids],
            {"user_id": ("m.id", []), "email": ("m.email", []), "verified": ("true", []), "primary": ("true", [])},
        )
        insert_select(Preferences, of_members, [ids], {"member_id": ("m.id", [])})
        insert_select(
            OrganisationOptIn,
            of_members,
            [ids],
            {"member_id": ("m.id", []), "organisation_id": ("%s", [organisation.pk])},
        )
        insert_select(AreaMember, of_members, [ids], {"member_id": ("m.id", []), "area_id": ("%s", [area.pk])})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    say(f"Seeded {members:,} residents in {time.perf_counter() - started:.1f} s.")
    return organisation, area


def new_dispatch(organisation, audience: dict, subject: str):
    from notifications.models import Dispatch

    return Dispatch.objects.create(
        organisation=organisation,
        source_type="alerts.alert",
        source_id="bench",
        subject=subject,
        body_text=BODY,
        url="https://mcv.example/alerts/1/",
        audience=audience,
        priority=1,
    )


# --- (a) fan-out against COPY


def fan_out_vs_copy(organisation, area, repeats: int = 2) -> dict:
    from unittest import mock

    from django.db import connection, transaction

    from notifications import services
    from notifications.models import Delivery

    table = Delivery._meta.db_table
    fan_out_s, copy_s, rows = [], [], 0
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_fanout_copy")
        cursor.execute(f"CREATE TABLE bench_fanout_copy (LIKE {table} INCLUDING ALL)")
    for attempt in range(repeats):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute("CHECKPOINT")
        dispatch = new_dispatch(organisation, {"include": [{"area": area.pk}]}, f"Fan-out {attempt}")
        # The batches' tasks are not queued: this part measures writing the deliveries.
        with mock.patch.object(services.tasks.send_batch, "delay_on_commit"):
            started = time.perf_counter()
            result = services.dispatch_fan_out(dispatch_id=dispatch.pk)
            fan_out_s.append(time.perf_counter() - started)
        rows = result["inbox"] + result["email"]
        say(f"fan-out {attempt + 1}: {rows:,} deliveries in {fan_out_s[-1]:.2f} s")

        # The same rows, as COPY would write them: binary, into the same shape of table.
        with connection.cursor() as cursor:
            buffer = bytearray()
            with cursor.cursor.copy(
                f"COPY (SELECT * FROM {table} WHERE dispatch_id = %s) TO STDOUT (FORMAT BINARY)",  # noqa: S608
                [dispatch.pk],
            ) as copy:
                for chunk in copy:
                    buffer += chunk
            cursor.execute("TRUNCATE bench_fanout_copy")
            cursor.execute("CHECKPOINT")
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            with cursor.cursor.copy("COPY bench_fanout_copy FROM STDIN (FORMAT BINARY)") as copy:
                view = memoryview(buffer)
                for at in range(0, len(view), 1 << 20):
                    copy.write(view[at : at + (1 << 20)])
        copy_s.append(time.perf_counter() - started)  # the commit included, as for the fan-out
        say(f"COPY {attempt + 1}: {rows:,} rows in {copy_s[-1]:.2f} s")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_fanout_copy")
        cursor.execute(f"TRUNCATE {table}")
    return {
        "rows": rows,
        "fan_out_s": min(fan_out_s),
        "copy_s": min(copy_s),
        "fan_out_all_s": fan_out_s,
        "copy_all_s": copy_s,
    }


# --- (b) and (c): sending


@contextlib.contextmanager
def smtp_sink():
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(binary):
        say(
            "smtp-sink is missing, so the email figures are skipped. It comes with Postfix: "
            "`apt-get install -y postfix` (choose 'No configuration'; the bench never starts Postfix)."
        )
        yield None
        return
    port = free_port()
    command = [binary]
    if os.geteuid() == 0:
        command += ["-u", "nobody"]  # smtp-sink refuses to run as root
    command += [f"127.0.0.1:{port}", "1024"]
    sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        time.sleep(0.05)
    try:
        yield port
    finally:
        sink.terminate()
        sink.wait(timeout=10)


def smtp_source_rate(port: int, messages: int, size: int) -> float | None:
    binary = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    if not os.path.exists(binary):
        return None
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [
            binary,
            "-s",
            "2",
            "-m",
            str(messages),
            "-l",
            str(size),
            "-f",
            "bench@bench.example",
            "-t",
            "sink@bench.example",
            f"127.0.0.1:{port}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return messages / (time.perf_counter() - started)


class Worker:
    def __init__(self, smtp_port: int, log: Path) -> None:
        from django.conf import settings

        env = {
            **os.environ,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "MCV_BENCH_WORKER": "1",
            "SECRET_KEY": settings.SECRET_KEY,
        }
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mcv",
                "worker",
                "--concurrency=2",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-I",
                "bench.fanout",
                "--hostname=mcv-bench@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        """Ready when it answers a ping (its log says little at WARNING)."""
        from mcv.celery import app

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"The bench worker stopped: see {self.log.name}")
            if app.control.ping(timeout=1.0):
                return
        sys.exit("The bench worker did not start within two minutes.")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def purge_queues() -> None:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("celery", "dispatch-sweep", "unacked", "unacked_index", "unacked_mutex", NAIVE_COUNTER)


def pipeline(organisation, sample_ids: list[int]) -> dict:
    """Publish to the sample and wait for the workers to send every email: (b) and (c)."""
    from django.db import transaction
    from django.db.models import Max, Min

    from notifications.models import Delivery, Dispatch
    from notifications.services import dispatch_publish

    with transaction.atomic():
        dispatch = dispatch_publish(
            organisation=organisation,
            source_type="alerts.alert",
            source_id="bench",
            subject="Missing person: Sam, 14",
            body_text=BODY,
            url="https://mcv.example/alerts/1/",
            audience={"include": [{"members": sample_ids}]},
            priority=1,
        )
        published = time.time()
    emails = Delivery.objects.filter(dispatch=dispatch, channel="email")
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.DONE).exists():
            break
    else:
        sys.exit("The pipeline did not finish within an hour.")
    sent = emails.filter(status=Delivery.Status.SENT)
    span = sent.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    count = sent.count()
    seconds = (span["last"] - span["first"]).total_seconds() * count / max(count - 1, 1)
    return {
        "emails": count,
        "not_sent": emails.exclude(status=Delivery.Status.SENT).count(),
        "rate": count / seconds,
        "publish_to_last_s": span["last"].timestamp() - published,
        "dispatch_id": dispatch.pk,
    }


def plain_loop(dispatch_id: int, smtp_port: int) -> float:
    """The same messages built with the standard library and sent over one connection, in one process."""
    import email.message
    import email.utils
    import smtplib

    from members.links import preferences_link_url
    from notifications.channels import DispatchEmail
    from notifications.models import Delivery, Dispatch

    dispatch = Dispatch.objects.select_related("organisation").get(pk=dispatch_id)
    deliveries = list(Delivery.objects.filter(dispatch=dispatch, channel="email").select_related("member"))
    started = time.perf_counter()
    rendered = DispatchEmail.render(dispatch)  # the same bodies, rendered once
    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        for delivery in deliveries:
            member = delivery.member
            link = preferences_link_url(member=member)
            name = member.first_name or "there"
            message = email.message.EmailMessage()
            message["Subject"] = rendered.subject
            message["From"] = rendered.from_email
            message["To"] = member.email
            message["Date"] = email.utils.formatdate()
            message["Message-ID"] = f"<{delivery.uuid}@{rendered.domain}>"
            message["List-Unsubscribe"] = f"<{link}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message["Auto-Submitted"] = "auto-generated"
            message.set_content(rendered.text.replace(rendered.name_marker, name).replace(rendered.link_marker, link))
            html = rendered.html.replace(rendered.name_marker, name).replace(rendered.link_marker, link)
            message.add_alternative(html, subtype="html")
            smtp.send_message(message)
    return len(deliveries) / (time.perf_counter() - started)


def naive(dispatch_id: int) -> float:
    """One task per recipient, each rendering and calling send_mail (a new connection each)."""
    import redis
    from django.conf import settings

    from notifications.models import Delivery

    ids = list(Delivery.objects.filter(dispatch_id=dispatch_id, channel="email").values_list("pk", flat=True))
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(NAIVE_COUNTER)
    from mcv.celery import app

    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for delivery_id in ids:
            app.send_task("bench.fanout.naive_send", args=[delivery_id], producer=producer, ignore_result=True)
    deadline = time.monotonic() + 3600
    while int(client.get(NAIVE_COUNTER) or 0) < len(ids):
        if time.monotonic() > deadline:
            sys.exit("The naive design did not finish within an hour.")
        time.sleep(0.2)
    return len(ids) / (time.perf_counter() - started)


def sending(organisation, area, sample: int) -> dict:
    from groups.models import AreaMember

    sample_ids = list(
        AreaMember.objects.filter(area=area).order_by("member_id").values_list("member_id", flat=True)[:sample]
    )
    with smtp_sink() as port:
        if port is None:
            return {}
        purge_queues()
        log = Path(tempfile.gettempdir()) / "mcv-bench-fanout-worker.log"
        worker = Worker(port, log)
        try:
            worker.wait_ready()
            say(f"Worker ready (log: {log}); the pipeline sends {len(sample_ids):,} emails…")
            piped = pipeline(organisation, sample_ids)
            say(f"pipeline: {piped['rate']:.0f} emails/s; publish to last delivery {piped['publish_to_last_s']:.1f} s")
            say("naive design: one task per recipient…")
            naive_rate = naive(piped["dispatch_id"])
            say(f"naive: {naive_rate:.0f} emails/s")
        finally:
            worker.stop()
            purge_queues()
        say("plain smtplib loop…")
        loop_rate = plain_loop(piped["dispatch_id"], port)
        say(f"plain loop: {loop_rate:.0f} emails/s")
        size = 2300  # about one of our messages
        ceiling = smtp_source_rate(port, 20_000, size)
    return {
        "sample": len(sample_ids),
        "pipeline_emails_per_s": round(piped["rate"], 1),
        "pipeline_not_sent": piped["not_sent"],
        "plain_loop_emails_per_s": round(loop_rate, 1),
        "pipeline_vs_plain_loop": round(piped["rate"] / loop_rate, 2),
        "naive_emails_per_s": round(naive_rate, 1),
        "pipeline_vs_naive": round(piped["rate"] / naive_rate, 1),
        "smtp_source_ceiling_per_s": round(ceiling, 1) if ceiling else None,
        "publish_to_last_delivery_s": round(piped["publish_to_last_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="Residents in the district (default 100000).")
    parser.add_argument("--sample", type=int, default=10_000, help="Residents the email figures use (at most 10000).")
    parser.add_argument("--reseed", action="store_true", help="Seed the residents again even if N matches.")
    parser.add_argument("--skip-email", action="store_true", help="Only the fan-out figures (a).")
    args = parser.parse_args()
    if args.members < 1 or not 1 <= args.sample <= min(10_000, args.members):
        parser.error("--members must be at least 1, --sample between 1 and min(10000, members)")

    django_setup(bench_database_url())
    from django.db import connection

    organisation, area = seed(args.members, args.reseed)
    fan = fan_out_vs_copy(organisation, area)
    email = {} if args.skip_email else sending(organisation, area, args.sample)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = f"PostgreSQL {cursor.fetchone()[0]}"
    figures = {
        "database": server,
        "members": args.members,
        "deliveries": fan["rows"],
        "fan_out_s": round(fan["fan_out_s"], 3),
        "copy_s": round(fan["copy_s"], 3),
        "fan_out_vs_copy": round(fan["fan_out_s"] / fan["copy_s"], 2),
        "fan_out_runs_s": [round(s, 3) for s in fan["fan_out_all_s"]],
        "copy_runs_s": [round(s, 3) for s in fan["copy_all_s"]],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **email,
    }
    rows = [
        ("members in the district", f"{args.members:,}"),
        ("(a) fan-out: deliveries written (inbox + email)", f"{fan['rows']:,}"),
        ("(a) fan-out, best of 2", f"{fan['fan_out_s']:.2f} s"),
        ("(a) COPY of the same rows, same table shape, best of 2", f"{fan['copy_s']:.2f} s"),
        ("(a) fan-out / COPY (target ≤ 2)", f"{figures['fan_out_vs_copy']}×"),
    ]
    if email:
        rows += [
            (
                f"(b) pipeline, 2 worker processes ({email['sample']:,} emails)",
                f"{email['pipeline_emails_per_s']:.0f} /s",
            ),
            ("(b) plain smtplib loop, one connection", f"{email['plain_loop_emails_per_s']:.0f} /s"),
            ("(b) pipeline / plain loop (target ≥ 0.8)", f"{email['pipeline_vs_plain_loop']}×"),
            ("(b) naive: a task and a connection per recipient", f"{email['naive_emails_per_s']:.0f} /s"),
            ("(b) pipeline / naive (target ≥ 3)", f"{email['pipeline_vs_naive']}×"),
            ("(b) smtp-source ceiling (2 sessions)", f"{email['smtp_source_ceiling_per_s'] or 0:.0f} /s"),
            ("(c) publish to last delivery", f"{email['publish_to_last_delivery_s']:.1f} s"),
        ]
    rows += [("database", server), ("load average (1, 5, 15 min)", str(figures["load_average"]))]
    width = max(len(k) for k, _ in rows)
    print("-" * (width + 20))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print("-" * (width + 20))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
