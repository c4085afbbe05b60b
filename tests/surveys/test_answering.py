"""A resident answers: every kind of question, clear errors for what does not fit (and
nothing stored), changes until the survey closes, one response each by the database's
rule, and anonymity that holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import AuditEvent
from core.personal_data import sections
from surveys import services
from surveys.models import Answer, Participation, Response, Survey
from tests.surveys.conftest import form_data, good_answers, option, questions_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(town, northerner, southerner, make_survey, publish):
    return publish(make_survey(), {"include": [{"area": town.district.pk}]})


@pytest.fixture
def anonymous(town, northerner, southerner, make_survey, publish):
    return publish(make_survey(anonymous=True, title="Honest answers"), {"include": [{"area": town.district.pk}]})


def test_resident_answers_every_kind_of_question_from_the_page(client, survey, northerner, town):
    client.force_login(northerner)

    response = client.post(f"/surveys/{survey.pk}/", form_data(survey))

    assert response.status_code == 302 and response["Location"] == f"/surveys/{survey.pk}/thanks/"
    stored = Response.objects.get(survey=survey)
    assert (stored.member, stored.ward, stored.district) == (northerner, town.north, town.district)
    q = questions_of(survey)
    rows = {(a.question_id, a.option_id, a.value, a.text) for a in stored.answers.all()}
    matrix = list(q["matrix"].options.all())
    assert rows == {
        (q["single"].pk, option(q["single"], "No"), None, ""),
        (q["multiple"].pk, option(q["multiple"], "Burglary"), None, ""),
        (q["multiple"].pk, option(q["multiple"], "Drugs"), None, ""),
        (q["rating"].pk, None, 2, ""),
        (q["matrix"].pk, matrix[0].pk, 4, ""),
        (q["matrix"].pk, matrix[1].pk, 1, ""),
        (q["matrix"].pk, matrix[2].pk, 2, ""),
        (q["text"].pk, None, None, "More patrols on Friday nights, please."),
        (q["ranking"].pk, option(q["ranking"], "Noise"), 1, ""),
        (q["ranking"].pk, option(q["ranking"], "Parking"), 2, ""),
    }
    # One row per question and response is marked, so one aggregate counts answerers too.
    assert stored.answers.filter(first=True).count() == 6
    thanks = client.get(f"/surveys/{survey.pk}/thanks/").content.decode()
    assert "Thank you" in thanks and f"/surveys/{survey.pk}/results/" in thanks


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("single", None, "Choose an answer."),
        ("single", 999_999, "That is not one of this question's options."),
        ("multiple", "three", "That is not one of this question's options."),
        ("rating", 6, "Choose a rating from 1 to 5."),
        ("rating", 2.5, "Choose a rating from 1 to 5."),
        ("rating", True, "Choose a rating from 1 to 5."),
        ("text", "x" * 201, "Keep your answer to 200 characters or fewer (it has 201)."),
        ("text", 12, "Write your answer as text."),
        ("matrix", "4", "Rate each statement."),
    ],
)
def test_an_answer_that_does_not_fit_is_refused_and_nothing_is_stored(survey, northerner, kind, value, message):
    with pytest.raises(ValidationError) as refused:
        services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey, **{kind: value}))

    question = questions_of(survey)[kind]
    assert refused.value.message_dict == {f"q{question.pk}": [message]}
    assert not Response.objects.exists() and not Answer.objects.exists() and not Participation.objects.exists()


def test_too_many_choices_bad_rankings_and_half_a_matrix_are_refused(survey, northerner):
    q = questions_of(survey)
    cases = {
        "multiple": ([o.pk for o in q["multiple"].options.all()][:3], "Choose at most 2 options (you chose 3)."),
        "ranking": ([option(q["ranking"], "Noise")], "Rank your top 2: you ranked 1."),
    }
    matrix = list(q["matrix"].options.all())
    cases["matrix"] = ({str(matrix[0].pk): 3}, "Rate every statement: “Town centre after dark” has no rating.")
    for kind, (value, message) in cases.items():
        with pytest.raises(ValidationError) as refused:
            services.survey_response_submit(
                member=northerner, survey=survey, answers=good_answers(survey, **{kind: value})
            )
        assert refused.value.message_dict[f"q{q[kind].pk}"] == [message]
    # Over the rank count, and the same option twice.
    with pytest.raises(ValidationError, match="Rank at most 2"):
        services.survey_response_submit(
            member=northerner,
            survey=survey,
            answers=good_answers(survey, ranking=[o.pk for o in q["ranking"].options.all()][:3]),
        )
    with pytest.raises(ValidationError, match="only one rank"):
        services.survey_response_submit(
            member=northerner, survey=survey, answers=good_answers(survey, ranking=[option(q["ranking"], "Noise")] * 2)
        )
    assert not Answer.objects.exists()


def test_page_errors_are_summarised_linked_to_each_question_and_keep_what_was_typed(client, survey, northerner):
    q = questions_of(survey)
    client.force_login(northerner)
    data = form_data(survey, **{f"q{q['rating'].pk}": "", f"q{q['text'].pk}": "y" * 250})
    for o in q["ranking"].options.all():
        data[f"q{q['ranking'].pk}_{o.pk}"] = "1" if o.label in ("Noise", "Parking") else ""

    response = client.post(f"/surveys/{survey.pk}/", data)

    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error-summary"' in body
    assert f'<a href="#q{q["rating"].pk}_0">Question 3: Choose a rating.</a>' in body
    assert "Question 6: Give each rank to only one option." in body
    assert f'id="q{q["rating"].pk}_error"' in body and 'aria-invalid="true"' in body
    assert "y" * 250 in body  # nothing typed is lost
    assert not Response.objects.exists()


def test_a_conditional_question_is_asked_only_after_its_answer(officer, town, northerner, make_survey, publish):
    survey = make_survey(
        [
            {"kind": "single", "text": "Were you a victim of crime this year?", "options": ["Yes", "No"]},
            {"kind": "text", "text": "Did you report it?", "shown_if": {"question": 0, "options": [0]}},
        ]
    )
    survey = publish(survey, {"include": [{"area": town.north.pk}]})
    victim, reported = survey.questions.order_by("position")

    # Shown (Yes): required like any other question.
    with pytest.raises(ValidationError) as refused:
        services.survey_response_submit(
            member=northerner, survey=survey, answers={str(victim.pk): option(victim, "Yes")}
        )
    assert refused.value.message_dict == {f"q{reported.pk}": ["Write an answer."]}

    # Not shown (No): whatever is sent for it is ignored.
    services.survey_response_submit(
        member=northerner, survey=survey, answers={str(victim.pk): option(victim, "No"), str(reported.pk): "ignored"}
    )
    assert list(Answer.objects.values_list("question_id", flat=True)) == [victim.pk]


def test_resident_changes_their_answers_until_the_survey_closes(client, officer, survey, northerner):
    q = questions_of(survey)
    services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    client.force_login(northerner)
    page = client.get(f"/surveys/{survey.pk}/").content.decode()
    assert "You can change your answers until it closes" in page
    assert f'value="{option(q["single"], "No")}" checked' in page  # the form comes back filled in

    client.post(f"/surveys/{survey.pk}/", form_data(survey, **{f"q{q['single'].pk}": str(option(q["single"], "Yes"))}))

    assert Response.objects.count() == 1
    assert Answer.objects.get(question=q["single"]).option_id == option(q["single"], "Yes")

    services.survey_close(actor=officer, survey=survey)
    survey.refresh_from_db()
    with pytest.raises(ValidationError, match="has closed"):
        services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    closed = client.post(f"/surveys/{survey.pk}/", form_data(survey))
    assert closed.status_code == 200 and "This survey has closed" in closed.content.decode()
    assert Answer.objects.get(question=q["single"]).option_id == option(q["single"], "Yes")


def test_past_its_closing_time_a_survey_takes_no_answers(survey, northerner):
    Survey.objects.filter(pk=survey.pk).update(
        opens_at=timezone.now() - timedelta(days=2), closes_at=timezone.now() - timedelta(seconds=1)
    )
    survey.refresh_from_db()
    with pytest.raises(ValidationError, match="has closed"):
        services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    assert not Response.objects.exists()


def test_one_response_per_member_is_the_databases_rule(survey, northerner):
    services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    assert Response.objects.count() == 1

    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(survey=survey, member=northerner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.create(survey=survey, member=northerner)


def test_officers_cannot_answer(client, officer, survey):
    client.force_login(officer)
    assert client.get(f"/surveys/{survey.pk}/").status_code == 404
    assert client.get("/surveys/").status_code == 302  # to their own surveys


# --- anonymous surveys


def test_an_anonymous_response_is_linked_to_nobody_anywhere(client, officer, anonymous, northerner):
    client.force_login(northerner)
    client.post(f"/surveys/{anonymous.pk}/", form_data(anonymous))

    response = Response.objects.get(survey=anonymous)
    assert response.member is None
    assert response.submitted_at.minute == 0 and response.submitted_at.second == 0  # to the hour only
    assert response.edit_key_hash and len(response.edit_key_hash) == 64
    # The one-response rule holds through a separate record that says only "answered".
    participation = Participation.objects.get(survey=anonymous)
    assert participation.member == northerner
    assert {f.name for f in Participation._meta.get_fields()} == {"id", "survey", "member"}
    # Nothing in the audit log, the export or the results names the resident with it.
    assert not AuditEvent.objects.filter(target_type="surveys.response").exists()
    assert not AuditEvent.objects.filter(actor=northerner, action__startswith="surveys.").exists()
    client.force_login(officer)
    csv_text = client.get(f"/surveys/manage/{anonymous.pk}/results.csv").content.decode()
    header = csv_text.splitlines()[0]
    assert "name" not in header and "email" not in header
    assert northerner.email not in csv_text and northerner.last_name not in csv_text
    exported = next(s for s in sections() if s.name == "surveys").export(northerner)
    assert exported["responses"] == [] and exported["anonymous_surveys_answered"] == ["Honest answers"]


def test_an_anonymous_respondent_changes_answers_only_with_the_key_they_hold(client, anonymous, northerner):
    q = questions_of(anonymous)
    client.force_login(northerner)
    first = client.post(f"/surveys/{anonymous.pk}/", form_data(anonymous))
    cookie = first.cookies[f"mcv_survey_key_{anonymous.pk}"]
    assert cookie["httponly"] and cookie["path"] == f"/surveys/{anonymous.pk}/"
    thanks = client.get(f"/surveys/{anonymous.pk}/thanks/").content.decode()
    assert f"/surveys/{anonymous.pk}/private/{cookie.value}/" in thanks

    # With the key (the cookie) the form comes back filled in, and a change replaces the answers.
    client.post(f"/surveys/{anonymous.pk}/", form_data(anonymous, **{f"q{q['rating'].pk}": "5"}))
    assert Response.objects.count() == 1
    assert Answer.objects.get(question=q["rating"]).value == 5

    # Without it (another device), nobody can find them: not even to show them again.
    client.cookies.pop(f"mcv_survey_key_{anonymous.pk}")
    page = client.get(f"/surveys/{anonymous.pk}/").content.decode()
    assert "only the private link you were given" in page
    with pytest.raises(ValidationError, match="already answered"):
        services.survey_response_submit(member=northerner, survey=anonymous, answers=good_answers(anonymous))
    # The private link brings them back.
    back = client.get(f"/surveys/{anonymous.pk}/private/{cookie.value}/")
    assert back.status_code == 302 and back.cookies[f"mcv_survey_key_{anonymous.pk}"].value == cookie.value
    assert client.get(f"/surveys/{anonymous.pk}/private/not-the-key/").status_code == 404
    assert Response.objects.count() == 1


def test_someone_elses_key_opens_nothing(anonymous, northerner, southerner):
    _, key = services.survey_response_submit(member=northerner, survey=anonymous, answers=good_answers(anonymous))
    with pytest.raises(ValidationError, match="not valid"):
        services.survey_response_submit(
            member=southerner, survey=anonymous, answers=good_answers(anonymous), edit_key=key
        )
    assert Response.objects.count() == 1 and Participation.objects.count() == 1


def test_erasing_a_member_detaches_their_identified_answers_and_drops_their_free_text(survey, northerner):
    services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    section = next(s for s in sections() if s.name == "surveys")
    assert section.export(northerner)["responses"][0]["survey"] == survey.title

    section.erase(northerner)

    response = Response.objects.get(survey=survey)
    assert response.member is None
    assert not Answer.objects.exclude(text="").exists()
    assert Answer.objects.filter(response=response).count() == 9
    assert not Participation.objects.filter(member=northerner).exists()
