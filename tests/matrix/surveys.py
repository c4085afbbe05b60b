"""The authorization matrix's entries for surveys and quick polls (see tests/test_authorization_matrix.py).

Kent Police has a draft survey, an open survey and an open anonymous survey, each sent
to "Kent survey panel" (a group whose one member is the resident), which the resident
has answered; Essex Police has a draft. A quick poll hangs on the Kent appeal
in the resident's inbox. So: officers reach their own organisation's surveys (another
force's are 404), residents reach only what they were invited to (others 404), and
staff pages refuse residents (403).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from groups.models import CommunityGroup, Membership
from notifications.models import Delivery, Dispatch
from surveys import services
from surveys.models import Answer, Option, Poll, PollOption, PollVote, Question, Survey
from surveys.views import poll_link_token
from tests.test_authorization_matrix import (
    API_UNAUTHENTICATED,
    BAD_REQUEST,
    CREATED,
    DELETE,
    FORBIDDEN,
    GET,
    LOGIN,
    NO_CONTENT,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    PATCH,
    POST,
    PUT,
    Expect,
    _kwargs,
    redirect,
    roles,
)

CAST_KEY = "cast-edit-key-for-the-anonymous-survey"
ONLY_OFFICERS = "Only officers can do this."
ONLY_RESIDENTS = "Only residents can do this."

# Fixed ids for the rows that request bodies name (the matrix's data is written before
# the cast exists); far above anything a sequence hands out in a test database.
PANEL, DRAFT_Q1, DRAFT_Q2 = 9_100_001, 9_100_011, 9_100_012
OPEN_SINGLE_ID, OPEN_TEXT_ID, OPEN_YES, OPEN_NO = 9_100_021, 9_100_022, 9_100_031, 9_100_032
POLL_YES, POLL_NO, SPARE_DISPATCH = 9_100_041, 9_100_042, 9_100_051


def _questions(survey: Survey, single: int, text: int, yes: int | None = None, no: int | None = None) -> None:
    """The two questions of each Kent survey, with fixed ids where requests name them."""
    question = Question.objects.create(
        pk=single, survey=survey, position=1, kind="single", text="Is parking a problem?"
    )
    Option.objects.create(pk=yes, question=question, position=0, label="Yes")
    Option.objects.create(pk=no, question=question, position=1, label="No")
    Question.objects.create(pk=text, survey=survey, position=2, kind="text", text="Anything else?", required=False,
                            max_length=1000)  # fmt: skip


def build_cast(everything: dict[str, Any]) -> dict[str, Any]:
    kent, officer, resident = everything["organisation"], everything["officer"], everything["resident"]
    # Not an area: other apps' cast builders move the resident about, and with them their areas.
    panel = CommunityGroup.objects.create(
        pk=PANEL, name="Kent survey panel", slug="kent-survey-panel", kind="interest", join_policy="invitation",
        organisation=kent,
    )  # fmt: skip
    Membership.objects.create(group=panel, member=resident)
    audience = {"include": [{"group": panel.pk}]}
    closes = timezone.now() + timedelta(days=30)
    draft = services.survey_create(actor=officer, title="Kent draft survey")
    _questions(draft, DRAFT_Q1, DRAFT_Q2)
    open_survey = services.survey_create(actor=officer, title="Kent open survey", results_visibility="after_answering")
    _questions(open_survey, OPEN_SINGLE_ID, OPEN_TEXT_ID, OPEN_YES, OPEN_NO)
    anonymous = services.survey_define(
        actor=officer, title="Kent anonymous survey", is_anonymous=True,
        questions=[{"kind": "single", "text": "Is parking a problem?", "options": ["Yes", "No"]}],
    )  # fmt: skip
    for survey in (open_survey, anonymous):
        services.survey_publish(actor=officer, survey=survey, audience=audience, closes_at=closes)
        survey.refresh_from_db()
        # The fan-out waits for a commit that never comes here: the resident's copy, by hand.
        Delivery.objects.create(dispatch=survey.invitation_dispatch, member=resident, channel="inbox", status="sent")
        single = survey.questions.order_by("position").first()
        answers = {str(single.pk): single.options.get(label="Yes").pk}
        if not survey.is_anonymous:
            answers[str(OPEN_TEXT_ID)] = "Cast comment"
        response, _key = services.survey_response_submit(member=resident, survey=survey, answers=answers)
        if survey.is_anonymous:
            response.edit_key_hash = services.edit_key_hash(CAST_KEY)
            response.save(update_fields=["edit_key_hash"])
    essex = services.survey_define(
        actor=everything["officer_other_org"], title="Essex draft survey",
        questions=[{"kind": "text", "text": "Anything?"}],
    )  # fmt: skip
    poll = Poll.objects.create(organisation=kent, question="Did you see anything?", created_by=officer,
                               dispatch=everything["resident_message"].dispatch)  # fmt: skip
    PollOption.objects.create(pk=POLL_YES, poll=poll, position=0, label="Yes")
    PollOption.objects.create(pk=POLL_NO, poll=poll, position=1, label="No")
    spare = Dispatch.objects.create(
        pk=SPARE_DISPATCH, organisation=kent, source_type="alerts.alert", source_id="0", subject="Kent news",
        body_text="Without a poll yet.", audience={"include": []},
    )  # fmt: skip
    return {
        "survey_panel": panel,
        "survey_draft": draft,
        "survey_draft_question": Question.objects.get(pk=DRAFT_Q1),
        "survey_open": open_survey,
        "survey_open_single": Question.objects.get(pk=OPEN_SINGLE_ID),
        "survey_open_text": Question.objects.get(pk=OPEN_TEXT_ID),
        "survey_text_answer": Answer.objects.get(survey=open_survey, question_id=OPEN_TEXT_ID),
        "survey_anonymous": anonymous,
        "survey_essex": essex,
        "survey_poll": poll,
        "survey_spare_dispatch": spare,
    }


# --- who is who, for the requests below

DRAFT = _kwargs(pk=lambda c: c.survey_draft.pk)
OPEN = _kwargs(pk=lambda c: c.survey_open.pk)
ESSEX = _kwargs(pk=lambda c: c.survey_essex.pk)
DRAFT_QUESTION = _kwargs(pk=lambda c: c.survey_draft.pk, qid=lambda c: c.survey_draft_question.pk)
OPEN_SINGLE = _kwargs(pk=lambda c: c.survey_open.pk, qid=lambda c: c.survey_open_single.pk)
OPEN_TEXT = _kwargs(pk=lambda c: c.survey_open.pk, qid=lambda c: c.survey_open_text.pk)
TEXT_ANSWER = _kwargs(pk=lambda c: c.survey_open.pk, aid=lambda c: c.survey_text_answer.pk)
PRIVATE_LINK = _kwargs(pk=lambda c: c.survey_anonymous.pk, key=lambda c: CAST_KEY)
POLL = _kwargs(pk=lambda c: c.survey_poll.pk)
POLL_LINK = _kwargs(token=lambda c: poll_link_token(delivery_id=c.resident_message.pk, option_id=POLL_YES))

KENT_STAFF = {"officer", "force_admin"}
SURVEY_PAGE = re.compile(r"/surveys/manage/\d+/")


def staff_page(kent: Expect, *, essex: Expect = NOT_FOUND) -> dict[str, Expect]:
    """A page about one Kent survey: Kent's officers get `kent`, Essex's a 404, residents 403."""
    return roles(anonymous=LOGIN, resident=FORBIDDEN, officer=kent, officer_other_org=essex)


def staff_list(expect: Expect) -> dict[str, Expect]:
    return roles(anonymous=LOGIN, resident=FORBIDDEN, officer=expect)


def invited_page(resident: Expect) -> dict[str, Expect]:
    """A page for the invited resident only: everyone else who is signed in gets a 404."""
    return roles(anonymous=LOGIN, resident=resident, other_resident=NOT_FOUND, officer=NOT_FOUND)


def staff_api(kent: Expect, *, essex: Expect = NOT_FOUND) -> dict[str, Expect]:
    refused = FORBIDDEN.showing(ONLY_OFFICERS)
    return roles(anonymous=API_UNAUTHENTICATED, resident=refused, officer=kent, officer_other_org=essex)


def _thanks_page(path: str) -> str:
    """<the survey's thank-you page>"""
    return path + "thanks/"


