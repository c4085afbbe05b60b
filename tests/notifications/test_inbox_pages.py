"""A resident reads their inbox in the app: unread count, opening a message, nobody else's."""

import pytest

from notifications.models import Delivery
from notifications.services import dispatch_fan_out

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbours(wards, place):
    return place(0.01, 51.01), place(0.02, 51.02)


def publish(make_dispatch, wards, n, **fields):
    for i in range(n):
        dispatch = make_dispatch({"include": [{"area": wards[0].pk}]}, subject=f"Alert {i}", source_id=str(i), **fields)
        dispatch_fan_out(dispatch_id=dispatch.pk)


def test_inbox_lists_new_messages_with_an_unread_count_and_opening_one_reads_it(
    client, neighbours, make_dispatch, wards
):
    me, _ = neighbours
    publish(make_dispatch, wards, 2)
    client.force_login(me)

    page = client.get("/inbox/").content.decode()
    assert "Alert 1" in page and "Alert 0" in page
    assert page.count(">New</span>") == 2
    assert '<span class="tag">2<span class="visually-hidden"> unread</span>' in page

    delivery = Delivery.objects.get(member=me, channel="inbox", dispatch__subject="Alert 1")
    opened = client.get(f"/inbox/{delivery.pk}/")

    assert opened.status_code == 200
    assert "Alert 1" in opened.content.decode()
    delivery.refresh_from_db()
    assert delivery.read_at is not None
    assert '<span class="tag">1<span class="visually-hidden"> unread</span>' in client.get("/inbox/").content.decode()


def test_nobody_opens_anyone_elses_message(client, neighbours, make_dispatch, wards):
    me, neighbour = neighbours
    publish(make_dispatch, wards, 1)
    theirs = Delivery.objects.get(member=neighbour, channel="inbox")
    client.force_login(me)

    assert client.get(f"/inbox/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_message_html_is_sanitised_on_the_way_out(client, neighbours, make_dispatch, wards):
    me, _ = neighbours
    publish(
        make_dispatch,
        wards,
        1,
        body_html='<p onclick="steal()">Seen <b>near</b> the park</p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a>',
    )
    client.force_login(me)
    delivery = Delivery.objects.get(member=me, channel="inbox")

    body = client.get(f"/inbox/{delivery.pk}/").content.decode()

    assert "Seen <b>near</b> the park" in body
    assert "<script>alert(1)" not in body and "onclick" not in body and "javascript:" not in body


def test_inbox_needs_login(client):
    response = client.get("/inbox/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
