"""Reads of messages, always scoped to the member asking."""

from __future__ import annotations

from django.db.models import QuerySet

from members.models import Member

from .models import Delivery


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
