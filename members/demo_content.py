"""The demo's first week at Kent Police (demo): alerts, replies, a survey and cameras.

`seed_demo` calls `demo_content_seed` once the county, the accounts and the residents
exist. Everything is made through the apps' own services, as an officer and residents
using the site would make it: alerts are published through the dispatch pipeline (so
they land in inboxes, with reach figures, and are emailed), residents reply and an
officer answers, residents answer surveys and register cameras. All of it happens in
the demo resident's ward (resident@example.org), where a handful of people live: the
dev mail folder gets tens of emails, not thousands.

Each step runs once: it looks for its marker (a fixed title or incident reference,
which nobody can delete once published) and does nothing if it is there, so
`bin/start` can run it every time. Each step is one transaction: a step that fails
leaves nothing behind and is tried again next time.

Why the fan-out is called here: the demo answers its own messages straight away (a
resident replies to an alert, answers the survey she was invited to), and both need
the deliveries. The queued fan-out task runs only when the transaction commits, or
later on a worker; so each dispatch is fanned out at once with the task's own service,
and the task then finds nothing left to do. The emails still go through the batches
queued when the step commits.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertUpdate
from alerts.services import alert_create, alert_publish, alert_schedule, alert_update_send
from cameras.models import Camera, CameraSearch, FootageAsk
from cameras.services import camera_register, camera_search_create, footage_ask_answer, footage_request_create
from groups.models import Area, CommunityGroup
from members.models import Interest, Member, Organisation
from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_fan_out
from replies.models import Thread
from replies.services import rating_set, reply_create, thread_answer
from surveys.models import Poll, Question, Survey
from surveys.services import poll_vote, survey_close, survey_define, survey_publish, survey_response_submit

SEED = 1964  # the answers and votes the synthetic residents give: the same every time
DEMO_NOTE = "\n\n_This is a demo message: the incident, the people and the places are made up._"
MAX_RESPONDENTS = 8  # residents answering each survey: enough to show numbers, few enough to stay quick
MAX_VOTERS = 12  # and tapping an answer to the quick poll

# The markers: each step's first, undeletable piece (a published alert or survey, a search).
BURGLARY_TITLE = "Burglaries in {ward}: please check your doors and windows (demo)"
APPEAL_TITLE = "Appeal: a van seen at night near {street} (demo)"
OPEN_SURVEY_TITLE = "Your priorities for policing in {ward} (demo)"
CLOSED_SURVEY_TITLE = "When should your neighbourhood team hold its street surgery? (demo)"
SEARCH_REFERENCE = "DEMO-46/0001/26"


@dataclass
class Cast:
    """Who and where the demo's first week happens: the demo accounts and their ward."""

    police: Organisation
    officer: Member
    resident: Member  # resident@example.org, who logs in to try the resident's side
    neighbour: Member
    ward: Area
    district: Area
    street: str  # the demo resident's scheme's street
    rural_watch: CommunityGroup
    neighbours: list[Member]  # synthetic residents of the ward, always in the same order

    def title(self, template: str) -> str:
        return template.format(ward=self.ward.name, street=self.street)


def demo_content_seed(*, say: Callable[[str], None]) -> None:
    """Alerts, replies, surveys and cameras for the demo, each step once; `say` gets a line per step."""
    cast = _cast()
    if cast is None:
        say("Demo alerts, replies, surveys and cameras: skipped (the demo resident has no ward).")
        return
    for step in (_alerts, _replies, _surveys, _cameras):
        with _tasks_quiet(), transaction.atomic():
            say(step(cast))


@contextmanager
def _tasks_quiet() -> Iterator[None]:
    """Without a broker the tasks run in this process (bin/start), and Celery logs a line for
    each one: dozens of them between the progress lines and the demo logins. Not here."""
    trace = logging.getLogger("celery.app.trace")
    level = trace.level
    trace.setLevel(logging.WARNING)
    try:
        yield
    finally:
        trace.setLevel(level)


