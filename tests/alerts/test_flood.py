"""Before publishing, the officer learns how much this audience has already heard from their
organisation this week, so that nobody floods an area."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.selectors import audience_recent_messages
from notifications.models import Dispatch
from notifications.services import dispatch_fan_out, dispatch_publish

from .conftest import square

pytestmark = pytest.mark.django_db


def sent(organisation, audience, *, days_ago: float = 0) -> Dispatch:
    dispatch = dispatch_publish(
        organisation=organisation, source_type="test.thing", source_id=1, subject="News", body_text="News.",
        audience=audience,
    )  # fmt: skip
    dispatch_fan_out(dispatch_id=dispatch.pk)
    if days_ago:
        Dispatch.objects.filter(pk=dispatch.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return dispatch


@pytest.fixture
def week(organisation, other_organisation, kent, place):
    """A and B live in North Ward, C in South Ward. A heard from Kent Police twice this week,
    B once; C once; an older message and Essex Police's messages do not count."""
    a, b = place(0.05, 51.05, opt_in=[organisation, other_organisation]), place(0.06, 51.06)
    c = place(0.05, 50.95)
    sent(organisation, {"include": [{"area": kent["north"].pk}]})
    sent(organisation, {"include": [{"members": [a.pk]}]})
    sent(organisation, {"include": [{"members": [c.pk]}]})
    sent(organisation, {"include": [{"area": kent["north"].pk}]}, days_ago=8)
    sent(other_organisation, {"include": [{"members": [a.pk]}]})
    return a, b, c


def test_it_counts_this_weeks_messages_that_reached_the_audience(organisation, kent, week):
    north = {"include": [{"area": kent["north"].pk}]}

    recent = audience_recent_messages(organisation=organisation, spec=north, audience_members=2)

    assert recent == {
        "dispatches": 2,
        "average": 1.5,
        "most": 2,
        "reached": 2,
        "sampled": False,
        "checked": 2,
        "days": 7,
    }


def test_an_audience_that_heard_nothing_is_told_so(organisation, kent, place):
    place(0.05, 51.05)
    recent = audience_recent_messages(organisation=organisation, spec={"include": [{"area": kent["north"].pk}]})
    assert recent["dispatches"] == 0 and recent["most"] == 0


def test_one_query_however_many_members_and_two_with_a_drawn_shape(organisation, kent, week, django_assert_num_queries):
    with django_assert_num_queries(1):
        audience_recent_messages(organisation=organisation, spec={"include": [{"area": kent["force"].pk}]})
    drawn = {"include": [{"polygon": square(0.0, 50.9, 0.2, 51.1)}]}
    with django_assert_num_queries(2):
        recent = audience_recent_messages(organisation=organisation, spec=drawn)
    assert recent["dispatches"] == 3  # everyone lives inside the square: A twice, C once


def test_a_big_audience_is_read_from_a_sample(organisation, kent, week, monkeypatch):
    import alerts.selectors

    monkeypatch.setattr(alerts.selectors, "FLOOD_SAMPLE", 1)
    north = {"include": [{"area": kent["north"].pk}]}

    recent = audience_recent_messages(organisation=organisation, spec=north, audience_members=2)

    assert recent["sampled"] is True
    # One of A (2 messages) or B (1), picked at random, stands for both.
    assert (recent["dispatches"], recent["average"], recent["most"], recent["reached"]) in {
        (2, 2.0, 2, 2),
        (1, 1.0, 1, 2),
    }