def _build_page(path: str) -> str:
    """<the survey's own page>"""
    return re.sub(r"(/surveys/manage/\d+/).*", r"\1", path)


# --- what the requests did, or did not do


def _status_of(name: str, expected_for_kent: str, otherwise: str):
    def check(c, member, role: str) -> None:
        survey = Survey.objects.get(pk=getattr(c, name).pk)
        assert survey.status == (expected_for_kent if role in KENT_STAFF else otherwise), (role, survey.status)

    return check


def _draft_renamed_only_by_kent(c, member, role: str) -> None:
    assert Survey.objects.get(pk=c.survey_draft.pk).title == ("Renamed" if role in KENT_STAFF else "Kent draft survey")


def _question_added_only_by_kent(c, member, role: str) -> None:
    added = Question.objects.filter(survey=c.survey_draft, text="Added in the matrix").exists()
    assert added is (role in KENT_STAFF)


def _created_only_by_staff(c, member, role: str) -> None:
    made = Survey.objects.filter(title="Made in the matrix").first()
    if role in KENT_STAFF | {"officer_other_org"}:
        assert made is not None and made.organisation_id == member.organisation_id
    else:
        assert made is None


def _answer_changed_only_by_resident(c, member, role: str) -> None:
    chosen = Answer.objects.get(survey=c.survey_open, question=c.survey_open_single).option.label
    assert chosen == ("No" if role == "resident" else "Yes")


