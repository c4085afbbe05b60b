"""An officer builds a survey through its pages: questions of every kind, conditions,
reordering by buttons and by drag, a preview; mistakes are refused and store nothing."""

from __future__ import annotations

import json

import pytest

from surveys.models import Option, Question, Survey
from tests.surveys.conftest import EVERY_KIND, questions_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(officer):
    from surveys import services

    return services.survey_create(actor=officer, title="Parking in Bearsted")


def test_officer_starts_a_survey_and_adds_a_question_of_every_kind(client, officer):
    client.force_login(officer)
    response = client.post(
        "/surveys/manage/new/",
        {
            "title": "Feeling safe",
            "introduction": "We want to hear from you.",
            "is_anonymous": "1",
            "results_visibility": "after_closing",
        },
    )
    survey = Survey.objects.get(title="Feeling safe")
    assert response.status_code == 302 and response["Location"] == f"/surveys/manage/{survey.pk}/"
    assert (survey.is_anonymous, survey.organisation, survey.status) == (True, officer.organisation, "draft")

    posts = {
        "single": {"text": "Do you feel safe?", "options": "Yes\nNo\n", "required": "on"},
        "multiple": {"text": "What worries you?", "options": "Burglary\nSpeeding\nDrugs", "max_choices": "2"},
        "rating": {
            "text": "Your street?",
            "scale_min": "1",
            "scale_max": "5",
            "scale_labels": "Very unsafe\nUnsafe\nNeither\nSafe\nVery safe",
            "required": "on",
        },
        "matrix": {
            "text": "How safe here?",
            "options": "Town centre by day\nThe park after dark",
            "scale_min": "1",
            "scale_max": "3",
            "scale_labels": "",
        },
        "text": {"text": "Anything else?", "max_length": "300"},
        "ranking": {"text": "Rank your top 2", "options": "Parking\nNoise\nLitter", "rank_count": "2"},
    }
    for kind, data in posts.items():
        response = client.post(f"/surveys/manage/{survey.pk}/questions/new/?kind={kind}", data)
        assert response.status_code == 302, (kind, response.content.decode()[:500])

    questions = list(survey.questions.order_by("position"))
    assert [q.kind for q in questions] == list(posts)
    q = questions_of(survey)
    assert [o.label for o in q["single"].options.all()] == ["Yes", "No"]
    assert q["multiple"].max_choices == 2 and q["multiple"].required is False
    assert q["rating"].scale == [(1, "Very unsafe"), (2, "Unsafe"), (3, "Neither"), (4, "Safe"), (5, "Very safe")]
    assert q["matrix"].scale == [(1, ""), (2, ""), (3, "")]
    assert q["text"].max_length == 300
    assert q["ranking"].rank_count == 2
    page = client.get(f"/surveys/manage/{survey.pk}/").content.decode()
    for data in posts.values():
        assert data["text"] in page


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("single", {"text": "Pick one", "options": "Only one"}, "Give at least 2 options."),
        ("single", {"text": "Pick one", "options": "Yes\nyes"}, "“yes” is there twice"),
        ("single", {"text": "", "options": "Yes\nNo"}, "This field is required."),
        ("multiple", {"text": "Pick", "options": "A\nB", "max_choices": "3"}, "between 1 and 2"),
        ("rating", {"text": "Rate", "scale_min": "5", "scale_max": "1"}, "The highest point must be above the lowest."),
        (
            "rating",
            {"text": "Rate", "scale_min": "1", "scale_max": "5", "scale_labels": "Bad\nGood"},
            "Give a label for each of the 5 points",
        ),
        ("rating", {"text": "Rate", "scale_min": "0", "scale_max": "20"}, "between -10 and 10"),
        ("text", {"text": "Say", "max_length": "99999"}, "between 1 and 5000"),
        ("ranking", {"text": "Rank", "options": "A\nB", "rank_count": "3"}, "between 1 and 2"),
        (
            "matrix",
            {"text": "Rate these", "options": "", "scale_min": "1", "scale_max": "3"},
            "Give at least 1 statement.",
        ),
    ],
)
def test_a_question_that_cannot_work_is_refused_with_a_clear_error_and_nothing_is_saved(
    client, officer, draft, kind, data, message
):
    client.force_login(officer)
    response = client.post(f"/surveys/manage/{draft.pk}/questions/new/?kind={kind}", data)

    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error-summary"' in body
    assert message in body
    assert not Question.objects.filter(survey=draft).exists()


