"""Nothing lost: a broker that goes down and a worker killed mid-send, with the real pieces.

These tests run real processes: a real `redis-server`, real Celery workers (with beat,
so that the sweep runs on its own schedule and nobody has to act), the test
PostgreSQL database, and a real SMTP server (aiosmtpd, in this process) receiving
what the workers send. They are marked `services`.

The helpers here (SMTP server, worker, bulk residents) are shared by the other
reliability tests (test_rate_limits.py, test_smtp_errors.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mcv.celery import Task as ProjectTask
from notifications.models import Delivery, Dispatch

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


# --- a real SMTP server in this process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An SMTP server's handler that keeps what it accepted: (Message-ID, recipient) per message.

    `answer(recipient, attempt)` may refuse a recipient with an SMTP reply ("451 …",
    "550 …"): `attempt` counts how many times that recipient was offered so far.
    """

    def __init__(self, answer: Callable[[str, int], str | None] | None = None) -> None:
        self.answer = answer
        self.lock = threading.Lock()
        self.accepted: list[tuple[str, str]] = []
        self.arrived: list[float] = []  # time.monotonic() of each message accepted
        self.offered: Counter[str] = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.offered[address] += 1
            attempt = self.offered[address]
        reply = self.answer(address, attempt) if self.answer else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        found = MESSAGE_ID.search(envelope.original_content or b"")
        message_id = found.group(1).decode() if found else ""
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.accepted.append((message_id, rcpt))
                self.arrived.append(time.monotonic())
        return "250 Message accepted"

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(mid for mid, _ in self.accepted)


@contextlib.contextmanager
def smtp_server(recorder: Recorder) -> Iterator[int]:
    """aiosmtpd on a free loopback port; yields the port."""
    port = free_port()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command otherwise
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_mailer(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }


# --- residents in bulk (a factory per member would take minutes for 10,000)


def seed_residents(*, count: int, organisation_id: int, area_id: int, prefix: str = "bulk") -> list[int]:
    """`count` verified residents opted in to the organisation, living in the area (PostgreSQL).

    Rows go in with one INSERT … SELECT per table: members, verified email
    addresses, default preferences (inbox and email on), the opt-in, and the
    materialised area membership.
    """
    from allauth.account.models import EmailAddress

    from groups.models import AreaMember
    from members.models import Member, OrganisationOptIn, Preferences

    member_ids = _insert_select(
        Member,
        "FROM generate_series(1, %s) AS g",
        [count],
        {
            "email": ("%s || g || '@example.org'", [f"{prefix}-"]),
            "first_name": ("'Resident ' || g", []),
            "last_name": ("%s", ["Bulk"]),
            "password": ("%s", ["!"]),
            "longitude": ("0.05", []),
            "latitude": ("51.05", []),
        },
        returning=True,
    )
    members = f"FROM {Member._meta.db_table} AS m WHERE m.id = ANY(%s)"
    _insert_select(
        EmailAddress,
        members,
        [member_ids],
        {"user_id": ("m.id", []), "email": ("m.email", []), "verified": ("true", []), "primary": ("true", [])},
    )
    _insert_select(Preferences, members, [member_ids], {"member_id": ("m.id", [])})
    _insert_select(
        OrganisationOptIn,
        members,
        [member_ids],
        {"member_id": ("m.id", []), "organisation_id": ("%s", [organisation_id])},
    )
    _insert_select(AreaMember, members, [member_ids], {"member_id": ("m.id", []), "area_id": ("%s", [area_id])})
    return member_ids


def _insert_select(model, source: str, source_params: list, exprs: dict, *, returning: bool = False):
    """INSERT INTO model's table SELECT …: each column from `exprs` (SQL, params) or its field default."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns, values, params = [], [], []
    for field in fields:
        columns.append(f'"{field.column}"')
        if field.column in exprs or field.name in exprs:
            sql, p = exprs.get(field.column) or exprs[field.name]
            values.append(sql)
            params += p
        else:
            auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            default = timezone.now() if auto else field.get_default()
            values.append("%s")
            params.append(field.get_db_prep_save(default, connection))
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}"
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(sql + " RETURNING id", params + source_params)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(sql, params + source_params)
    return None


# --- real Celery workers


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(*, redis_url: str, smtp_port: int | None = None, **extra: object) -> dict[str, str]:
    """The environment of a worker or a publishing process: the test database, this Redis,
    the test SMTP server; `extra` are more settings (DISPATCH_STUCK_AFTER_SECONDS=…)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    if smtp_port is not None:
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Worker:
    """`celery worker` (prefork, `-B` for an embedded beat) in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, *, concurrency: int = 2, beat: bool = True) -> None:
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "mcv", "worker", "--loglevel=INFO"]
        command += [f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += [f"--hostname=mcv-rel-{log.stem}@%h"]
        if beat:
            command += ["--beat", f"--schedule-filename={log.with_suffix('.beat')}"]
        self.output = log.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"the worker did not start:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes at once: a machine lost, mid-task."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.output.close()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def workers(tmp_path):
    """`workers(env, name)`: start a worker; all are stopped (and their logs printed) at the end."""
    started: list[Worker] = []

    def start(env: dict[str, str], name: str, **options) -> Worker:
        worker = Worker(env, tmp_path / f"{name}.log", **options)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.log.name}\n{worker.tail(200)}")  # shown when a test fails


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.25, what: str = "") -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(every)
    return time.monotonic() - started


def purge_broker(redis_url: str) -> None:
    """Remove what the workers left in the test's Redis database: queued and unacknowledged messages."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete("celery", "dispatch-sweep", "unacked", "unacked_index", "unacked_mutex")
    for key in client.scan_iter("_kombu.binding.*"):
        client.delete(key)
    client.close()