def _cast() -> Cast | None:
    # Who the demo accounts are is the command's to say (imported here: the command imports this module).
    from members.management.commands.seed_demo import DEMO_INTEREST_GROUP, RESIDENTS, STAFF, SYNTHETIC_DOMAIN

    resident = Member.objects.get(email=RESIDENTS[0][0])
    ward = Area.objects.filter(level=Area.Level.WARD, memberships__member=resident).first()
    if ward is None:
        return None
    scheme = CommunityGroup.objects.filter(
        kind=CommunityGroup.Kind.SCHEME, memberships__member=resident, area__isnull=False
    ).first()
    officer = Member.objects.select_related("organisation").get(email=STAFF[0][0])
    neighbours = Member.objects.filter(
        email__endswith=f"@{SYNTHETIC_DOMAIN}", area_memberships__area=ward, is_active=True
    ).order_by("email")
    return Cast(
        police=officer.organisation,
        officer=officer,
        resident=resident,
        neighbour=Member.objects.get(email=RESIDENTS[1][0]),
        ward=ward,
        district=ward.parent,
        street=scheme.name.removesuffix(" Neighbourhood Watch") if scheme else "Demo Street",
        rural_watch=CommunityGroup.objects.get(slug=DEMO_INTEREST_GROUP),
        neighbours=list(neighbours),
    )


def _sent(dispatch: Dispatch) -> Dispatch:
    """Fan a dispatch out now (see the module's docstring for why)."""
    dispatch_fan_out(dispatch_id=dispatch.pk)
    return dispatch


def _published(alert: Alert, *, actor: Member) -> Alert:
    """Publish an alert, fan it out now, and return it as it is now (with its dispatch)."""
    _sent(alert_publish(actor=actor, alert=alert))
    alert.refresh_from_db()
    return alert


def _received(member: Member, dispatch: Dispatch | None) -> bool:
    return dispatch is not None and Delivery.objects.filter(dispatch=dispatch, member=member).exists()


def _recipients(members: list[Member], dispatch: Dispatch, limit: int) -> list[Member]:
    """The first `limit` of `members` (in their order) who were sent `dispatch`."""
    got = set(Delivery.objects.filter(dispatch=dispatch, member__in=members).values_list("member_id", flat=True))
    return [m for m in members if m.pk in got][:limit]


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    """A local time `days` from today (negative: in the past)."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def _incident() -> datetime:
    """When the appeal's theft happened, two nights ago: the footage request asks about it too."""
    return _at(days=-2, hour=1, minute=30)


# --- alerts