def test_a_question_shown_only_after_an_earlier_answer(client, officer, draft):
    client.force_login(officer)
    client.post(
        f"/surveys/manage/{draft.pk}/questions/new/?kind=single", {"text": "Do you drive?", "options": "Yes\nNo"}
    )
    drives = draft.questions.get()
    yes = drives.options.get(label="Yes")

    response = client.post(
        f"/surveys/manage/{draft.pk}/questions/new/?kind=single",
        {"text": "Where do you park?", "options": "Street\nDrive", "condition": [f"{drives.pk}:{yes.pk}"]},
    )

    assert response.status_code == 302
    parking = draft.questions.get(text="Where do you park?")
    assert (parking.condition_question, parking.condition_options) == (drives, [yes.pk])
    assert (
        "Shown only after a chosen answer to question 1" in client.get(f"/surveys/manage/{draft.pk}/").content.decode()
    )
    # It cannot now be moved above the question it depends on, nor that one removed.
    client.post(f"/surveys/manage/{draft.pk}/questions/{parking.pk}/move/", {"direction": "up"})
    assert list(draft.questions.order_by("position").values_list("pk", flat=True)) == [drives.pk, parking.pk]
    client.post(f"/surveys/manage/{draft.pk}/questions/{drives.pk}/delete/")
    assert Question.objects.filter(pk=drives.pk).exists()
    # Nor can the option that decides it disappear from the earlier question.
    response = client.post(
        f"/surveys/manage/{draft.pk}/questions/{drives.pk}/", {"text": "Do you drive?", "options": "No\nSometimes"}
    )
    assert response.status_code == 400 and "decides whether" in response.content.decode()
    assert Option.objects.filter(pk=yes.pk).exists()


def test_questions_move_up_and_down_and_by_drag(client, officer, make_survey):
    survey = make_survey(EVERY_KIND[:3])
    first, second, third = survey.questions.order_by("position")
    client.force_login(officer)

    response = client.post(f"/surveys/manage/{survey.pk}/questions/{third.pk}/move/", {"direction": "up"})
    assert response.status_code == 302
    assert list(survey.questions.order_by("position").values_list("pk", flat=True)) == [first.pk, third.pk, second.pk]

    dragged = client.post(f"/surveys/manage/{survey.pk}/questions/order/", {"order": [second.pk, first.pk, third.pk]})
    assert dragged.status_code == 200
    assert json.loads(dragged.content) == {"order": [second.pk, first.pk, third.pk]}

    refused = client.post(f"/surveys/manage/{survey.pk}/questions/order/", {"order": [second.pk, first.pk]})
    assert refused.status_code == 400
    assert "each of the survey's questions once" in json.loads(refused.content)["detail"]
    assert list(survey.questions.order_by("position").values_list("pk", flat=True)) == [second.pk, first.pk, third.pk]


def test_preview_shows_the_survey_as_a_resident_sees_it_and_checks_answers_without_storing(
    client, officer, make_survey
):
    survey = make_survey()
    client.force_login(officer)
    page = client.get(f"/surveys/manage/{survey.pk}/preview/").content.decode()
    for question in EVERY_KIND:
        assert question["text"] in page
    assert "Preview." in page and "Very unsafe" in page and "Not ranked" in page

    checked = client.post(f"/surveys/manage/{survey.pk}/preview/", {})
    assert checked.status_code == 400
    assert "Question 1: Choose an answer." in checked.content.decode()
    assert not survey.responses.exists()


def test_a_published_survey_keeps_its_questions(client, officer, make_survey, publish, town, northerner):
    survey = publish(make_survey(), {"include": [{"area": town.north.pk}]})
    question = survey.questions.first()
    client.force_login(officer)

    response = client.post(
        f"/surveys/manage/{survey.pk}/questions/{question.pk}/", {"text": "Changed", "options": "A\nB"}
    )

    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text == EVERY_KIND[0]["text"]
    client.post(f"/surveys/manage/{survey.pk}/questions/{question.pk}/delete/")
    assert Question.objects.filter(pk=question.pk).exists()
    assert client.post(f"/surveys/manage/{survey.pk}/delete/").status_code == 302
    assert Survey.objects.filter(pk=survey.pk).exists()


def test_a_draft_can_be_deleted(client, officer, draft):
    client.force_login(officer)
    response = client.post(f"/surveys/manage/{draft.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/surveys/manage/"
    assert not Survey.objects.filter(pk=draft.pk).exists()


def test_the_list_shows_only_the_organisations_own_surveys_in_few_queries(
    client, officer, officer_other_org, make_survey, django_assert_max_num_queries
):
    for i in range(30):
        make_survey(EVERY_KIND[:1], title=f"Kent survey {i}")
    from surveys import services

    services.survey_create(actor=officer_other_org, title="Essex survey")
    client.force_login(officer)
    with django_assert_max_num_queries(8):
        page = client.get("/surveys/manage/").content.decode()
    assert "Kent survey 29" in page and "Essex survey" not in page
    assert "Page 1 of 2" in page
