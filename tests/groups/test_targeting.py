"""The targeting form alerts and surveys share (groups/targeting.py): the same choices read
the same way in both, each app keeping its own fields and words."""

import json

import pytest

from alerts.forms import AudienceForm
from groups.services import area_upsert
from surveys.forms import PublishForm

pytestmark = pytest.mark.django_db

CORNERS = "51.02, 0.02\n51.02, 0.04\n51.04, 0.04\n51.04, 0.02"
# The same square as the map writes it: GeoJSON, longitude first, the ring closed.
DRAWN = {
    "type": "Polygon",
    "coordinates": [[[0.02, 51.02], [0.04, 51.02], [0.04, 51.04], [0.02, 51.04], [0.02, 51.02]]],
}


def square(x0, y0, size):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                                                [x0, y0 + size], [x0, y0]]]}  # fmt: skip


@pytest.fixture
def kent(organisation):
    force, _ = area_upsert(code="F1", name="Kent", level="force", geometry=square(0, 50.9, 0.2), recompute=False)
    district, _ = area_upsert(code="D1", name="Maidstone", level="district", geometry=square(0, 51, 0.1),
                              parent=force, recompute=False)  # fmt: skip
    ward, _ = area_upsert(code="W1", name="North Ward", level="ward", geometry=square(0, 51.05, 0.05),
                          parent=district, recompute=False)  # fmt: skip
    organisation.areas.add(force)
    return {"force": force, "district": district, "ward": ward}


def alert_audience(officer, **data):
    form = AudienceForm(data, organisation_id=officer.organisation_id)
    assert form.is_valid(), form.errors
    return form.audience_spec()


def survey_audience(officer, **data):
    form = PublishForm({"closes_at": "2030-01-01T10:00", **data}, viewer=officer)
    assert form.is_valid(), form.errors
    return form.audience()


def test_the_same_area_polygon_and_circle_are_the_same_parts_for_an_alert_and_a_survey(officer, kent):
    district = str(kent["district"].pk)
    alert = alert_audience(
        officer, areas=[district], corners=CORNERS, circle_lat="51.05", circle_lon="0.05", circle_metres="300"
    )
    survey = survey_audience(officer, areas=[district], shape=CORNERS, latitude="51.05", longitude="0.05", metres="300")

    parts = [
        {"area": kent["district"].pk},
        {"polygon": DRAWN},
        {"radius": {"lon": 0.05, "lat": 51.05, "metres": 300}},
    ]
    assert alert == {"include": parts, "exclude": [], "interest_only": False}
    assert survey == {"include": parts}


def test_a_ward_and_a_square_left_out_typed_or_drawn_leave_out_the_same(officer, kent):
    district, ward = str(kent["district"].pk), str(kent["ward"].pk)
    typed = alert_audience(officer, areas=[district], exclude_areas=[ward], corners=CORNERS, corners_exclude="on")
    drawn = alert_audience(
        officer, areas=[district], exclude_areas=[ward], shapes=json.dumps([{"polygon": DRAWN, "exclude": True}])
    )

    expected = {
        "include": [{"area": kent["district"].pk}],
        "exclude": [{"area": kent["ward"].pk}, {"polygon": DRAWN}],
        "interest_only": False,
    }
    assert typed == expected
    assert drawn == expected


def test_alerts_offer_the_whole_force_area_and_surveys_the_areas_inside_it(officer, kent):
    alert_form = AudienceForm(organisation_id=officer.organisation_id)
    alert_choices = [label for _, label in alert_form.fields["areas"].choices]
    survey_choices = [label for _, label in PublishForm(viewer=officer).fields["areas"].choices]

    assert alert_choices == [
        "Maidstone (district, 0 living there)",
        "Kent (force area, 0 living there)",
        "North Ward (ward, 0 living there)",
    ]
    assert survey_choices == ["Maidstone (district)", "North Ward (ward)"]


@pytest.mark.parametrize("form_class", [AudienceForm, PublishForm])
@pytest.mark.parametrize("bad", [str(2**64), "²", "-1"])  # "²".isdigit() is True, and int("²") raises
def test_an_area_id_no_row_could_have_is_refused_as_a_choice(officer, kent, form_class, bad):
    kwargs = {"viewer": officer} if form_class is PublishForm else {"organisation_id": officer.organisation_id}
    form = form_class({"areas": [bad], "closes_at": "2030-01-01T10:00"}, **kwargs)

    assert not form.is_valid()
    assert form.errors["areas"] == [f"Select a valid choice. {bad} is not one of the available choices."]


def test_a_circle_without_its_radius_is_told_where_each_app_shows_it(officer, kent):
    alert = AudienceForm({"circle_lat": "51.05", "circle_lon": "0.05"}, organisation_id=officer.organisation_id)
    survey = PublishForm({"latitude": "51.05", "longitude": "0.05", "closes_at": "2030-01-01T10:00"}, viewer=officer)

    assert not alert.is_valid() and not survey.is_valid()
    assert alert.errors == {"circle_metres": ["A circle needs its centre's latitude and longitude, and its radius."]}
    assert survey.errors == {"__all__": ["For a circle, give its centre's latitude and longitude and its radius."]}