def _hidden_only_by_kent(c, member, role: str) -> None:
    hidden = Answer.objects.get(pk=c.survey_text_answer.pk).hidden_at is not None
    assert hidden is (role in KENT_STAFF)


def _draft_reordered_only_by_kent(c, member, role: str) -> None:
    order = list(Question.objects.filter(survey=c.survey_draft).order_by("position").values_list("pk", flat=True))
    assert order == ([DRAFT_Q2, DRAFT_Q1] if role in KENT_STAFF else [DRAFT_Q1, DRAFT_Q2])


def _draft_deleted_only_by_kent(c, member, role: str) -> None:
    assert Survey.objects.filter(pk=c.survey_draft.pk).exists() is (role not in KENT_STAFF)


def _summary_only_by_kent(c, member, role: str) -> None:
    sent = Survey.objects.get(pk=c.survey_open.pk).summary_dispatch_id is not None
    assert sent is (role in KENT_STAFF)


def _poll_voted_only_by_resident(c, member, role: str) -> None:
    voters = set(PollVote.objects.filter(poll=c.survey_poll).values_list("member__email", flat=True))
    assert voters == ({"resident@example.org"} if role == "resident" else set())


def _resident_voted(c, member, role: str) -> None:
    assert set(PollVote.objects.filter(poll=c.survey_poll).values_list("member__email", flat=True)) == {
        "resident@example.org"
    }


def _poll_attached_only_by_kent(c, member, role: str) -> None:
    attached = Poll.objects.filter(dispatch_id=SPARE_DISPATCH).exists()
    assert attached is (role in KENT_STAFF)


QUESTION = {"kind": "single", "text": "Added in the matrix", "options": "One\nTwo"}
NEW_SURVEY = {"title": "Made in the matrix", "is_anonymous": "0", "results_visibility": "hidden"}
DETAILS = {"title": "Renamed", "is_anonymous": "0", "results_visibility": "hidden"}
API_SURVEY = {"title": "Made in the matrix", "questions": [{"kind": "text", "text": "Anything?"}]}


