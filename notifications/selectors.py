"""Reads of messages, always scoped to the member asking."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from members.models import Member

from .models import Delivery, Dispatch


def inbox_for(*, member: Member) -> QuerySet[Delivery]:
    """A resident's inbox: their in-app messages with what each is, newest first.

    One query however many rows a page shows (the dispatch and its organisation come
    joined), an index range scan on (member, channel, created_at).
    """
    return (
        Delivery.objects.filter(member=member, channel=Delivery.Channel.INBOX)
        .select_related("dispatch", "dispatch__organisation")
        .order_by("-created_at", "-pk")
    )


def inbox_unread_count(*, member: Member) -> int:
    """How many of a resident's inbox messages they have not opened yet."""
    return Delivery.objects.filter(member=member, channel=Delivery.Channel.INBOX, read_at__isnull=True).count()


def inbox_delivery_get(*, member: Member, delivery_id: int) -> Delivery:
    """One message of a resident's own inbox; anyone else's is Delivery.DoesNotExist (a 404)."""
    return inbox_for(member=member).get(pk=delivery_id)


def dispatch_reach(*, dispatch_ids: list[int]) -> dict[int, dict]:
    """What became of each dispatch's messages: per channel, how many were delivered, failed
    or are still on their way, and how many inbox copies were read.

    `{dispatch_id: {"channels": {"email": {"delivered": 790, "failed": 3, "pending": 8}, …},
    "read": 412, "members": 812}}`. Two aggregate queries however many dispatches are
    asked about (the stats index covers them), so a list of alerts can show each one's reach.
    """
    reach: dict[int, dict] = {
        pk: {"channels": {}, "read": 0, "members": size}
        for pk, size in Dispatch.objects.filter(pk__in=dispatch_ids).values_list("pk", "audience_size")
    }
    rows = (
        Delivery.objects.filter(dispatch_id__in=dispatch_ids)
        .values("dispatch_id", "channel")
        .annotate(
            delivered=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
            cancelled=Count("pk", filter=Q(status=Delivery.Status.CANCELLED)),
            pending=Count("pk", filter=Q(status__in=Delivery.UNFINISHED)),
            read=Count("pk", filter=Q(read_at__isnull=False)),
        )
        .order_by()
    )
    for row in rows:
        entry = reach.setdefault(row["dispatch_id"], {"channels": {}, "read": 0, "members": 0})
        entry["channels"][row["channel"]] = {k: row[k] for k in ("delivered", "failed", "pending", "cancelled")}
        if row["channel"] == Delivery.Channel.INBOX:
            entry["read"] = row["read"]
    return reach
