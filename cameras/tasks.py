"""Celery tasks of the camera register: thin wrappers over services (beat schedules in settings)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def camera_confirmations_request() -> int:
    """Daily: ask owners whose cameras were last confirmed over a year ago, once each."""
    from .services import camera_confirmations_request as ask

    return ask()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def cameras_follow_homes() -> int:
    """Nightly: cameras at their owners' homes follow owners who moved."""
    from .services import cameras_follow_homes as follow

    return follow()
