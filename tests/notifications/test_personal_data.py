"""The messages a member was sent are in their data download; erasing them stops what
was still to come and leaves what was sent pointing at the tombstone."""

import pytest

from members.services import member_erase, member_export
from notifications.models import Delivery
from notifications.services import delivery_batch_send, dispatch_fan_out

from .conftest import QUIET_NIGHT, everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_and_held(wards, place, make_dispatch):
    member = place(0.01, 51.01, **QUIET_NIGHT)
    spec = {"include": [{"area": wards[0].pk}]}
    sent = make_dispatch(spec, subject="Sent at noon", source_id="1")
    dispatch_fan_out(dispatch_id=sent.pk, now=timezone_at(12))
    delivery_batch_send(dispatch_id=sent.pk, **everything())
    held = make_dispatch(spec, subject="Held overnight", source_id="2")
    dispatch_fan_out(dispatch_id=held.pk, now=timezone_at(23))
    return member, sent, held


def timezone_at(hour):
    from datetime import UTC, datetime

    return datetime(2026, 11, 24, hour, 0, tzinfo=UTC)


def test_the_data_download_lists_every_message(sent_and_held):
    member, _, _ = sent_and_held

    messages = member_export(member=member, actor=member)["messages"]

    assert [(m["subject"], m["channel"], m["status"]) for m in messages] == [
        ("Sent at noon", "inbox", "sent"),
        ("Sent at noon", "email", "sent"),
        ("Held overnight", "inbox", "sent"),
        ("Held overnight", "email", "held"),
    ]
    assert messages[0]["organisation"] == "Kent Police"
    assert messages[0]["at"] == "2026-11-24T12:00:00+00:00"
    assert messages[1]["sent_at"] is not None and messages[3]["sent_at"] is None


def test_erasure_drops_what_was_still_to_come_and_keeps_what_was_sent(sent_and_held, mailoutbox):
    member, _sent, held = sent_and_held
    assert Delivery.objects.get(member=member, dispatch=held, channel="email").status == "held"

    member_erase(member=member, actor=member)

    left = set(Delivery.objects.filter(member_id=member.pk).values_list("dispatch__subject", "channel", "status"))
    assert left == {
        ("Sent at noon", "inbox", "sent"),
        ("Sent at noon", "email", "sent"),
        ("Held overnight", "inbox", "sent"),
    }
    mailoutbox.clear()
    assert delivery_batch_send(dispatch_id=held.pk, **everything()) == {}
    assert mailoutbox == []
