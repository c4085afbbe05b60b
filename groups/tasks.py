"""Celery tasks of the groups app: thin wrappers over services, taking ids."""

from celery import shared_task


@shared_task(acks_late=True)
def area_members_recompute_task(*, area_id: int) -> dict[str, int]:
    """Recompute who lives in one area (after an import or a redraw). Safe to run twice."""
    from .models import Area
    from .services import area_members_recompute

    if not Area.objects.filter(pk=area_id).exists():
        return {"members": 0, "added": 0, "removed": 0}
    return area_members_recompute(area_id=area_id)
