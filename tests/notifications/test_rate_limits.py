"""Each channel sends no faster than its limit (CHANNEL_RATE_LIMITS), across all workers.

GOV.UK Notify takes 3,000 texts a minute per service and refuses the rest; an email
relay has its own cap. The bucket is checked with a simulated clock (any rolling
minute stays within the limit), then for real: two processes drawing on the same
Redis bucket get one limit between them, and real workers sending an alert to a real
SMTP server keep to it, put back what the limit holds up, and lose or repeat nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from django.conf import settings
from django.db import transaction

from notifications.models import Delivery
from notifications.ratelimit import LocalBucket, Rate, RateGate, channel_bucket
from notifications.services import delivery_batch_send, dispatch_fan_out, dispatch_sweep

from .conftest import everything
from .test_reliability import (  # noqa: F401  (workers: the fixture)
    ROOT,
    Recorder,
    process_env,
    purge_broker,
    seed_residents,
    smtp_server,
    wait_until,
    workers,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the bucket, with a simulated clock


@pytest.mark.parametrize("per_minute", [3000, 600, 45])
def test_no_rolling_minute_gets_more_than_the_limit_and_greedy_senders_get_close_to_it(per_minute):
    clock = Clock()
    bucket = LocalBucket(rate=Rate(per_minute), clock=clock)
    granted_at: list[float] = []
    # Five simulated minutes of senders asking for 50 at a time, 20 times a second.
    for _ in range(5 * 60 * 20):
        granted, _wait = bucket.take(50)
        granted_at += [clock.now] * granted
        clock.now += 0.05

    times = sorted(granted_at)
    worst, start = 0, 0
    for end, t in enumerate(times):  # the busiest window of 60 s, sliding over every grant
        while t - times[start] >= 60:
            start += 1
        worst = max(worst, end - start + 1)
    assert worst <= per_minute
    assert len(times) >= 0.95 * 5 * per_minute  # the limit is used, not just respected


def test_an_empty_bucket_says_how_long_until_the_next_token():
    clock = Clock()
    bucket = LocalBucket(rate=Rate(610), clock=clock)  # 10 a second, bursts of 10
    assert bucket.take(100) == (10, pytest.approx(0.1))
    assert bucket.take(1) == (0, pytest.approx(0.1))
    clock.now += 0.35
    assert bucket.take(100)[0] == 3


def test_a_channel_without_a_limit_has_no_bucket(settings):
    settings.CHANNEL_RATE_LIMITS = {"sms": 3000}
    assert channel_bucket("email") is None
    assert channel_bucket("sms").rate == Rate(3000)


# --- the gate a batch sends through


class FakeBucket:
    def __init__(self, answers):
        self.answers = list(answers)
        self.asked: list[int] = []

    def take(self, want):
        self.asked.append(want)
        return self.answers.pop(0)


def test_the_gate_waits_for_short_gaps_and_stops_at_long_ones():
    slept: list[float] = []
    bucket = FakeBucket([(2, 0.0), (0, 0.2), (1, 0.0), (0, 30.0)])
    gate = RateGate(list("abcdef"), bucket, max_wait=5, sleep=slept.append)

    assert list(gate) == ["a", "b", "c"]
    assert slept == [0.2]  # a short wait is waited out
    assert (gate.handed_out, gate.wait) == (3, 30.0)  # a long one ends the batch, saying when to come back
    assert gate[gate.handed_out :] == ["d", "e", "f"]


def test_the_gate_stops_when_the_bucket_cannot_be_reached():
    class Down:
        def take(self, want):
            raise ConnectionError("Redis is down")

    gate = RateGate([1, 2], Down(), max_wait=5, sleep=lambda s: None)
    assert list(gate) == []
    assert gate.wait is not None and gate.handed_out == 0


# --- a batch at its limit (eagerly, in this process)


@pytest.mark.django_db
def test_a_batch_at_its_limit_puts_the_rest_back_untried_and_the_sweep_sends_it_later(
    wards, place, make_dispatch, settings, mailoutbox, django_capture_on_commit_callbacks
):
    members = [place(0.01 + i / 1000, 51.01) for i in range(5)]
    settings.CHANNEL_RATE_LIMITS = {"email": 61}  # 1 a second, bursts of 1
    settings.DISPATCH_RATE_LIMIT_MAX_WAIT_SECONDS = 0
    dispatch = make_dispatch({"include": [{"area": wards[0].pk}]})
    dispatch_fan_out(dispatch_id=dispatch.pk)

    result = delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    # The first went (maybe a second, on a slow machine); the rest were put back, untried.
    sent, deferred = result["sent"], result["deferred"]
    assert sent + deferred == 5 and 1 <= sent <= 2
    assert len(mailoutbox) == sent
    emails = Delivery.objects.filter(dispatch=dispatch, channel="email")
    assert sorted(emails.values_list("status", "attempts")) == [("pending", 0)] * deferred + [("sent", 1)] * sent

    # The sweep (as beat runs it) sends the rest as the limit allows, each once.
    settings.DISPATCH_REQUEUE_AFTER_SECONDS = 0
    deadline = time.monotonic() + 30
    while emails.filter(status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
        with django_capture_on_commit_callbacks(execute=True):
            dispatch_sweep()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members)
    assert set(emails.values_list("status", "attempts")) == {("sent", 1)}


# --- for real: processes sharing one bucket in Redis

TAKE = """
import json, sys, time
import django
django.setup()
from notifications.ratelimit import channel_bucket
bucket = channel_bucket("email")
print("ready", flush=True)
start = float(sys.stdin.readline())
while time.time() < start:
    time.sleep(0.001)
