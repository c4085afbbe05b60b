"""Publishing into the outbox: the dispatch is written with what announces it, fanned out on
commit (or at its scheduled time), and its reach can be read back per channel."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.audience import audience_member_ids
from notifications.models import Delivery, Dispatch
from notifications.selectors import dispatch_reach
from notifications.services import delivery_mark_read, dispatch_fan_out, dispatch_publish, dispatch_sweep

pytestmark = pytest.mark.django_db


def publish(organisation, audience, **fields):
    values = {
        "subject": "Burglaries on Elm Road",
        "body_text": "Lock your doors.",
        "source_type": "test.thing",
        "source_id": 1,
    }
    return dispatch_publish(organisation=organisation, audience=audience, **(values | fields))


def test_publishing_fans_out_once_the_transaction_commits(
    organisation, place, wards, django_capture_on_commit_callbacks
):
    inside = place(0.01, 51.01)
    with django_capture_on_commit_callbacks(execute=True) as on_commit:
        dispatch = publish(organisation, {"include": [{"area": wards[0].pk}]})
        # Nothing goes out before the caller's transaction commits.
        assert not Delivery.objects.filter(dispatch=dispatch).exists()
    assert on_commit  # the fan-out was queued on commit, and ran

    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE
    assert set(Delivery.objects.filter(dispatch=dispatch).values_list("member_id", "channel")) == {
        (inside.pk, "inbox"),
        (inside.pk, "email"),
    }


def test_a_rolled_back_publish_leaves_no_dispatch(organisation, place, wards):
    place(0.01, 51.01)

    @transaction.atomic
    def publish_then_fail():
        publish(organisation, {"include": [{"area": wards[0].pk}]})
        raise RuntimeError("the alert could not be saved")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert not Dispatch.objects.exists()
    assert not Delivery.objects.exists()


def test_a_bad_audience_is_refused_with_the_reason(organisation):
    with pytest.raises(ValidationError, match="at least one"):
        publish(organisation, {"include": []})
    with pytest.raises(ValidationError, match="ids"):
        publish(organisation, {"include": [{"members": ["me"]}]})
    assert not Dispatch.objects.exists()


def test_a_scheduled_dispatch_waits_for_its_time_then_the_sweep_sends_it(
    organisation, place, wards, django_capture_on_commit_callbacks
):
    place(0.01, 51.01)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        dispatch = publish(
            organisation, {"include": [{"area": wards[0].pk}]}, send_at=timezone.now() + timedelta(hours=2)
        )
        dispatch_sweep()
    assert not queued
    assert dispatch_fan_out(dispatch_id=dispatch.pk) == {}  # not before its time, even if asked

    Dispatch.objects.filter(pk=dispatch.pk).update(send_at=timezone.now() - timedelta(seconds=1))  # time passes
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_sweep()
    assert Delivery.objects.filter(dispatch=dispatch).count() == 2


def test_an_update_reaches_exactly_who_got_the_original(organisation, place, wards):
    first = place(0.01, 51.01)
    original = publish(organisation, {"include": [{"area": wards[0].pk}]})
    dispatch_fan_out(dispatch_id=original.pk)
    moved_in_later = place(0.02, 51.02)

    update = {"include": [{"dispatch": original.pk}]}
    assert set(audience_member_ids(spec=update, organisation=organisation)) == {first.pk}
    assert moved_in_later.pk in set(audience_member_ids(spec=original.audience, organisation=organisation))


def test_named_members_are_an_audience_but_only_if_the_organisation_may_message_them(
    organisation, other_organisation, place
):
    mine = place(None, None)
    not_opted_in = place(None, None, opt_in=[other_organisation])
    spec = {"include": [{"members": [mine.pk, not_opted_in.pk]}]}
    assert set(audience_member_ids(spec=spec, organisation=organisation)) == {mine.pk}


def test_reach_counts_each_channel_and_the_messages_read(
    organisation, place, wards, django_capture_on_commit_callbacks
):
    reader, other = place(0.01, 51.01), place(0.02, 51.02)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = publish(organisation, {"include": [{"area": wards[0].pk}]})
    inbox_copy = Delivery.objects.get(dispatch=dispatch, member=reader, channel="inbox")
    delivery_mark_read(member=reader, delivery_id=inbox_copy.pk)
    Delivery.objects.filter(dispatch=dispatch, member=other, channel="email").update(status="failed")
    later = publish(organisation, {"include": [{"area": wards[0].pk}]})  # not fanned out yet

    reach = dispatch_reach(dispatch_ids=[dispatch.pk, later.pk])

    assert reach[dispatch.pk]["members"] == 2
    assert reach[dispatch.pk]["read"] == 1
    assert reach[dispatch.pk]["channels"]["inbox"] == {"delivered": 2, "failed": 0, "pending": 0, "cancelled": 0}
    assert reach[dispatch.pk]["channels"]["email"] == {"delivered": 1, "failed": 1, "pending": 0, "cancelled": 0}
    assert reach[later.pk] == {"channels": {}, "read": 0, "members": 0}


def test_a_follow_up_skips_those_whose_copy_was_stopped_before_it_went(organisation, place, wards):
    got_it, stopped = place(0.01, 51.01), place(0.02, 51.02)
    original = publish(organisation, {"include": [{"area": wards[0].pk}]})
    dispatch_fan_out(dispatch_id=original.pk)
    Delivery.objects.filter(dispatch=original, member=stopped).update(status=Delivery.Status.CANCELLED)

    follow_up = {"include": [{"dispatch": original.pk}]}
    assert set(audience_member_ids(spec=follow_up, organisation=organisation)) == {got_it.pk}
