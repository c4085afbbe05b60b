"""An alert's reach shows how many replies and ratings it had, and the average rating."""

import pytest

from replies.selectors import reply_stats
from replies.services import rating_set, reply_create, thread_answer

pytestmark = pytest.mark.django_db


def test_reply_stats_counts_residents_replies_and_ratings_per_dispatch(
    send_alert, resident, other_resident, officer, organisation, django_assert_max_num_queries
):
    burglary = send_alert(resident, other_resident, subject="Burglaries")
    scam = send_alert(resident, other_resident, subject="Phone scam")
    quiet = send_alert(resident, subject="Road closed")
    first = reply_create(resident=resident, dispatch=burglary, body="I saw a van.")
    reply_create(resident=resident, dispatch=burglary, body="It was white.")
    reply_create(resident=other_resident, dispatch=burglary, body="Me too.")
    thread_answer(officer=officer, thread=first.thread, body="Thank you, we will look into it.")
    rating_set(resident=resident, dispatch=burglary, score=5)
    rating_set(resident=other_resident, dispatch=burglary, score=2)
    rating_set(resident=resident, dispatch=scam, score=4)
    rating_set(resident=resident, dispatch=scam, score=3)  # changed, not added

    with django_assert_max_num_queries(2):
        stats = reply_stats(dispatch_ids=[burglary.pk, scam.pk, quiet.pk])

    assert stats == {
        burglary.pk: {"replies": 3, "ratings": 2, "rating_average": 3.5},
        scam.pk: {"replies": 0, "ratings": 1, "rating_average": 3.0},
        quiet.pk: {"replies": 0, "ratings": 0, "rating_average": None},
    }


def test_reply_stats_costs_the_same_for_fifty_alerts(send_alert, resident, django_assert_max_num_queries):
    alerts = [send_alert(resident, subject=f"Alert {i}") for i in range(50)]
    for alert in alerts[::7]:
        reply_create(resident=resident, dispatch=alert, body="Thanks")

    with django_assert_max_num_queries(2):
        stats = reply_stats(dispatch_ids=[a.pk for a in alerts])

    assert sum(s["replies"] for s in stats.values()) == len(alerts[::7])
    assert reply_stats(dispatch_ids=[]) == {}