def _alerts(cast: Cast) -> str:
    """What the force sent in its first week: an alert, an appeal, news with a quick poll,
    an event; one scheduled for next week and one draft."""
    if Alert.objects.filter(organisation=cast.police, title=cast.title(BURGLARY_TITLE)).exists():
        return "Demo alerts: already there."
    ward = {"include": [{"area": cast.ward.pk}]}
    officer = cast.officer
    burglary = alert_create(
        actor=officer,
        kind=Alert.Kind.ALERT,
        category=Interest.BURGLARY,
        priority=2,
        title=cast.title(BURGLARY_TITLE),
        body_markdown=(
            f"There have been three burglaries in {cast.ward.name} this week, all in the early evening, "
            "through unlocked back doors and ground-floor windows left open.\n\n"
            "- Lock doors and windows, even when you are at home or in the garden.\n"
            "- Leave a light on when you go out after dark.\n"
            "- Report anyone acting suspiciously: call 101, or 999 if a crime is happening now." + DEMO_NOTE
        ),
        audience=ward,
        is_public=True,
        links=[{"title": "Crime prevention advice", "url": "https://www.police.uk/cp/crime-prevention/"}],
    )
    burglary = _published(burglary, actor=officer)
    _sent(
        alert_update_send(
            actor=officer,
            alert=burglary,
            kind=AlertUpdate.Kind.UPDATE,
            body="A man has been arrested and is helping us with our enquiries. Thank you to everyone who "
            "called us. Please keep locking up.",
        ).dispatch
    )
    appeal = alert_create(
        actor=officer,
        kind=Alert.Kind.APPEAL,
        category=Interest.VEHICLE_CRIME,
        priority=3,
        title=cast.title(APPEAL_TITLE),
        body_markdown=(
            f"Catalytic converters were stolen from two cars parked in {cast.street} between 1am and 3am on "
            f"{_incident():%A}. A white van was seen driving slowly along the street at about that time.\n\n"
            "Did you see it, or do you have a doorbell or dashcam that may have recorded it? "
            "Reply to this message or call 101 quoting 46/0001/26." + DEMO_NOTE
        ),
        audience=ward,
        is_public=True,
    )
    appeal = _published(appeal, actor=officer)
    news = alert_create(
        actor=officer,
        kind=Alert.Kind.NEWS,
        category=Interest.POLICE_NEWS,
        priority=4,
        title=f"Meet your new neighbourhood team for {cast.ward.name} (demo)",
        body_markdown=(
            f"PC Jo Officer and PCSO Kim Patel now look after {cast.ward.name}. You will see them on foot "
            "around the town centre and the estates, and they will hold a street surgery every month." + DEMO_NOTE
        ),
        audience=ward,
        poll_question="What would you most like the team to focus on this month?",
        poll_options=["Speeding", "Anti-social behaviour", "Burglary", "Drug dealing"],
    )
    news = _published(news, actor=officer)
    event = alert_create(
        actor=officer,
        kind=Alert.Kind.EVENT,
        category=Interest.COMMUNITY_EVENTS,
        priority=5,
        title="Bike marking and crime prevention stall (demo)",
        body_markdown=(
            "Bring your bike and we will mark and register it for free, so that it can be returned to you "
            "if it is stolen. Our crime prevention officer will be there to answer questions." + DEMO_NOTE
        ),
        audience={"include": [{"area": cast.ward.pk}, {"group": cast.rural_watch.pk}]},
        event_starts_at=_at(days=9, hour=10),
        event_ends_at=_at(days=9, hour=13),
        event_place=f"Outside the library, {cast.district.name} town centre",
    )
    _published(event, actor=officer)
    scheduled = alert_create(
        actor=officer,
        kind=Alert.Kind.ALERT,
        category=Interest.FRAUD_SCAMS,
        priority=4,
        title="Courier fraud: the police will never ask for your bank card (demo)",
        body_markdown=(
            "Fraudsters are phoning older residents pretending to be police officers or bank staff and "
            "sending a 'courier' to collect cards and cash. Hang up, wait five minutes and call 101 from "
            "another phone." + DEMO_NOTE
        ),
        audience=ward,
        is_public=True,
    )
    alert_schedule(actor=officer, alert=scheduled, send_at=_at(days=7, hour=9))
    alert_create(
        actor=officer,
        kind=Alert.Kind.ALERT,
        category=Interest.ROAD_SAFETY,
        priority=4,
        title="Speed checks near the primary school (demo draft)",
        body_markdown="Community Speedwatch volunteers and officers will be checking speeds… (to finish)" + DEMO_NOTE,
        audience=ward,
    )
    votes = _poll_votes(cast, news)
    if _received(cast.resident, burglary.dispatch):
        rating_set(resident=cast.resident, dispatch=burglary.dispatch, score=5)
    return (
        f"Demo alerts: 4 sent to {cast.ward.name} (one with an update, one with a poll: {votes} votes), "
        "1 scheduled for next week, 1 draft."
    )


def _poll_votes(cast: Cast, alert: Alert) -> int:
    """Some neighbours tap an answer to the news' quick poll (the demo resident leaves it to you)."""
    poll = Poll.objects.get(dispatch_id=alert.dispatch_id)
    options = list(poll.options.order_by("position").values_list("pk", flat=True))
    rng = random.Random(SEED)
    voters = _recipients([cast.neighbour, *cast.neighbours], alert.dispatch, MAX_VOTERS)
    for member in voters:
        poll_vote(member=member, poll=poll, option_id=rng.choice(options[:3]))
    return len(voters)


# --- replies


def _replies(cast: Cast) -> str:
    """The demo resident answered the appeal and an officer answered back; the neighbour's
    reply to the burglary alert waits for someone to pick it up."""
    appeal = Alert.objects.filter(organisation=cast.police, title=cast.title(APPEAL_TITLE)).first()
    burglary = Alert.objects.filter(organisation=cast.police, title=cast.title(BURGLARY_TITLE)).first()
    if appeal is None or burglary is None:
        return "Demo replies: skipped (no demo alerts)."
    if Thread.objects.filter(dispatch_id__in=[appeal.dispatch_id, burglary.dispatch_id]).exists():
        return "Demo replies: already there."
    threads = 0
    if _received(cast.resident, appeal.dispatch):
        reply = reply_create(
            resident=cast.resident,
            dispatch=appeal.dispatch,
            body="I think I saw that van the night before too, parked by the garages at the end of the street. "
            "My doorbell camera faces the road: shall I check it?",
        )
        answer = thread_answer(
            officer=cast.officer,
            thread=reply.thread,
            body="Thank you, that is really helpful. Yes please: we have sent you a footage request through "
            "the app, which says exactly which times we are looking for.",
        )
        _sent(Dispatch.objects.get(source_type="replies.message", source_id=str(answer.pk)))
        threads += 1
    if _received(cast.neighbour, burglary.dispatch):
        reply_create(
            resident=cast.neighbour,
            dispatch=burglary.dispatch,
            body="Is there a date for the next street surgery? Several of us on the street would like to ask "
            "about better lighting by the garages.",
        )
        threads += 1
    return f"Demo replies: {threads} conversations (one answered by {cast.officer.email}, one waiting)."


