"""What someone trying the demo finds after `seed_demo`: alerts in the demo resident's inbox,
a conversation in the officer's reply inbox, survey results, cameras near the demo
resident's home, a public feed; and a second run that adds nothing."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertUpdate
from cameras.models import Camera, CameraSearch, FootageAsk, FootageRequest
from core.models import AuditEvent
from members.models import Member
from notifications.models import Delivery, Dispatch
from replies.models import Message, Rating, Thread
from surveys.models import Answer, Participation, Poll, PollVote, Response, Survey

pytestmark = pytest.mark.django_db

RESIDENT = "resident@example.org"
NEIGHBOUR = "neighbour@example.org"
OFFICER = "officer@kent-police.example"
ADMIN = "admin@kent-police.example"


def seed(members=60) -> str:
    out = StringIO()
    call_command("seed_demo", "--members", str(members), stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    return seed()


def member(email):
    return Member.objects.get(email=email)


def test_the_demo_resident_finds_the_forces_alerts_in_their_inbox(seeded, client_for):
    client = client_for(member(RESIDENT))

    page = client.get(reverse("notifications:inbox")).content.decode()

    assert "Burglaries in Maidstone Central" in page
    assert "Appeal: a van seen at night" in page
    assert "Meet your new neighbourhood team" in page
    assert "Bike marking and crime prevention stall" in page
    assert "Update: Burglaries in Maidstone Central" in page
    # What has not gone out is nowhere to be seen.
    assert "Courier fraud" not in page
    assert "Speed checks near the primary school" not in page
    assert "Demo alerts: 4 sent to Maidstone Central" in seeded

    alerts = Alert.objects.filter(organisation__slug="kent-police")
    assert set(alerts.values_list("status", flat=True)) == {"published", "scheduled", "draft"}
    assert set(alerts.filter(status="published").values_list("kind", flat=True)) == set(Alert.Kind.values)
    event = alerts.get(kind=Alert.Kind.EVENT)
    assert event.event_starts_at > timezone.now() and event.event_place
    assert alerts.get(status="scheduled").scheduled_for > timezone.now()
    news = alerts.get(kind=Alert.Kind.NEWS)
    assert PollVote.objects.filter(poll__dispatch_id=news.dispatch_id).exists()  # the poll has answers
    # Small audiences: the demo resident's ward, not the county.
    assert Delivery.objects.filter(channel="inbox").values("member").distinct().count() < 40


def test_the_officer_has_the_residents_reply_in_the_reply_inbox_and_one_still_waiting(seeded, client_for):
    officer = member(OFFICER)

    page = client_for(officer).get(reverse("replies:inbox") + "?view=all").content.decode()

    assert "Alex Resident" in page and "Sam Neighbour" in page
    assert "I think I saw that van the night before" in page  # the preview of the latest reply
    answered = Thread.objects.get(resident__email=RESIDENT)
    assert (answered.assignee, answered.messages.count()) == (officer, 2)
    waiting = Thread.objects.get(resident__email=NEIGHBOUR)
    assert (waiting.assignee, waiting.unread, waiting.status) == (None, True, Thread.Status.OPEN)
    # The resident reads the answer in their conversation, and was told about it in their inbox.
    resident = client_for(member(RESIDENT))
    thread = resident.get(reverse("replies:mine_thread", kwargs={"pk": answered.pk})).content.decode()
    assert "that is really helpful" in thread
    inbox = resident.get(reverse("notifications:inbox")).content.decode()
    assert "answered your message" in inbox


def test_the_survey_has_results_and_the_demo_resident_can_still_answer_it(seeded, client_for):
    survey = Survey.objects.get(title__startswith="Your priorities for policing", status=Survey.Status.PUBLISHED)

    response = client_for(member(OFFICER)).get(reverse("surveys:results", kwargs={"pk": survey.pk}))

    results = response.context["results"]
    assert results.responses >= results.min_cell  # enough answers for the figures to show
    first = results.questions[0]
    assert sum(bar.count for bar in first.bars) == first.answered == results.responses
    answer_page = client_for(member(RESIDENT)).get(reverse("surveys:answer", kwargs={"pk": survey.pk}))
    assert answer_page.status_code == 200
    assert "How safe do you feel walking in your area after dark?" in answer_page.content.decode()
    closed = Survey.objects.get(status=Survey.Status.CLOSED)
    assert Response.objects.filter(survey=closed, member__email=RESIDENT).exists()


def test_an_officer_searching_near_the_demo_residents_home_finds_cameras(seeded, client_for):
    home = member(RESIDENT)
    data = {
        "incident_reference": "46/999/26",
        "incident_at": (timezone.localtime() - timezone.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "latitude": str(home.latitude),
        "longitude": str(home.longitude),
        "radius_m": "500",
    }

    response = client_for(member(OFFICER)).post(reverse("cameras:search"), data)

    search = CameraSearch.objects.get(incident_reference="46/999/26")
    assert response["Location"] == reverse("cameras:search_detail", kwargs={"pk": search.pk})
    assert search.result_count >= 3
    assert Camera.objects.filter(owner=home, kind=Camera.Kind.DOORBELL).exists()
    assert Camera.objects.filter(willing=False).exists()
    coverage = client_for(member(ADMIN)).get(reverse("cameras:coverage"))
    rows = {row.area.name: row.registered for row in coverage.context["page"]}
    assert rows["Maidstone Central"] == Camera.objects.count()
    # The footage request: the neighbour found nothing, the demo resident has yet to answer.
    asks = dict(FootageAsk.objects.values_list("owner__email", "status"))
    assert asks == {NEIGHBOUR: FootageAsk.Status.NOTHING, RESIDENT: FootageAsk.Status.AWAITING}
    page = client_for(home).get(reverse("cameras:asks")).content.decode()
    assert "Kent Police (demo)" in page and "Not answered yet" in page


def test_the_public_feed_has_the_public_alerts_only(seeded, client):
    feed = client.get(reverse("feeds:alerts")).content.decode()

    assert "Burglaries in Maidstone Central" in feed
    assert "Appeal: a van seen at night" in feed
    assert "Meet your new neighbourhood team" not in feed  # not public
    assert "Courier fraud" not in feed  # public, but not out yet


def test_the_emails_go_out_through_the_pipeline_and_stay_few(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed()

    to_resident = " | ".join(m.subject for m in mail.outbox if m.to == [RESIDENT])
    assert "Burglaries in Maidstone Central: please check your doors and windows (demo)" in to_resident
    assert "Kent Police (demo) answered your message" in to_resident
    assert len(mail.outbox) < 100
    assert not Dispatch.objects.filter(status=Dispatch.Status.PENDING, send_at__isnull=True).exists()


COUNTED = (
    Alert,
    AlertUpdate,
    Dispatch,
    Delivery,
    Poll,
    PollVote,
    Thread,
    Message,
    Rating,
    Survey,
    Participation,
    Response,
    Answer,
    Camera,
    CameraSearch,
    FootageRequest,
    FootageAsk,
    AuditEvent,
)


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_running_it_again_adds_nothing(seeded):
    before = counts()
    assert all(before.values()), before

    again = seed()

    assert counts() == before
    for step in ("alerts", "replies", "surveys", "cameras"):
        assert f"Demo {step}: already there." in again
