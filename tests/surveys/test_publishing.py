"""Publishing: the invitation goes through the dispatch pipeline to the audience drawn,
inside the force's area only; "invited" is having a delivery of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_sweep
from surveys import services
from surveys.models import Survey
from tests.surveys.conftest import good_answers, square

pytestmark = pytest.mark.django_db


def test_publishing_to_a_ward_invites_its_residents_and_only_they_can_answer(
    client, officer, town, northerner, southerner, make_survey, publish
):
    survey = make_survey()
    assert not Dispatch.objects.exists()

    survey = publish(survey, {"include": [{"area": town.north.pk}]})

    dispatch = survey.invitation_dispatch
    assert (survey.status, dispatch.source_type, dispatch.source_id) == ("published", "surveys.survey", str(survey.pk))
    assert dispatch.url.endswith(f"/surveys/{survey.pk}/")
    assert set(Delivery.objects.filter(dispatch=dispatch).values_list("member", "channel")) == {
        (northerner.pk, "inbox"),
        (northerner.pk, "email"),
    }
    client.force_login(northerner)
    page = client.get(f"/surveys/{survey.pk}/").content.decode()
    assert "Do you feel safe in the town centre?" in page
    listed = client.get("/surveys/").content.decode()
    assert survey.title in listed
    # The invitation in the inbox has a button to answer.
    inbox_copy = Delivery.objects.get(member=northerner, dispatch=dispatch, channel="inbox")
    assert "Answer the survey" in client.get(f"/inbox/{inbox_copy.pk}/").content.decode()

    client.force_login(southerner)
    assert client.get(f"/surveys/{survey.pk}/").status_code == 404
    assert survey.title not in client.get("/surveys/").content.decode()
    with pytest.raises(PermissionDenied):
        services.survey_response_submit(member=southerner, survey=survey, answers=good_answers(survey))
    assert not survey.responses.exists()


def test_publish_page_counts_the_audience_then_publishes(client, officer, town, northerner, southerner, make_survey):
    survey = make_survey()
    client.force_login(officer)
    closes = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    form = {"areas": [town.north.pk, town.south.pk], "closes_at": closes}

    counted = client.post(f"/surveys/manage/{survey.pk}/publish/", {**form, "action": "count"})
    assert counted.status_code == 200
    assert "This reaches <strong>2</strong> residents" in counted.content.decode()
    survey.refresh_from_db()
    assert survey.is_draft

    published = client.post(f"/surveys/manage/{survey.pk}/publish/", {**form, "action": "publish"})
    assert published.status_code == 302
    survey.refresh_from_db()
    assert survey.status == "published"
    assert survey.audience == {
        "include": [{"area": town.north.pk}, {"area": town.south.pk}],
        "exclude": [],
        "interest_only": False,
    }
    assert survey.audience_description == "North Ward (ward); South Ward (ward)"


def test_a_street_level_circle_and_a_drawn_area_reach_who_lives_inside(
    client, officer, town, place, make_survey, django_capture_on_commit_callbacks
):
    near = place(0.1000, 51.0500, email="near@example.org")
    place(0.1100, 51.0500, email="far@example.org")  # about 700 m east
    inside = place(0.0150, 50.9150, email="corner@example.org")
    survey = make_survey()
    client.force_login(officer)
    closes = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/surveys/manage/{survey.pk}/publish/",
            {
                "latitude": "51.05",
                "longitude": "0.1",
                "metres": "300",
                "shape": "50.91, 0.01\n50.91, 0.02\n50.92, 0.02\n50.92, 0.01",
                "closes_at": closes,
                "action": "publish",
            },
        )

    assert response.status_code == 302
    survey.refresh_from_db()
    invited = set(Delivery.objects.filter(dispatch=survey.invitation_dispatch).values_list("member_id", flat=True))
    assert invited == {near.pk, inside.pk}
    assert "300 m around a point" in survey.audience_description


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"latitude": "52.5", "longitude": "1.5", "metres": "500"}, "reaches outside your organisation&#x27;s area"),
        ({}, "Choose at least one area, group, shape or circle"),
        ({"latitude": "51.05", "longitude": "0.1"}, "give its centre&#x27;s latitude and longitude and its radius"),
        ({"shape": "51.0, 0.1\n51.0"}, "Line 2 is not"),
    ],
)
def test_an_audience_that_cannot_be_sent_to_is_refused_and_nothing_is_published(
    client, officer, town, make_survey, form, message
):
    survey = make_survey()
    client.force_login(officer)
    closes = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(f"/surveys/manage/{survey.pk}/publish/", {**form, "closes_at": closes, "action": "publish"})

    assert response.status_code == 400
    assert message in response.content.decode()
    survey.refresh_from_db()
    assert survey.is_draft and survey.invitation_dispatch is None
    assert not Dispatch.objects.exists()


def test_another_forces_ward_cannot_be_targeted(officer_other_org, town):
    survey = services.survey_define(
        actor=officer_other_org, title="Essex asks", questions=[{"kind": "text", "text": "Anything?"}]
    )
    with pytest.raises(ValidationError, match="only send to areas your organisation covers"):
        services.survey_publish(
            actor=officer_other_org,
            survey=survey,
            audience={"include": [{"area": town.north.pk}]},
            closes_at=timezone.now() + timedelta(days=1),
        )
    assert Survey.objects.get(pk=survey.pk).is_draft


def test_closing_in_the_past_or_before_opening_is_refused(officer, town, make_survey):
    survey = make_survey()
    now = timezone.now()
    with pytest.raises(ValidationError, match="already passed"):
        services.survey_publish(
            actor=officer,
            survey=survey,
            audience={"include": [{"area": town.north.pk}]},
            closes_at=now - timedelta(minutes=1),
        )
    with pytest.raises(ValidationError, match="must close after it opens"):
        services.survey_publish(
            actor=officer,
            survey=survey,
            audience={"include": [{"area": town.north.pk}]},
            opens_at=now + timedelta(days=2),
            closes_at=now + timedelta(days=1),
        )
    assert Survey.objects.get(pk=survey.pk).is_draft


def test_a_survey_with_no_questions_cannot_be_published(officer, town):
    empty = services.survey_create(actor=officer, title="Empty")
    with pytest.raises(ValidationError, match="at least one question"):
        services.survey_publish(
            actor=officer,
            survey=empty,
            audience={"include": [{"area": town.north.pk}]},
            closes_at=timezone.now() + timedelta(days=1),
        )


def test_a_survey_opening_later_invites_nobody_until_it_opens(
    officer, town, northerner, make_survey, publish, django_capture_on_commit_callbacks
):
    opens = timezone.now() + timedelta(hours=2)
    survey = publish(
        make_survey(), {"include": [{"area": town.north.pk}]}, opens_at=opens, closes_at=opens + timedelta(days=1)
    )

    assert survey.invitation_dispatch.send_at == opens
    assert not Delivery.objects.filter(dispatch=survey.invitation_dispatch).exists()
    assert survey.phase() == "scheduled"
    with pytest.raises(PermissionDenied):
        services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))

    # Two hours pass: the sweep fans the invitation out when its time comes.
    earlier = timedelta(hours=2, seconds=1)
    Survey.objects.filter(pk=survey.pk).update(opens_at=opens - earlier, closes_at=opens - earlier + timedelta(days=1))
    Dispatch.objects.filter(pk=survey.invitation_dispatch_id).update(send_at=opens - earlier)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_sweep()

    assert Delivery.objects.filter(dispatch=survey.invitation_dispatch, member=northerner).exists()
    survey.refresh_from_db()
    services.survey_response_submit(member=northerner, survey=survey, answers=good_answers(survey))
    assert survey.responses.count() == 1


def test_closing_a_survey_that_has_not_opened_stops_its_invitation(
    client, officer, town, northerner, make_survey, publish, django_capture_on_commit_callbacks
):
    opens = timezone.now() + timedelta(hours=2)
    survey = publish(
        make_survey(), {"include": [{"area": town.north.pk}]}, opens_at=opens, closes_at=opens + timedelta(days=1)
    )
    client.force_login(officer)

    assert client.post(f"/surveys/manage/{survey.pk}/close/").status_code == 302

    survey.refresh_from_db()
    assert survey.status == "closed"
    assert survey.invitation_dispatch.status == "cancelled"
    Dispatch.objects.filter(pk=survey.invitation_dispatch_id).update(send_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_sweep()
    assert not Delivery.objects.filter(dispatch=survey.invitation_dispatch).exists()


def test_closing_time_can_be_extended(client, officer, town, northerner, make_survey, publish):
    survey = publish(make_survey(), {"include": [{"area": town.north.pk}]})
    later = timezone.localtime() + timedelta(days=30)
    client.force_login(officer)

    client.post(f"/surveys/manage/{survey.pk}/closing-time/", {"closes_at": later.strftime("%Y-%m-%dT%H:%M")})

    survey.refresh_from_db()
    assert survey.closes_at == later.replace(second=0, microsecond=0)


def test_groups_can_be_targeted(officer, town, northerner, southerner, make_survey, publish):
    from groups.models import CommunityGroup, Membership

    watch = CommunityGroup.objects.create(
        name="Bearsted Watch", slug="bearsted-watch", kind="scheme", organisation=officer.organisation, area=town.south
    )
    Membership.objects.create(group=watch, member=northerner)

    survey = publish(make_survey(), {"include": [{"group": watch.pk}]})

    assert set(Delivery.objects.filter(dispatch=survey.invitation_dispatch).values_list("member_id", flat=True)) == {
        northerner.pk
    }
    assert survey.audience_description == "Bearsted Watch"


def test_drawn_shape_crossing_the_boundary_is_refused(officer, town, make_survey):
    survey = make_survey()
    with pytest.raises(ValidationError, match="reaches outside"):
        services.survey_publish(
            actor=officer,
            survey=survey,
            audience={"include": [{"polygon": square(0.1, 51.0, 0.5, 51.5)}]},
            closes_at=timezone.now() + timedelta(days=1),
        )
