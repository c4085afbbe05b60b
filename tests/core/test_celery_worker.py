"""With REDIS_URL set, tasks go to a real Celery worker, which works on the real database."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from mcv.celery import app as celery_app
from members.models import Member
from members.tasks import purge_unverified_accounts
from tests.factories import MemberFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_worker():
    """A `celery worker` process against the real Redis and the test PostgreSQL database."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mcv",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname=mcv-test@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    celery_app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        celery_app.conf.task_always_eager = True
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output)  # shown by pytest when the test fails


@pytest.mark.services
# serialized_rollback: the flush after this test then leaves an empty database, which
# the browser tests (also serialized_rollback) refill from the snapshot; without it,
# post_migrate would recreate content types under new ids and the refill would clash.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_a_task_and_its_effect_is_in_postgresql(real_worker):
    stale = Member.objects.create_user("never.verified@example.org", "x" * 12, first_name="N", last_name="V")
    Member.objects.filter(pk=stale.pk).update(date_joined=timezone.now() - timedelta(days=30))
    keeper = MemberFactory(email="verified@example.org")
    assert connection.vendor == "postgresql"

    result = purge_unverified_accounts.delay()
    deleted = result.get(timeout=90)

    assert deleted == 1
    assert result.successful()
    assert not Member.objects.filter(pk=stale.pk).exists()
    assert Member.objects.filter(pk=keeper.pk).exists()
