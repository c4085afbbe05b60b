"""A small town for the survey tests: a district of two wards, residents living in them,
and a survey with one question of every kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from groups.models import Area
from groups.services import area_upsert, member_location_set
from members.models import Member
from surveys import services
from surveys.models import Question, Survey
from tests.factories import MemberFactory


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@dataclass
class Town:
    district: Area
    north: Area
    south: Area


@pytest.fixture
def town(db, organisation) -> Town:
    """Maidstone (the district Kent Police covers), with North Ward above latitude 51.0 and South Ward below."""
    district, _ = area_upsert(code="E07TEST01", name="Maidstone", level="district", geometry=square(0, 50.9, 0.2, 51.1))
    north, _ = area_upsert(
        code="E05TEST01", name="North Ward", level="ward", geometry=square(0, 51.0, 0.2, 51.1), parent=district
    )
    south, _ = area_upsert(
        code="E05TEST02", name="South Ward", level="ward", geometry=square(0, 50.9, 0.2, 51.0), parent=district
    )
    organisation.areas.add(district)
    return Town(district=district, north=north, south=south)


@pytest.fixture
def place(organisation):
    """`place(lon, lat, **fields)`: a resident opted in to Kent Police, living there."""

    def make(lon: float, lat: float, **fields) -> Member:
        member = MemberFactory(opt_in=[organisation], **fields)
        member_location_set(member=member, longitude=lon, latitude=lat)
        return member

    return make


@pytest.fixture
def northerner(town, place):
    return place(0.05, 51.05, email="north@example.org", first_name="Nora")


@pytest.fixture
def southerner(town, place):
    return place(0.05, 50.95, email="south@example.org", first_name="Sid")


EVERY_KIND = [
    {"kind": "single", "text": "Do you feel safe in the town centre?", "options": ["Yes", "No", "Not sure"]},
    {
        "kind": "multiple",
        "text": "Which of these worry you?",
        "options": ["Burglary", "Speeding", "Drugs", "Litter"],
        "max_choices": 2,
    },
    {
        "kind": "rating",
        "text": "How safe is your street?",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": ["Very unsafe", "Unsafe", "Neither", "Safe", "Very safe"],
    },
    {
        "kind": "matrix",
        "text": "How safe do you feel here?",
        "options": ["Town centre by day", "Town centre after dark", "The park"],
        "scale_min": 1,
        "scale_max": 4,
        "scale_labels": ["Very unsafe", "Unsafe", "Safe", "Very safe"],
    },
    {"kind": "text", "text": "Anything else?", "max_length": 200, "required": False},
    {
        "kind": "ranking",
        "text": "Rank your top 2 local concerns",
        "options": ["Parking", "Noise", "Shoplifting", "Graffiti"],
        "rank_count": 2,
    },
]


@pytest.fixture
def make_survey(officer):
    """`make_survey(questions=EVERY_KIND, anonymous=False)`: a draft of Kent Police."""

    def make(questions=EVERY_KIND, *, anonymous: bool = False, title: str = "Feeling safe in Maidstone", **fields):
        return services.survey_define(actor=officer, title=title, is_anonymous=anonymous, questions=questions, **fields)

    return make


@pytest.fixture
def publish(officer, django_capture_on_commit_callbacks):
    """`publish(survey, audience)`: published, its invitation fanned out (on commit, as in production)."""

    def run(survey: Survey, audience: dict, **times) -> Survey:
        times.setdefault("closes_at", timezone.now() + timedelta(days=7))
        with django_capture_on_commit_callbacks(execute=True):
            services.survey_publish(actor=officer, survey=survey, audience=audience, **times)
        survey.refresh_from_db()
        return survey

    return run


def questions_of(survey: Survey) -> dict[str, Question]:
    """The survey's questions by kind (the first of each kind), options prefetched."""
    found: dict[str, Question] = {}
    for q in survey.questions.prefetch_related("options").order_by("position"):
        found.setdefault(q.kind, q)
    return found


def option(question: Question, label: str) -> int:
    return next(o.pk for o in question.options.all() if o.label == label)


def good_answers(survey: Survey, **overrides) -> dict[str, object]:
    """A full, valid set of answers to the EVERY_KIND survey (as the API takes them)."""
    q = questions_of(survey)
    answers = {
        str(q["single"].pk): option(q["single"], "No"),
        str(q["multiple"].pk): [option(q["multiple"], "Burglary"), option(q["multiple"], "Drugs")],
        str(q["rating"].pk): 2,
        str(q["matrix"].pk): {str(o.pk): v for o, v in zip(q["matrix"].options.all(), [4, 1, 2], strict=True)},
        str(q["text"].pk): "More patrols on Friday nights, please.",
        str(q["ranking"].pk): [option(q["ranking"], "Noise"), option(q["ranking"], "Parking")],
    }
    for kind, value in overrides.items():
        answers[str(q[kind].pk)] = value
    return answers


def form_data(survey: Survey, **overrides) -> dict[str, object]:
    """The same answers as the answer page's form posts them."""
    q = questions_of(survey)
    data: dict[str, object] = {
        f"q{q['single'].pk}": str(option(q["single"], "No")),
        f"q{q['multiple'].pk}": [str(option(q["multiple"], "Burglary")), str(option(q["multiple"], "Drugs"))],
        f"q{q['rating'].pk}": "2",
        f"q{q['text'].pk}": "More patrols on Friday nights, please.",
    }
    for o, v in zip(q["matrix"].options.all(), ["4", "1", "2"], strict=True):
        data[f"q{q['matrix'].pk}_{o.pk}"] = v
    for o in q["ranking"].options.all():
        data[f"q{q['ranking'].pk}_{o.pk}"] = {"Noise": "1", "Parking": "2"}.get(o.label, "")
    data.update(overrides)
    return data
