"""Celery tasks of alerts: thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def release_scheduled() -> int:
    """Every minute (beat): mark scheduled alerts whose time has come as published."""
    from .services import alerts_release_scheduled

    return alerts_release_scheduled()