granted = 0
while time.time() < start + {seconds}:
    got, wait = bucket.take(5)
    granted += got
    if not got:
        time.sleep(min(wait, 0.05))
print(json.dumps({{"granted": granted}}))
"""


@pytest.mark.services
def test_two_processes_share_one_limit_through_redis():
    per_second, seconds = 20, 3.0
    env = process_env(
        redis_url=settings.REDIS_URL,
        CHANNEL_RATE_LIMITS=f"email={per_second * 61}",
        CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex}",  # a bucket of this test's own
        DJANGO_SETTINGS_MODULE="mcv.settings",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TAKE.format(seconds=seconds)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in processes:  # both set up (Django loaded) before the clock starts
        assert p.stdout.readline().strip() == "ready"
    start = time.time() + 0.5
    for p in processes:
        p.stdin.write(f"{start}\n")
        p.stdin.flush()
    granted = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1])["granted"] for p in processes]

    # One bucket between them: a burst of 20 and 20 a second, not twice that.
    allowed = per_second + per_second * seconds
    assert sum(granted) <= allowed + 2
    assert sum(granted) >= 0.8 * allowed
    assert all(g > 0 for g in granted)


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_keep_to_the_limit_together_and_send_every_message_once(workers, wards, organisation):  # noqa: F811
    north = wards[0]
    count, per_second = 60, 10
    seed_residents(count=count, organisation_id=organisation.pk, area_id=north.pk, prefix="limited")
    purge_broker(settings.REDIS_URL)
    recorder = Recorder()
    with smtp_server(recorder) as smtp_port:
        env = process_env(
            redis_url=settings.REDIS_URL,
            smtp_port=smtp_port,
            CHANNEL_RATE_LIMITS=f"email={per_second * 61}",
            CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
            DISPATCH_BATCH_SIZE=10,  # six batches, sent by two worker processes at once
            DISPATCH_RATE_LIMIT_MAX_WAIT_SECONDS=0,  # every wait puts the rest back and queues it again
        )
        worker = workers(env, "limited", beat=False)
        from mcv.celery import app as celery_app
        from notifications.services import dispatch_publish

        celery_app.conf.task_always_eager = False
        with transaction.atomic():
            dispatch = dispatch_publish(
                organisation=organisation,
                source_type="alerts.alert",
                source_id="9",
                subject="Scam calls about bank accounts",
                body_text="Your bank will never ask you to move money.",
                audience={"include": [{"area": north.pk}]},
            )
        emails = Delivery.objects.filter(dispatch=dispatch, channel="email")
        wait_until(lambda: len(recorder.accepted) >= count, timeout=90, what="every email to arrive")
        wait_until(lambda: not emails.exclude(status="sent").exists(), timeout=30, what="every outcome recorded")
        time.sleep(1)  # anything sent twice would arrive now
    purge_broker(settings.REDIS_URL)

    # Every member's message arrived, once, carrying its delivery's id.
    received = Counter(mid for mid, _ in recorder.accepted)
    assert set(received) == {f"<{u}@127.0.0.1>" for u in emails.values_list("uuid", flat=True)}
    assert set(received.values()) == {1}
    # At 10 a second with a burst of 10, 60 messages take at least 5 seconds...
    arrived = sorted(recorder.arrived)
    assert arrived[-1] - arrived[0] >= 0.9 * (count - per_second) / per_second
    # ...and no second saw more than a burst plus a second's worth.
    assert max(sum(1 for t in arrived if s <= t < s + 1) for s in arrived) <= 2 * per_second + 1
    # The limit, not luck, spread them: batches put their rest back and were queued again.
    assert "'deferred'" in worker.log.read_text()