def emails_of(dispatch_id: int):
    return Delivery.objects.filter(dispatch_id=dispatch_id, channel=Delivery.Channel.EMAIL)


def message_ids_of(dispatch_id: int) -> set[str]:
    host = "127.0.0.1"  # SITE_URL's host names the Message-ID's domain
    return {f"<{u}@{host}>" for u in emails_of(dispatch_id).values_list("uuid", flat=True)}


# --- publishing with the broker down (no services needed: the broker is a closed port)


@pytest.mark.django_db
def test_queueing_after_commit_with_the_broker_unreachable_is_logged_not_raised(
    caplog, django_capture_on_commit_callbacks
):
    from celery import Celery

    app = Celery("unreachable", task_cls=ProjectTask, set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=f"redis://127.0.0.1:{free_port()}/0", task_always_eager=False, result_backend=None)

    @app.task(name="tests.unreachable.noop")
    def noop(value: int) -> int:
        return value

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        noop.delay_on_commit(1)  # nothing happens until the commit
        assert caplog.records == []
    took = time.monotonic() - started

    # The commit went through; the error is in the log, saying what happens next.
    assert took < 5, f"publishing hung for {took:.1f} s"
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.name == "mcv.celery"]
    assert len(errors) == 1
    assert "Could not queue tests.unreachable.noop after commit" in errors[0].getMessage()
    assert "sweep" in errors[0].getMessage()


# --- the broker stopped and started again


class RedisServer:
    """A real `redis-server` of our own on a free loopback port (never the machine's shared one)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=20, what="redis-server to answer")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis shuts down (nothing saved: --save "")
            self.process.wait(timeout=20)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


PUBLISH = """
import json, time
import django
django.setup()
from django.db import transaction
from notifications.services import dispatch_publish

started = time.monotonic()
with transaction.atomic():
    dispatch = dispatch_publish(
        organisation={organisation}, source_type="alerts.alert", source_id="{source}",
        subject="{subject}", body_text="Lock your doors and windows tonight.",
        audience={{"include": [{{"area": {area}}}]}},
    )
