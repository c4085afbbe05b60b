from django.db import models

from .models import AuditEvent


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    organisation=None,
    data: dict | None = None,
) -> AuditEvent:
    """Record one audit event. `actor` may be None for the system (a periodic task)."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_obj, role = actor, actor.role
        if target is not None and target.pk == actor.pk and target._meta.label == actor._meta.label:
            role = "self"
    else:
        actor_obj, role = None, "system"
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_role=role,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        organisation=organisation,
        data=data or {},
    )
