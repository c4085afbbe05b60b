"""The Celery app. With REDIS_URL set, tasks go to real workers; without it they run eagerly.

Run a worker: `celery -A mcv worker -l info`; the beat scheduler: `celery -A mcv beat`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcv.settings")

app = Celery("mcv")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