# --- surveys

PRIORITIES = [
    {
        "kind": Question.Kind.SINGLE,
        "text": "How safe do you feel walking in your area after dark?",
        "options": ["Very safe", "Fairly safe", "A bit unsafe", "Very unsafe"],
    },
    {
        "kind": Question.Kind.MULTIPLE,
        "text": "Which of these concern you most where you live?",
        "help_text": "Choose up to three.",
        "options": ["Burglary", "Speeding", "Anti-social behaviour", "Drug dealing", "Scams", "Car crime"],
        "max_choices": 3,
    },
    {
        "kind": Question.Kind.RATING,
        "text": "How well does your neighbourhood team deal with the things that matter to you?",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": ["Very badly", "Badly", "Neither", "Well", "Very well"],
    },
    {
        "kind": Question.Kind.TEXT,
        "text": "Is there anything else you would like your neighbourhood team to know?",
        "required": False,
    },
]
SURGERY = [
    {
        "kind": Question.Kind.SINGLE,
        "text": "When could you come to a street surgery?",
        "options": ["Weekday mornings", "Weekday evenings", "Saturday mornings"],
    },
    {
        "kind": Question.Kind.RATING,
        "text": "How likely are you to come?",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": ["Not at all likely", "Unlikely", "Maybe", "Likely", "Certain"],
    },
]
COMMENTS = [
    "More patrols in the evenings, please.",
    "Cars race along the main road at night.",
    "Thank you for the updates, they are really useful.",
    "",
]


def _surveys(cast: Cast) -> str:
    """An open survey of the ward (answered by some neighbours: the demo resident is still
    invited to answer), and a closed one with its results to see."""
    if Survey.objects.filter(organisation=cast.police, title=cast.title(OPEN_SURVEY_TITLE)).exists():
        return "Demo surveys: already there."
    rng = random.Random(SEED)
    ward = {"include": [{"area": cast.ward.pk}]}
    closed = survey_define(
        actor=cast.officer,
        title=CLOSED_SURVEY_TITLE,
        introduction="A two-question survey: it takes a minute. (A demo survey: nothing here is real.)",
        results_visibility=Survey.ResultsVisibility.AFTER_CLOSING,
        questions=SURGERY,
    )
    dispatch = _sent(survey_publish(actor=cast.officer, survey=closed, audience=ward, closes_at=_at(days=7, hour=23)))
    closed.refresh_from_db()
    closed_answers = _responses(closed, dispatch, [cast.resident, cast.neighbour, *cast.neighbours], rng)
    survey_close(actor=cast.officer, survey=closed)

    survey = survey_define(
        actor=cast.officer,
        title=cast.title(OPEN_SURVEY_TITLE),
        introduction=(
            "Tell us what worries you where you live, so that your neighbourhood team can plan its patrols. "
            "Your answers are anonymous. (A demo survey: nothing here is real.)"
        ),
        is_anonymous=True,
        results_visibility=Survey.ResultsVisibility.AFTER_ANSWERING,
        questions=PRIORITIES,
    )
    dispatch = _sent(survey_publish(actor=cast.officer, survey=survey, audience=ward, closes_at=_at(days=21, hour=23)))
    survey.refresh_from_db()
    open_answers = _responses(survey, dispatch, [cast.neighbour, *cast.neighbours], rng)
    return (
        f"Demo surveys: one open in {cast.ward.name} ({open_answers} answers so far), "
        f"one closed ({closed_answers} answers)."
    )