MATRIX = {
    # --- residents' pages
    "surveys:list": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=OK.showing("Kent open survey"),
                other_resident=OK.hiding("Kent open survey"),
                officer=redirect("/surveys/manage/"),
            )
        ),
        POST(roles(anonymous=LOGIN, resident=NOT_ALLOWED)),
    ),
    "surveys:answer": (
        GET(invited_page(OK.showing("Is parking a problem?", "You can change your answers")), kwargs=OPEN),
        GET(roles(anonymous=LOGIN, resident=NOT_FOUND), label="a draft", kwargs=DRAFT),
        POST(
            invited_page(redirect(_thanks_page)),
            kwargs=OPEN,
            data={f"q{OPEN_SINGLE_ID}": str(OPEN_NO)},
            check=_answer_changed_only_by_resident,
        ),
        POST(
            invited_page(BAD_REQUEST.showing("There is a problem", "Choose an answer.")),
            label="nothing chosen",
            kwargs=OPEN,
        ),
    ),
    "surveys:thanks": (
        GET(invited_page(OK.showing("Thank you")), kwargs=OPEN),
        POST(roles(anonymous=LOGIN, resident=NOT_ALLOWED), kwargs=OPEN),
    ),
    "surveys:published_results": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=OK.showing("Results: Kent open survey", "1 person answered"),
                other_resident=NOT_FOUND,
                officer=OK,
                officer_other_org=NOT_FOUND,
            ),
            kwargs=OPEN,
        ),
    ),
    "surveys:private_link": (
        GET(invited_page(redirect(lambda path: re.sub(r"private/.*", "", path))), kwargs=PRIVATE_LINK),
        GET(
            invited_page(NOT_FOUND),
            label="a wrong key",
            kwargs=_kwargs(pk=lambda c: c.survey_anonymous.pk, key=lambda c: "not-the-key"),
        ),
    ),
    # --- officers' pages
    "surveys:manage_list": (
        GET(
            staff_list(OK.showing("Kent draft survey").hiding("Essex draft survey"))
            | {"officer_other_org": OK.showing("Essex draft survey").hiding("Kent draft survey")}
        ),
    ),
    "surveys:create": (
        GET(staff_list(OK)),
        POST(staff_list(Expect(302, to=SURVEY_PAGE)), data=NEW_SURVEY, check=_created_only_by_staff),
        POST(staff_list(BAD_REQUEST.showing("There is a problem")), label="no title", data={}),
    ),
    "surveys:build": (
        GET(staff_page(OK.showing("Kent draft survey", "Is parking a problem?")), kwargs=DRAFT),
        GET(staff_page(NOT_FOUND, essex=OK), label="Essex's draft", kwargs=ESSEX),
        POST(staff_page(redirect(_build_page)), kwargs=DRAFT, data=DETAILS, check=_draft_renamed_only_by_kent),
        POST(staff_page(Expect(409)), label="a published survey", kwargs=OPEN, data=DETAILS),
    ),
    "surveys:question_create": (
        GET(staff_page(OK.showing("What kind of question is it?")), kwargs=DRAFT),
        POST(staff_page(redirect(_build_page)), kwargs=DRAFT, data=QUESTION, check=_question_added_only_by_kent),
        POST(
            staff_page(BAD_REQUEST.showing("Give at least 2 options.")),
            label="one option",
            kwargs=DRAFT,
            data={**QUESTION, "options": "One"},
        ),
    ),
    "surveys:questions_order": (
        POST(
            staff_page(OK.showing(f'"order": [{DRAFT_Q2}, {DRAFT_Q1}]')),
            kwargs=DRAFT,
            data={"order": [str(DRAFT_Q2), str(DRAFT_Q1)]},
            check=_draft_reordered_only_by_kent,
        ),
        POST(
            staff_page(BAD_REQUEST.showing("each of the survey")),
            label="not every question",
            kwargs=DRAFT,
            data={"order": [str(DRAFT_Q1)]},
        ),
        GET(staff_page(NOT_ALLOWED, essex=NOT_ALLOWED), kwargs=DRAFT),
    ),
    "surveys:question_edit": (
        GET(staff_page(OK.showing("Change the question")), kwargs=DRAFT_QUESTION),
        POST(
            staff_page(redirect(_build_page)),
            kwargs=DRAFT_QUESTION,
            data={"text": "Is parking a problem here?", "options": "Yes\nNo"},
        ),
    ),
    "surveys:question_delete": (
        POST(staff_page(redirect(_build_page)), kwargs=DRAFT_QUESTION),
        GET(staff_page(NOT_ALLOWED, essex=NOT_ALLOWED), kwargs=DRAFT_QUESTION),
    ),
    "surveys:question_move": (
        POST(staff_page(redirect(_build_page)), kwargs=DRAFT_QUESTION, data={"direction": "down"}),
        POST(staff_page(BAD_REQUEST), label="neither up nor down", kwargs=DRAFT_QUESTION, data={"direction": "x"}),
    ),
    "surveys:preview": (
        GET(staff_page(OK.showing("Preview.", "Is parking a problem?")), kwargs=DRAFT),
        POST(staff_page(BAD_REQUEST.showing("Question 1: Choose an answer.")), kwargs=DRAFT),
    ),
    "surveys:publish": (
        GET(staff_page(OK.showing("Kent survey panel")), kwargs=DRAFT),
        POST(
            staff_page(OK.showing("This reaches <strong>1</strong> resident")),
            label="count",
            kwargs=DRAFT,
            data={"action": "count", "groups": str(PANEL), "closes_at": "2099-01-01T12:00"},
        ),
        GET(staff_page(redirect(_build_page)), label="already published", kwargs=OPEN),
    ),
    "surveys:close": (
        POST(staff_page(redirect(_build_page)), kwargs=OPEN, check=_status_of("survey_open", "closed", "published")),
        GET(staff_page(NOT_ALLOWED, essex=NOT_ALLOWED), kwargs=OPEN),
    ),
    "surveys:closing_time": (
        POST(staff_page(redirect(_build_page)), kwargs=OPEN, data={"closes_at": "2099-01-01T12:00"}),
    ),
    "surveys:delete": (
        POST(staff_page(redirect("/surveys/manage/")), kwargs=DRAFT, check=_draft_deleted_only_by_kent),
    ),
    "surveys:results": (
        GET(staff_page(OK.showing("Results: Kent open survey", "Chart of answers to question 1")), kwargs=OPEN),
    ),
    "surveys:results_csv": (
        GET(staff_page(OK.showing("Is parking a problem?", "Alex Resident", "Cast comment")), kwargs=OPEN),
    ),
    "surveys:chart_svg": (
        GET(staff_page(OK.showing("Chart of answers to question 1")), kwargs=OPEN_SINGLE),
        GET(staff_page(NOT_FOUND), label="free text has none", kwargs=OPEN_TEXT),
    ),
    "surveys:text_answers": (
        GET(staff_page(OK.showing("Cast comment", "Alex Resident")), kwargs=OPEN_TEXT),
        GET(staff_page(NOT_FOUND), label="a choice question", kwargs=OPEN_SINGLE),
    ),
    "surveys:moderate": (
        POST(
            staff_page(Expect(302, to=re.compile(r"/surveys/manage/\d+/questions/\d+/answers/"))),
            kwargs=TEXT_ANSWER,
            data={"action": "hide"},
            check=_hidden_only_by_kent,
        ),
    ),
    "surveys:summary": (
        GET(staff_page(OK.showing("You said, we did")), kwargs=OPEN),
        POST(
            staff_page(redirect(lambda path: path)),
            kwargs=OPEN,
            data={"summary_text": "You said parking is a problem: we will patrol."},
            check=_summary_only_by_kent,
        ),
        POST(staff_page(BAD_REQUEST.showing("Write what you heard")), label="empty", kwargs=OPEN, data={}),
    ),
    # --- quick polls
    "surveys:poll": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=OK.showing("Did you see anything?"),
                other_resident=NOT_FOUND,
                officer=OK,
                officer_other_org=NOT_FOUND,
            ),
            kwargs=POLL,
        ),
    ),
    "surveys:poll_vote": (
        POST(
            roles(
                anonymous=LOGIN,
                resident=redirect(lambda path: path.removesuffix("vote/")),
                other_resident=NOT_FOUND,
                officer=FORBIDDEN,
                officer_other_org=NOT_FOUND,
            ),
            kwargs=POLL,
            data={"option": str(POLL_YES)},
            check=_poll_voted_only_by_resident,
        ),
    ),
    "surveys:poll_link": (
        GET(roles(anonymous=OK.showing("Your answer: <strong>Yes</strong>"), resident=OK), kwargs=POLL_LINK),
        POST(
            roles(anonymous=OK.showing("your answer, <strong>Yes</strong>, is counted"), resident=OK),
            kwargs=POLL_LINK,
            check=_resident_voted,
        ),
        GET(
            roles(anonymous=NOT_FOUND, resident=NOT_FOUND),
            label="a forged token",
            kwargs=_kwargs(token=lambda c: "forged"),
        ),
    ),
    "surveys:poll_manage": (
        GET(staff_list(OK.showing("Did you see anything?"))
            | {"officer_other_org": OK.hiding("Did you see anything?")}),
        POST(staff_list(Expect(302, to=re.compile(r"/polls/\d+/")))
             | {"officer_other_org": BAD_REQUEST.showing("Select a valid choice")},
             data={"dispatch": str(SPARE_DISPATCH), "question": "Was this useful?", "options": "Yes\nNo"},
             check=_poll_attached_only_by_kent),
    ),
    # --- the API
    "api-surveys": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK.showing("Kent open survey").hiding("Kent draft survey"),
                other_resident=OK.hiding("Kent open survey"),
                officer=OK.showing("Kent draft survey").hiding("Essex draft survey"),
                officer_other_org=OK.showing("Essex draft survey").hiding("Kent draft survey"),
            )
        ),
        POST(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=FORBIDDEN.showing("Only officers can build surveys."),
                officer=CREATED.showing('"title":"Made in the matrix"'),
            ),
            data=API_SURVEY,
            as_json=True,
            check=_created_only_by_staff,
        ),
        POST(
            roles(anonymous=API_UNAUTHENTICATED, resident=FORBIDDEN, officer=BAD_REQUEST.showing("Give at least 2")),
            label="one option",
            as_json=True,
            data={"title": "Bad", "questions": [{"kind": "single", "text": "?", "options": ["A"]}]},
        ),
    ),
    "api-surveys-detail": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=NOT_FOUND,
                officer=OK.showing("Kent draft survey"),
                officer_other_org=NOT_FOUND,
            ),
            kwargs=DRAFT,
        ),
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK.showing("Is parking a problem?"),
                other_resident=NOT_FOUND,
                officer=OK,
                officer_other_org=NOT_FOUND,
            ),
            label="open",
            kwargs=OPEN,
        ),
        PUT(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=NOT_FOUND,
                officer=OK.showing('"title":"Renamed"'),
                officer_other_org=NOT_FOUND,
            ),
            kwargs=DRAFT,
            data={"title": "Renamed", "questions": []},
            check=_draft_renamed_only_by_kent,
        ),
        PUT(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=FORBIDDEN,
                other_resident=NOT_FOUND,
                officer=BAD_REQUEST.showing("published"),
                officer_other_org=NOT_FOUND,
            ),
            label="published",
            kwargs=OPEN,
            data={"title": "Renamed"},
        ),
        DELETE(
            roles(anonymous=API_UNAUTHENTICATED, resident=NOT_FOUND, officer=NO_CONTENT, officer_other_org=NOT_FOUND),
            kwargs=DRAFT,
            check=_draft_deleted_only_by_kent,
        ),
        PATCH(roles(anonymous=API_UNAUTHENTICATED, resident=NOT_ALLOWED), kwargs=DRAFT, data={"title": "x"}),
    ),
    "api-surveys-publish": (
        POST(
            staff_api(OK.showing('"status":"published"')),
            kwargs=DRAFT,
            as_json=True,
            data={"audience": {"include": [{"group": PANEL}]}, "closes_at": "2099-01-01T12:00:00Z"},
            check=_status_of("survey_draft", "published", "draft"),
        ),
        POST(
            staff_api(BAD_REQUEST.showing("Choose at least one area")),
            label="nobody",
            kwargs=DRAFT,
            as_json=True,
            data={"audience": {"include": []}, "closes_at": "2099-01-01T12:00:00Z"},
        ),
    ),
    "api-surveys-close": (
        POST(
            staff_api(OK.showing('"status":"closed"')),
            kwargs=OPEN,
            as_json=True,
            check=_status_of("survey_open", "closed", "published"),
        ),
    ),
    "api-surveys-response": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK.showing('"answers"'),
                other_resident=NOT_FOUND,
                officer=FORBIDDEN.showing(ONLY_RESIDENTS),
            ),
            kwargs=OPEN,
        ),
        PUT(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK,
                other_resident=NOT_FOUND,
                officer=FORBIDDEN.showing(ONLY_RESIDENTS),
            ),
            kwargs=OPEN,
            data={"answers": {str(OPEN_SINGLE_ID): OPEN_NO}},
            check=_answer_changed_only_by_resident,
        ),
        PUT(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=BAD_REQUEST.showing("Choose an answer."),
                other_resident=NOT_FOUND,
                officer=FORBIDDEN,
            ),
            label="nothing chosen",
            kwargs=OPEN,
            data={"answers": {}},
        ),
    ),
    "api-surveys-results": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK.showing('"responses":1'),
                other_resident=NOT_FOUND,
                officer=OK.showing('"responses":1'),
                officer_other_org=NOT_FOUND,
            ),
            kwargs=OPEN,
        ),
    ),
    "api-surveys-polls": (
        POST(
            staff_api(CREATED.showing('"question":"Was this useful?"')),
            as_json=True,
            data={"question": "Was this useful?", "options": ["Yes", "No"], "dispatch": SPARE_DISPATCH},
            check=_poll_attached_only_by_kent,
        ),
    ),
    "api-surveys-poll": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK.showing('"question":"Did you see anything?"'),
                other_resident=NOT_FOUND,
                officer=OK,
                officer_other_org=NOT_FOUND,
            ),
            kwargs=POLL,
        ),
    ),
    "api-surveys-poll-vote": (
        POST(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK.showing('"total":1'),
                other_resident=NOT_FOUND,
                officer=FORBIDDEN.showing(ONLY_RESIDENTS),
            ),
            kwargs=POLL,
            as_json=True,
            data={"option": POLL_YES},
            check=_poll_voted_only_by_resident,
        ),
    ),
}
