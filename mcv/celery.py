"""The Celery app. With REDIS_URL set, tasks go to real workers; without it they run eagerly.

Run a worker: `celery -A mcv worker -l info`; the beat scheduler: `celery -A mcv beat`.
How the app is configured for "nothing lost" (late acknowledgement, no prefetch, the
visibility timeout, publishing that fails fast) is explained beside each
CELERY_* setting in mcv/settings.py.
"""

from __future__ import annotations

import functools
import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcv.settings")

logger = logging.getLogger("mcv.celery")

# What publishing raises when the broker cannot be reached: kombu's wrapper of the
# connection error, or the socket error itself on a connection that broke mid-publish.
BROKER_UNREACHABLE = (OperationalError, ConnectionError, TimeoutError, OSError)


class Task(DjangoTask):
    """Every task of the project. `delay_on_commit` queues the task once the caller's
    transaction has committed, and a broker that cannot be reached then is logged,
    not raised.

    By the time the callback runs the commit has happened: an officer's alert is
    published, a resident's reply is saved. Raising would turn that success into an
    error page for something already done, and retrying here would hold the request.
    Whatever the task was to do is in the database (a pending dispatch, a pending
    delivery), where the every-minute sweep finds it once the broker is back.

    Nobody can wait for the result of a task queued on commit (there is no handle),
    so none is stored: asking the result backend to watch for it would also make
    the publish hang for as long as an unreachable Redis takes to give up.
    """

    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(functools.partial(self._publish_committed, args, kwargs, {}))

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        transaction.on_commit(functools.partial(self._publish_committed, args, kwargs, options))

    def _publish_committed(self, args, kwargs, options) -> None:
        try:
            self.apply_async(args, kwargs, ignore_result=True, **options)
        except BROKER_UNREACHABLE as exc:
            if self.app.conf.task_always_eager:  # the task ran here: its own error, not the broker's
                raise
            logger.error(
                "Could not queue %s after commit, the broker is unreachable (%s). Nothing is lost: "
                "the work waits in the database and the dispatch sweep queues it again.",
                self.name,
                exc,
            )


app = Celery("mcv", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