def _responses(survey: Survey, invitation: Dispatch, members: list[Member], rng: random.Random) -> int:
    """Invited residents answer, each differently but the same every time; returns how many did."""
    questions = list(survey.questions.prefetch_related("options").order_by("position", "pk"))
    invited = _recipients(members, invitation, MAX_RESPONDENTS)
    for member in invited:
        answers = {}
        for question in questions:
            options = [o.pk for o in question.options.all()]
            if question.kind == Question.Kind.SINGLE:
                answers[str(question.pk)] = rng.choice(options[:3])
            elif question.kind == Question.Kind.MULTIPLE:
                answers[str(question.pk)] = rng.sample(options[:4], rng.randint(1, 3))
            elif question.kind == Question.Kind.RATING:
                answers[str(question.pk)] = rng.randint(question.scale_min + 1, question.scale_max)
            elif question.kind == Question.Kind.TEXT:
                answers[str(question.pk)] = rng.choice(COMMENTS)
        survey_response_submit(member=member, survey=survey, answers=answers)
    return len(invited)


# --- cameras

# (kind, label, covers, facing, retention in days, willing), for the demo resident first,
# then their neighbour, then synthetic neighbours in turn.
CAMERAS = [
    (Camera.Kind.DOORBELL, "Front door", "the front path and the street", Camera.Facing.NORTH, 30, True),
    (Camera.Kind.CCTV, "Garage", "the garages and the back lane", Camera.Facing.EAST, 14, True),
    (Camera.Kind.DASHCAM, "", "", "", 7, True),
    (Camera.Kind.DOORBELL, "", "the pavement and the road", Camera.Facing.SOUTH, 30, True),
    (Camera.Kind.CCTV, "", "the shop front and the car park", Camera.Facing.WEST, 31, True),
    (Camera.Kind.DOORBELL, "", "the front garden", Camera.Facing.SOUTH_WEST, 7, False),
    (Camera.Kind.DASHCAM, "", "", "", 3, True),
]


def _cameras(cast: Cast) -> str:
    """Residents' cameras around the demo resident's home, an officer's search there, and a
    footage request: the neighbour found nothing, the demo resident has still to answer."""
    if CameraSearch.objects.filter(organisation=cast.police, incident_reference=SEARCH_REFERENCE).exists():
        return "Demo cameras: already there."
    owners = [m for m in [cast.resident, cast.neighbour, *cast.neighbours] if m.latitude is not None]
    registered = []
    for owner, (kind, label, covers, facing, retention, willing) in zip(owners, CAMERAS, strict=False):
        data = {"kind": kind, "label": label, "placement": Camera.Placement.HOME, "covers": covers}
        data |= {"facing": facing, "retention_days": retention, "willing": willing}
        registered.append(camera_register(member=owner, data=data))
    home = cast.resident
    if home.latitude is None:
        return f"Demo cameras: {len(registered)} registered (no search: the demo resident has no home on the map)."
    search, hits = camera_search_create(
        officer=cast.officer,
        incident_reference=SEARCH_REFERENCE,
        incident_at=_incident(),
        latitude=home.latitude,
        longitude=home.longitude,
        radius_m=1000,
    )
    asked = [c.pk for c in registered[:2] if c.willing and c.pk in {h.id for h in hits}]
    if asked:
        request = footage_request_create(
            officer=cast.officer,
            search=search,
            camera_ids=asked,
            window_start=_incident() - timedelta(hours=1),
            window_end=_incident() + timedelta(hours=1, minutes=30),
            location=f"{cast.street}, by the garages",
            message="Two catalytic converters were stolen from cars parked in the street. We are looking for "
            "a white van and anyone on foot near the parked cars. (A demo request: nothing here is real.)",
        )
        for dispatch in Dispatch.objects.filter(source_type="cameras.footagerequest", source_id=str(request.pk)):
            _sent(dispatch)
        ask = FootageAsk.objects.filter(request=request, owner=cast.neighbour).first()
        if ask is not None:
            footage_ask_answer(
                member=cast.neighbour,
                ask=ask,
                answer=FootageAsk.Status.NOTHING,
                note="I checked: the camera shows nothing that night but foxes.",
            )
    return (
        f"Demo cameras: {len(registered)} registered around {cast.street}; "
        f"a search there found {len(hits)}, {len(asked)} asked for footage."
    )
