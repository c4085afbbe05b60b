"""Celery tasks of replies: thin wrappers over services, taking ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=8,
)
def escalate(*, message_id: int) -> bool:
    """Email the duty inbox about an urgent reply (once; retried while the mail server fails)."""
    from .services import message_escalate

    return message_escalate(message_id=message_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def escalation_sweep() -> int:
    """Every minute (beat): escalations the broker never delivered."""
    from .services import escalation_sweep as sweep

    return sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def remind_unclosed() -> dict[str, int]:
    """Hourly (beat): remind officers of threads left waiting REPLY_REMINDER_DAYS."""
    from .services import threads_remind_unclosed

    return threads_remind_unclosed()


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def send_reminder(*, organisation_id: int, assignee_id: int | None, thread_ids: list[int]) -> None:
    from .services import reminder_send

    reminder_send(organisation_id=organisation_id, assignee_id=assignee_id, thread_ids=thread_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def notify_assignee(*, thread_id: int, assignee_id: int) -> None:
    from .services import assignee_notify

    assignee_notify(thread_id=thread_id, assignee_id=assignee_id)
