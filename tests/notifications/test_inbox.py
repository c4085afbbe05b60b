"""A resident's inbox: their own messages only, newest first, read or not, in one query."""

import pytest
from django.utils import timezone

from notifications.models import Delivery
from notifications.selectors import inbox_delivery_get, inbox_for, inbox_unread_count
from notifications.services import delivery_mark_read, dispatch_fan_out

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_neighbours(wards, place):
    return place(0.01, 51.01), place(0.02, 51.02)


def publish(make_dispatch, wards, n, **fields):
    for i in range(n):
        dispatch = make_dispatch({"include": [{"area": wards[0].pk}]}, subject=f"Alert {i}", source_id=str(i), **fields)
        dispatch_fan_out(dispatch_id=dispatch.pk)


def test_the_inbox_holds_the_members_own_messages_newest_first(two_neighbours, make_dispatch, wards):
    me, _neighbour = two_neighbours
    publish(make_dispatch, wards, 3)

    mine = list(inbox_for(member=me))

    assert [d.dispatch.subject for d in mine] == ["Alert 2", "Alert 1", "Alert 0"]
    assert {d.member_id for d in mine} == {me.pk}
    assert {d.channel for d in mine} == {"inbox"}


@pytest.mark.parametrize("n", [3, 30])
def test_the_inbox_is_one_query_however_long(two_neighbours, make_dispatch, wards, n, django_assert_max_num_queries):
    me, _ = two_neighbours
    publish(make_dispatch, wards, n)

    with django_assert_max_num_queries(1):
        page = [(d.dispatch.subject, d.dispatch.organisation.name, d.read_at) for d in inbox_for(member=me)]

    assert len(page) == n


def test_unread_count_and_marking_read(two_neighbours, make_dispatch, wards):
    me, neighbour = two_neighbours
    publish(make_dispatch, wards, 2)
    first = inbox_for(member=me).last()
    assert inbox_unread_count(member=me) == 2

    before = timezone.now()
    read = delivery_mark_read(member=me, delivery_id=first.pk)
    assert read.read_at >= before
    assert inbox_unread_count(member=me) == 1
    assert inbox_unread_count(member=neighbour) == 2

    # Opening it again keeps the first time it was read.
    assert delivery_mark_read(member=me, delivery_id=first.pk).read_at == read.read_at


def test_nobody_reads_or_marks_anyone_elses_messages(two_neighbours, make_dispatch, wards):
    me, neighbour = two_neighbours
    publish(make_dispatch, wards, 1)
    theirs = inbox_for(member=neighbour).get()
    their_email = Delivery.objects.get(member=me, channel="email")

    with pytest.raises(Delivery.DoesNotExist):
        delivery_mark_read(member=me, delivery_id=theirs.pk)
    with pytest.raises(Delivery.DoesNotExist):
        inbox_delivery_get(member=me, delivery_id=theirs.pk)
    with pytest.raises(Delivery.DoesNotExist):  # an email delivery is not an inbox message
        delivery_mark_read(member=me, delivery_id=their_email.pk)
    theirs.refresh_from_db()
    assert theirs.read_at is None
