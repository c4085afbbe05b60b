"""“You said, we did”: a summary of the results goes back, as an alert, to exactly the
people the survey was sent to, and residents see it with the results."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from alerts.models import Alert
from notifications.models import Delivery
from surveys import services
from tests.surveys.conftest import good_answers

pytestmark = pytest.mark.django_db


def test_summary_goes_as_an_alert_to_the_same_audience_and_shows_with_the_results(
    client, officer, town, northerner, southerner, make_survey, publish, django_capture_on_commit_callbacks
):
    survey = publish(make_survey(), {"include": [{"area": town.north.pk}]})
    services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    client.force_login(officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/surveys/manage/{survey.pk}/summary/",
            {"summary_text": "You said the park feels unsafe after dark. We will patrol it on Friday nights."},
        )

    assert response.status_code == 302
    survey.refresh_from_db()
    alert = Alert.objects.get(dispatch=survey.summary_dispatch)
    assert (alert.kind, alert.status, alert.title) == (
        "news",
        "published",
        "You said, we did: Feeling safe in Maidstone",
    )
    assert f"/surveys/{survey.pk}/results/" in alert.body_html
    assert survey.summary_dispatch.audience["include"] == [{"dispatch": survey.invitation_dispatch_id}]
    # Exactly who was invited: the North Ward resident, not the South Ward one.
    assert set(Delivery.objects.filter(dispatch=survey.summary_dispatch).values_list("member_id", flat=True)) == {
        northerner.pk
    }
    page = client.get(f"/surveys/manage/{survey.pk}/summary/").content.decode()
    assert "Sent on" in page and "1 resident" in page

    client.force_login(northerner)
    results = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    assert "You said, we did" in results and "patrol it on Friday nights" in results

    with pytest.raises(ValidationError, match="already been sent"):
        services.survey_summary_publish(actor=officer, survey=survey, text="Again")


def test_an_empty_summary_or_a_draft_is_refused(client, officer, town, northerner, make_survey):
    draft = make_survey()
    with pytest.raises(ValidationError, match="Publish the survey"):
        services.survey_summary_publish(actor=officer, survey=draft, text="Too early")
    assert not Alert.objects.exists()
