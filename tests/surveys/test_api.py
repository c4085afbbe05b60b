"""The surveys API: build a survey with its questions, publish it, answer it (anonymously
too), read results; quick polls. Officers only see their organisation's; residents only
what they were invited to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Delivery
from surveys.models import Participation, Poll, PollVote, Response, Survey
from tests.surveys.conftest import EVERY_KIND, good_answers, questions_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def as_member(member) -> APIClient:
        client = APIClient()
        client.force_authenticate(member)
        return client

    return as_member


def test_officer_builds_a_survey_with_a_condition_and_replaces_it(api, officer):
    definition = {
        "title": "Road safety",
        "questions": [
            {"kind": "single", "text": "Do you drive?", "options": ["Yes", "No"]},
            {"kind": "rating", "text": "How safe are the roads?", "scale_min": 1, "scale_max": 5,
             "shown_if": {"question": 0, "options": [0]}},
        ],
    }  # fmt: skip

    created = api(officer).post("/api/v1/surveys/", definition, format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    drives, roads = body["questions"]
    assert body["status"] == "draft" and body["phase"] == "draft"
    assert roads["shown_if"] == {"question": drives["id"], "options": [drives["options"][0]["id"]]}
    assert drives["shown_if"] is None

    survey_id = body["id"]
    replaced = api(officer).put(
        f"/api/v1/surveys/{survey_id}/", {"title": "Roads", "questions": EVERY_KIND[:2]}, format="json"
    )
    assert replaced.status_code == 200
    assert [q["kind"] for q in replaced.json()["questions"]] == ["single", "multiple"]
    assert Survey.objects.get(pk=survey_id).questions.count() == 2


def test_a_bad_definition_is_refused_whole(api, officer):
    response = api(officer).post(
        "/api/v1/surveys/",
        {"title": "Bad", "questions": [{"kind": "text", "text": "Fine"}, {"kind": "rating", "text": "No scale"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "questions": ["Question 2: scale min: Give the lowest and highest points of the scale, such as 1 and 5."]
    }
    assert not Survey.objects.exists()


def test_publish_answer_and_read_results_through_the_api(api, officer, town, northerner, southerner,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    survey_id = api(officer).post("/api/v1/surveys/", {"title": "API survey", "questions": EVERY_KIND},
                                  format="json").json()["id"]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        published = api(officer).post(
            f"/api/v1/surveys/{survey_id}/publish/",
            {"audience": {"include": [{"area": town.north.pk}]},
             "closes_at": (timezone.now() + timedelta(days=2)).isoformat()},
            format="json",
        )  # fmt: skip
    assert published.status_code == 200 and published.json()["phase"] == "open"
    survey = Survey.objects.get(pk=survey_id)
    assert Delivery.objects.filter(dispatch=survey.invitation_dispatch, member=northerner).exists()

    listed = api(northerner).get("/api/v1/surveys/").json()
    assert [(s["id"], s["answered"]) for s in listed["results"]] == [(survey_id, False)]
    assert api(southerner).get(f"/api/v1/surveys/{survey_id}/").status_code == 404

    first = api(northerner).put(f"/api/v1/surveys/{survey_id}/response/", {"answers": good_answers(survey)},
                                format="json")  # fmt: skip
    assert first.status_code == 201 and first.json()["edit_key"] is None
    q = questions_of(survey)
    changed = api(northerner).put(
        f"/api/v1/surveys/{survey_id}/response/", {"answers": good_answers(survey, rating=5)}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["answers"][str(q["rating"].pk)] == 5
    assert Response.objects.count() == 1

    refused = api(northerner).put(
        f"/api/v1/surveys/{survey_id}/response/", {"answers": good_answers(survey, rating=9)}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json() == {f"q{q['rating'].pk}": ["Choose a rating from 1 to 5."]}

    results = api(officer).get(f"/api/v1/surveys/{survey_id}/results/?by=ward").json()
    single = next(r for r in results["questions"] if r["kind"] == "single")
    assert (results["responses"], results["invited"], results["response_rate"]) == (1, 1, 100)
    assert {o["label"]: o["count"] for o in single["options"]} == {"Yes": 0, "No": 1, "Not sure": 0}
    assert single["breakdown"][0]["suppressed"] is True  # one answer in the ward: withheld
    # Residents: not until it closes (the default), then the totals.
    assert api(northerner).get(f"/api/v1/surveys/{survey_id}/results/").status_code == 403
    api(officer).post(f"/api/v1/surveys/{survey_id}/close/", format="json")
    totals = api(northerner).get(f"/api/v1/surveys/{survey_id}/results/").json()
    assert totals["responses"] == 1 and all(r["kind"] != "text" for r in totals["questions"])
    assert all(r["breakdown"] == [] for r in totals["questions"])


def test_anonymous_answers_through_the_api_come_back_only_with_the_edit_key(
    api, officer, town, northerner, make_survey, publish
):
    survey = publish(make_survey(anonymous=True), {"include": [{"area": town.north.pk}]})
    url = f"/api/v1/surveys/{survey.pk}/response/"

    first = api(northerner).put(url, {"answers": good_answers(survey)}, format="json")

    key = first.json()["edit_key"]
    assert first.status_code == 201 and len(key) > 20
    assert api(northerner).get(url).status_code == 404
    assert api(northerner).get(url, HTTP_X_EDIT_KEY=key).status_code == 200
    again = api(northerner).put(url, {"answers": good_answers(survey)}, format="json")
    assert again.status_code == 400 and "private link" in again.json()["detail"][0]
    changed = api(northerner).put(url, {"answers": good_answers(survey, rating=1)}, format="json", HTTP_X_EDIT_KEY=key)
    assert changed.status_code == 200 and changed.json()["edit_key"] is None
    assert Response.objects.get().member is None and Participation.objects.count() == 1


def test_other_forces_surveys_are_out_of_reach(api, officer, officer_other_org, make_survey):
    survey = make_survey()
    assert api(officer_other_org).get(f"/api/v1/surveys/{survey.pk}/").status_code == 404
    assert api(officer_other_org).get(f"/api/v1/surveys/{survey.pk}/results/").status_code == 404
    assert api(officer_other_org).delete(f"/api/v1/surveys/{survey.pk}/").status_code == 404
    assert Survey.objects.filter(pk=survey.pk).exists()


# --- quick polls


@pytest.fixture
def alert_message(officer, town, northerner, southerner, django_capture_on_commit_callbacks):
    """A message from Kent Police to North Ward (an alert's dispatch), fanned out."""
    from notifications.services import dispatch_publish

    with django_capture_on_commit_callbacks(execute=True):
        return dispatch_publish(
            organisation=officer.organisation, source_type="alerts.alert", source_id="1", subject="Car break-ins",
            body_text="Three cars were broken into.", audience={"include": [{"area": town.north.pk}]},
        )  # fmt: skip


def test_a_quick_poll_is_attached_to_a_message_and_answered_with_one_tap(api, officer, northerner, southerner,
                                                                         alert_message):  # fmt: skip
    created = api(officer).post(
        "/api/v1/polls/",
        {"question": "Did this help?", "options": ["Yes", "No"], "dispatch": alert_message.pk},
        format="json",
    )
    assert created.status_code == 201
    poll = created.json()
    yes, no = poll["options"]

    voted = api(northerner).post(f"/api/v1/polls/{poll['id']}/vote/", {"option": no["id"]}, format="json")
    assert voted.status_code == 200 and voted.json()["my_vote"] == no["id"] and voted.json()["total"] == 1
    # One tap again changes the answer; it never counts twice.
    api(northerner).post(f"/api/v1/polls/{poll['id']}/vote/", {"option": yes["id"]}, format="json")
    assert list(PollVote.objects.values_list("option_id", flat=True)) == [yes["id"]]
    # Only residents who received the message.
    assert api(southerner).post(f"/api/v1/polls/{poll['id']}/vote/", {"option": yes["id"]},
                                format="json").status_code == 404  # fmt: skip
    assert api(northerner).post(f"/api/v1/polls/{poll['id']}/vote/", {"option": 999999},
                                format="json").status_code == 400  # fmt: skip
    results = api(officer).get(f"/api/v1/polls/{poll['id']}/").json()
    assert [(o["label"], o["votes"], o["percent"]) for o in results["options"]] == [("Yes", 1, 100), ("No", 0, 0)]
    # A second poll on the same message is refused.
    again = api(officer).post("/api/v1/polls/", {"question": "Again?", "options": ["A", "B"],
                                                 "dispatch": alert_message.pk}, format="json")  # fmt: skip
    assert again.status_code == 400 and Poll.objects.count() == 1