print(json.dumps({{"dispatch": dispatch.pk, "seconds": time.monotonic() - started}}))
"""


def publish_in_a_process(env: dict[str, str], *, organisation: int, area: int, subject: str) -> tuple[dict, str]:
    """Publish as the web app does (its own process, its own broker connection): (result, log)."""
    code = PUBLISH.format(organisation=organisation, area=area, subject=subject, source=subject[:20])
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "mcv.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publishing_with_redis_stopped_succeeds_and_the_sweep_sends_it_when_redis_is_back(
    own_redis, workers, wards, place, organisation
):
    north = wards[0]
    residents = [place(0.01 + i / 1000, 51.01) for i in range(12)]
    recorder = Recorder()
    with smtp_server(recorder) as smtp_port:
        env = process_env(
            redis_url=own_redis.url,
            smtp_port=smtp_port,
            # Beat runs the sweep every second, and a dispatch pending for 2 s counts as
            # missed (production: every minute, after a minute).
            DISPATCH_SWEEP_SECONDS=1,
            DISPATCH_PENDING_GRACE_SECONDS=2,
        )
        workers(env, "worker")

        # With Redis up, a published alert goes out at once.
        first, _ = publish_in_a_process(env, organisation=organisation.pk, area=north.pk, subject="Before")
        wait_until(lambda: recorder.message_ids().keys() >= message_ids_of(first["dispatch"]), timeout=60)

        own_redis.stop()
        assert not own_redis.answers()

        # Publishing still succeeds, quickly, and says in the log what will happen.
        second, log = publish_in_a_process(env, organisation=organisation.pk, area=north.pk, subject="During")
        assert second["seconds"] < 10
        assert "Could not queue notifications.tasks.fan_out_task after commit" in log
        dispatch = Dispatch.objects.get(pk=second["dispatch"])
        assert dispatch.status == Dispatch.Status.PENDING
        time.sleep(3)  # past the grace: nothing can happen while the broker is down
        assert Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.PENDING
        assert not emails_of(dispatch.pk).exists()

        # Redis comes back. Nobody does anything: beat's sweep finds the dispatch.
        own_redis.start()
        wait_until(
            lambda: Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE,
            timeout=90,
            what="the sweep to send the dispatch published while Redis was down",
        )
        wait_until(lambda: recorder.message_ids().keys() >= message_ids_of(dispatch.pk), timeout=30)

    expected = message_ids_of(dispatch.pk)
    assert len(expected) == len(residents)
    assert set(emails_of(dispatch.pk).values_list("status", flat=True)) == {Delivery.Status.SENT}
    received = recorder.message_ids()
    assert all(received[mid] == 1 for mid in expected)  # each resident once
    to = dict(recorder.accepted)
    assert sorted(to[mid] for mid in expected) == sorted(r.email for r in residents)


# --- a worker killed mid-send


MEMBERS = 10_000


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_dispatch_loses_nothing_and_repeats_only_what_was_in_flight(
    workers, wards, organisation, officer
):
    north = wards[0]
    seed_residents(count=MEMBERS, organisation_id=organisation.pk, area_id=north.pk)
    redis_url = settings.REDIS_URL
    purge_broker(redis_url)
    recorder = Recorder()
    with smtp_server(recorder) as smtp_port:
        env = process_env(
            redis_url=redis_url,
            smtp_port=smtp_port,
            # Small batches: a batch takes well under a second, far less than the time
            # after which the sweep takes its rows back (10 s here, 15 minutes in production).
            DISPATCH_BATCH_SIZE=100,
            DISPATCH_SWEEP_SECONDS=2,
            DISPATCH_STUCK_AFTER_SECONDS=10,
            DISPATCH_REQUEUE_AFTER_SECONDS=30,
        )
        worker = workers(env, "first")
        from mcv.celery import app as celery_app
        from notifications.services import dispatch_publish

        celery_app.conf.task_always_eager = False  # this process publishes to the real Redis
        with transaction.atomic():
            dispatch = dispatch_publish(
                organisation=organisation,
                source_type="alerts.alert",
                source_id="1",
                subject="Missing person: Sam, 14",
                body_text="Sam was last seen near the station. Call 999 if you see him.",
                audience={"include": [{"area": north.pk}]},
                priority=1,
                created_by=officer,
            )
        emails = emails_of(dispatch.pk)
        wait_until(
            lambda: emails.filter(status=Delivery.Status.SENT).count() >= MEMBERS // 5,
            timeout=120,
            every=0.05,
            what="a fifth of the emails to go",
        )
        worker.kill()
        # What was in flight: claimed by the dead worker, sent or not, outcome unrecorded.
        in_flight = emails.filter(status=Delivery.Status.SENDING).count()
        sent_at_kill = emails.filter(status=Delivery.Status.SENT).count()
        assert sent_at_kill < MEMBERS, "the kill came too late to prove anything"

        workers(env, "restarted")
        wait_until(
            lambda: not emails.filter(status__in=Delivery.UNFINISHED).exists(),
            timeout=180,
            what="every email to be sent after the restart",
        )
        wait_until(lambda: recorder.message_ids().keys() >= message_ids_of(dispatch.pk), timeout=30)
    purge_broker(redis_url)

    # Every member has exactly one delivery per channel, and every email was sent.
    per_channel = Counter(Delivery.objects.filter(dispatch=dispatch).values_list("channel", flat=True))
    assert per_channel == {"inbox": MEMBERS, "email": MEMBERS}
    assert Delivery.objects.filter(dispatch=dispatch).values("member_id", "channel").distinct().count() == 2 * MEMBERS
    assert set(emails.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE

    # The SMTP server got every delivery's Message-ID, to the right member...
    expected = dict(emails.values_list("uuid", "member__email"))
    received = recorder.message_ids()
    assert received.keys() == {f"<{u}@127.0.0.1>" for u in expected}
    recipients = dict(recorder.accepted)
    assert all(recipients[f"<{u}@127.0.0.1>"] == email for u, email in expected.items())
    # ...and repeated only messages that were in flight when the worker died.
    duplicates = sum(n - 1 for n in received.values())
    print(f"sent at the kill: {sent_at_kill}; in flight: {in_flight}; duplicates received: {duplicates}")
    assert duplicates <= in_flight
