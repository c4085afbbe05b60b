"""Celery tasks of the dispatch pipeline: thin wrappers over services, taking ids.

All of them are safe to run twice: the database rows, not the task, say what is
done. `acks_late` with `reject_on_worker_lost`: a task is taken off the queue only
once it has finished, and one whose worker was killed goes back on the queue
instead of being lost; the rows make the second run harmless.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fan_out_task(*, dispatch_id: int) -> dict[str, int]:
    """Turn a published dispatch into its deliveries and queue their batches."""
    from .services import dispatch_fan_out

    return dispatch_fan_out(dispatch_id=dispatch_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_batch(*, dispatch_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Send the due deliveries of one dispatch in an id range (hundreds per task)."""
    from .services import delivery_batch_send

    return delivery_batch_send(dispatch_id=dispatch_id, first_id=first_id, last_id=last_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def dispatch_sweep() -> dict[str, int]:
    """Every minute (beat): pick up what a down broker or a dead worker left behind."""
    from .services import dispatch_sweep as sweep

    return sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def digest_run() -> dict[str, int]:
    """At DISPATCH_DIGEST_TIME and every ten minutes (beat): make and queue the daily digests due."""
    from .digest import digest_run as run

    return run()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def digest_send_batch(*, first_id: int, last_id: int) -> dict[str, int]:
    """Send the due daily digests in an id range: one email per member."""
    from .digest import digest_batch_send

    return digest_batch_send(first_id=first_id, last_id=last_id)
