"""The authorization matrix's entries for replies (see tests/test_authorization_matrix.py).

The cast's resident answered the Kent appeal in their inbox (`resident_message`): a
thread Kent Police's officers work. An Essex-only resident answered an Essex message:
a thread only Essex's officer sees. A reply is private to its resident and the
officers of the organisation they wrote to: another resident, and another
organisation's officers, find nothing there (404).

The cast's messages have the source type "test", which residents may not answer by
default (REPLY_SOURCE_TYPES is alerts only): cases that reply or rate make "test"
answerable for the request, and one case each shows the default refusing it.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone

from members.models import Member
from notifications.models import Delivery, Dispatch
from replies.models import Message, Rating, ReplySettings, Thread
from tests.test_authorization_matrix import (
    BAD_REQUEST,
    CREATED,
    FORBIDDEN,
    FORCE_ADMINS_ONLY,
    GET,
    LOGIN,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    POST,
    PUT,
    Cast,
    _kwargs,
    api,
    logged_in,
    redirect,
    roles,
)

KENT_REPLY = "Reply from Alex about the appeal"
ESSEX_REPLY = "Reply from Robin in Essex"
REPLYABLE = {"REPLY_SOURCE_TYPES": ["alerts.alert", "test"]}
KENT_STAFF = {"officer", "force_admin"}

KENT_THREAD = _kwargs(pk=lambda c: c.kent_thread.pk)
ESSEX_THREAD = _kwargs(pk=lambda c: c.essex_thread.pk)
KENT_DISPATCH = _kwargs(dispatch_pk=lambda c: c.resident_message.dispatch_id)
KENT_DISPATCH_API = _kwargs(dispatch_id=lambda c: c.resident_message.dispatch_id)
BACK_TO_MESSAGE = redirect(re.compile(r"/inbox/\d+/"))
TO_THREAD = redirect(re.compile(r"/replies/\d+/"))


def build_cast(everything: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    kent_message = everything["resident_message"]
    kent_thread = Thread.objects.create(
        organisation=everything["organisation"],
        dispatch=kent_message.dispatch,
        resident=everything["resident"],
        last_message_at=now,
        last_resident_message_at=now,
        awaiting_since=now,
        unread=True,
        resident_messages=1,
    )
    Message.objects.create(thread=kent_thread, author=everything["resident"], from_resident=True, body=KENT_REPLY)
    essex = everything["other_organisation"]
    essex_dispatch = Dispatch.objects.create(
        organisation=essex,
        source_type="test",
        source_id="2",
        subject="Essex appeal",
        body_text="Seen anything?",
        audience={"include": []},
    )
    essex_delivery = Delivery.objects.create(
        dispatch=essex_dispatch, member=everything["essex_resident"], channel="inbox", status="sent"
    )
    essex_thread = Thread.objects.create(
        organisation=essex,
        dispatch=essex_dispatch,
        resident=everything["essex_resident"],
        last_message_at=now,
        last_resident_message_at=now,
        awaiting_since=now,
        unread=True,
        resident_messages=1,
    )
    Message.objects.create(
        thread=essex_thread, author=everything["essex_resident"], from_resident=True, body=ESSEX_REPLY
    )
    return {
        "kent_thread": kent_thread,
        "essex_dispatch": essex_dispatch,
        "essex_delivery": essex_delivery,
        "essex_thread": essex_thread,
    }


# --- what a request did, or did not do


def _replied_only_as_resident(text: str):
    def check(c: Cast, member: Member | None, role: str) -> None:
        authors = set(Message.objects.filter(body=text).values_list("author__email", flat=True))
        assert authors == ({c.resident.email} if role == "resident" else set()), authors

    return check


def _nothing_replied(text: str):
    def check(c: Cast, member: Member | None, role: str) -> None:
        assert not Message.objects.filter(body=text).exists()

    return check


def _rated_only_by_resident(c: Cast, member: Member | None, role: str) -> None:
    raters = set(Rating.objects.values_list("resident__email", "score"))
    assert raters == ({(c.resident.email, 4)} if role == "resident" else set()), raters


def _nobody_rated(c: Cast, member: Member | None, role: str) -> None:
    assert not Rating.objects.exists()


def _answered_only_by_kent(text: str):
    def check(c: Cast, member: Member | None, role: str) -> None:
        answers = Message.objects.filter(thread=c.kent_thread, from_resident=False, body=text)
        assert answers.exists() is (role in KENT_STAFF)
        assert not Message.objects.filter(thread=c.essex_thread, from_resident=False).exists()

    return check


def _assigned_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    thread = Thread.objects.get(pk=c.kent_thread.pk)
    assert thread.assignee_id == (member.pk if role in KENT_STAFF else None)


def _status_of_kent_thread(closed_by_kent: bool):
    def check(c: Cast, member: Member | None, role: str) -> None:
        status = Thread.objects.get(pk=c.kent_thread.pk).status
        expected = ("closed" if closed_by_kent else "open") if role in KENT_STAFF else c.kent_thread.status
        assert status == expected, (role, status)

    return check


def _closed_first(c: Cast) -> dict[str, Any]:
    """URL arguments of the Kent thread, closed beforehand (for reopening)."""
    Thread.objects.filter(pk=c.kent_thread.pk).update(status="closed", closed_at=timezone.now())
    c.kent_thread.refresh_from_db()
    return {"pk": c.kent_thread.pk}


def _settings_saved_only_by_force_admin(c: Cast, member: Member | None, role: str) -> None:
    saved = ReplySettings.objects.filter(organisation=c.organisation).first()
    if role == "force_admin":
        assert saved is not None and saved.duty_email == "duty@kent.police.example"
        assert saved.trigger_words == ["gun", "knife"]
    else:
        assert saved is None


def staff_pages(kent: Any, *, essex: Any = NOT_FOUND, resident: Any = FORBIDDEN) -> dict:
    """A page of a Kent thread: Kent's staff get `kent`, Essex's officer `essex`, residents are refused."""
    return roles(anonymous=LOGIN, resident=resident, officer=kent, officer_other_org=essex)


def staff_api(kent: Any, *, essex: Any = NOT_FOUND) -> dict:
    return api(resident=FORBIDDEN.showing("Only officers work the reply inbox."), officer=kent, officer_other_org=essex)


RESIDENTS_ONLY = "Only residents reply to and rate messages"

MATRIX = {
    # A resident's conversations; officers go to their reply inbox.
    "replies:mine": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=OK.showing("Kent appeal"),
                other_resident=OK.hiding("Kent appeal"),
                officer=redirect("/replies/"),
            )
        ),
        POST(logged_in(NOT_ALLOWED)),
    ),
    "replies:mine_thread": (
        GET(
            roles(anonymous=LOGIN, resident=OK.showing(KENT_REPLY), other_resident=NOT_FOUND, officer=NOT_FOUND),
            kwargs=KENT_THREAD,
        ),
        GET(logged_in(NOT_FOUND), label="another organisation's thread", kwargs=ESSEX_THREAD),
    ),
    # Replying and rating: only a resident who was sent the message (others: 404), never officers.
    "replies:reply": (
        POST(
            roles(anonymous=LOGIN, resident=BACK_TO_MESSAGE, other_resident=NOT_FOUND, officer=FORBIDDEN),
            kwargs=KENT_DISPATCH,
            data={"reply-body": "Matrix reply"},
            settings=REPLYABLE,
            check=_replied_only_as_resident("Matrix reply"),
        ),
        POST(
            roles(
                anonymous=LOGIN,
                resident=BAD_REQUEST.showing("Write your message."),
                other_resident=NOT_FOUND,
                officer=FORBIDDEN,
            ),
            label="empty",
            kwargs=KENT_DISPATCH,
            data={"reply-body": "  "},
            settings=REPLYABLE,
        ),
        POST(
            roles(anonymous=LOGIN, resident=NOT_FOUND, officer=FORBIDDEN),
            label="not an answerable message",
            kwargs=KENT_DISPATCH,
            data={"reply-body": "Matrix reply"},
            check=_nothing_replied("Matrix reply"),
        ),
        GET(logged_in(NOT_ALLOWED), kwargs=KENT_DISPATCH),
    ),
    "replies:rate": (
        POST(
            roles(anonymous=LOGIN, resident=BACK_TO_MESSAGE, other_resident=NOT_FOUND, officer=FORBIDDEN),
            kwargs=KENT_DISPATCH,
            data={"rating-score": "4"},
            settings=REPLYABLE,
            check=_rated_only_by_resident,
        ),
        POST(
            roles(
                anonymous=LOGIN,
                resident=BAD_REQUEST.showing("Choose how useful it was"),
                other_resident=NOT_FOUND,
                officer=FORBIDDEN,
            ),
            label="no score",
            kwargs=KENT_DISPATCH,
            data={},
            settings=REPLYABLE,
            check=_nobody_rated,
        ),
        POST(
            roles(anonymous=LOGIN, resident=NOT_FOUND, officer=FORBIDDEN),
            label="not an answerable message",
            kwargs=KENT_DISPATCH,
            data={"rating-score": "4"},
            check=_nobody_rated,
        ),
        GET(logged_in(NOT_ALLOWED), kwargs=KENT_DISPATCH),
    ),
    # The officers' reply inbox: each organisation's own threads only.
    "replies:inbox": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=redirect("/replies/mine/"),
                officer=OK.showing(KENT_REPLY).hiding(ESSEX_REPLY),
                officer_other_org=OK.showing(ESSEX_REPLY).hiding(KENT_REPLY),
            )
        ),
        GET(
            roles(anonymous=LOGIN, resident=redirect("/replies/mine/"), officer=BAD_REQUEST),
            label="unknown alert",
            data={"alert": "999999"},
        ),
        GET(
            roles(
                anonymous=LOGIN,
                resident=redirect("/replies/mine/"),
                officer=OK.hiding(KENT_REPLY),
                officer_other_org=OK.hiding(ESSEX_REPLY),
            ),
            label="closed",
            data={"view": "closed"},
        ),
        POST(roles(anonymous=LOGIN, resident=NOT_ALLOWED, officer=NOT_ALLOWED)),
    ),
    "replies:settings": (
        GET(FORCE_ADMINS_ONLY),
        POST(
            roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN, force_admin=redirect("/replies/settings/")),
            data={"trigger_words": "Knife\n\ngun\nknife", "duty_email": "Duty@kent.police.example"},
            check=_settings_saved_only_by_force_admin,
        ),
        POST(
            roles(
                anonymous=LOGIN,
                resident=FORBIDDEN,
                officer=FORBIDDEN,
                force_admin=BAD_REQUEST.showing("Enter a valid email address."),
            ),
            label="bad address",
            data={"trigger_words": "", "duty_email": "not-an-address"},
        ),
    ),
    "replies:thread": (
        GET(staff_pages(OK.showing(KENT_REPLY)), kwargs=KENT_THREAD),
        GET(staff_pages(NOT_FOUND, essex=OK.showing(ESSEX_REPLY)), label="Essex thread", kwargs=ESSEX_THREAD),
        POST(staff_pages(NOT_ALLOWED, essex=NOT_ALLOWED), kwargs=KENT_THREAD),
    ),
    "replies:answer": (
        POST(
            staff_pages(TO_THREAD),
            kwargs=KENT_THREAD,
            data={"answer-body": "Matrix answer"},
            check=_answered_only_by_kent("Matrix answer"),
        ),
        POST(
            staff_pages(BAD_REQUEST.showing("Write your answer.")),
            label="empty",
            kwargs=KENT_THREAD,
            data={"answer-body": ""},
        ),
    ),
    "replies:assign": (
        POST(
            staff_pages(TO_THREAD), label="to me", kwargs=KENT_THREAD, data={"to": "me"}, check=_assigned_only_by_kent
        ),
        POST(
            staff_pages(BAD_REQUEST.showing("Select a valid choice")),
            label="someone unknown",
            kwargs=KENT_THREAD,
            data={"assign-assignee": "999999"},
        ),
    ),
    "replies:close": (
        POST(staff_pages(TO_THREAD), kwargs=KENT_THREAD, check=_status_of_kent_thread(closed_by_kent=True)),
        GET(staff_pages(NOT_ALLOWED, essex=NOT_ALLOWED), kwargs=KENT_THREAD),
    ),
    "replies:reopen": (
        POST(staff_pages(TO_THREAD), kwargs=_closed_first, check=_status_of_kent_thread(closed_by_kent=False)),
    ),
    # The API: the same rules; anonymous requests are refused.
    "api-replies-mine": (
        GET(
            api(
                resident=OK.showing("Kent appeal"),
                other_resident=OK.hiding("Kent appeal"),
                officer=FORBIDDEN.showing(RESIDENTS_ONLY),
            )
        ),
    ),
    "api-replies-mine-detail": (
        GET(api(resident=OK.showing(KENT_REPLY), other_resident=NOT_FOUND, officer=FORBIDDEN), kwargs=KENT_THREAD),
        GET(api(resident=NOT_FOUND, officer=FORBIDDEN), label="Essex thread", kwargs=ESSEX_THREAD),
    ),
    "api-replies-reply": (
        POST(
            api(resident=CREATED.showing("Matrix API reply"), other_resident=NOT_FOUND, officer=FORBIDDEN),
            kwargs=KENT_DISPATCH_API,
            data={"body": "Matrix API reply"},
            as_json=True,
            settings=REPLYABLE,
            check=_replied_only_as_resident("Matrix API reply"),
        ),
        POST(
            api(resident=BAD_REQUEST.showing("Write your message."), other_resident=NOT_FOUND, officer=FORBIDDEN),
            label="only markup",
            kwargs=KENT_DISPATCH_API,
            data={"body": "<script>x</script>"},
            as_json=True,
            settings=REPLYABLE,
        ),
        POST(
            api(resident=NOT_FOUND, officer=FORBIDDEN),
            label="not an answerable message",
            kwargs=KENT_DISPATCH_API,
            data={"body": "Matrix API reply"},
            as_json=True,
            check=_nothing_replied("Matrix API reply"),
        ),
    ),
    "api-replies-rate": (
        PUT(
            api(resident=OK.showing('"score":4'), other_resident=NOT_FOUND, officer=FORBIDDEN),
            kwargs=KENT_DISPATCH_API,
            data={"score": 4},
            settings=REPLYABLE,
            check=_rated_only_by_resident,
        ),
        PUT(
            api(resident=BAD_REQUEST, other_resident=NOT_FOUND, officer=FORBIDDEN),
            label="score 6",
            kwargs=KENT_DISPATCH_API,
            data={"score": 6},
            settings=REPLYABLE,
            check=_nobody_rated,
        ),
        GET(api(resident=NOT_ALLOWED, officer=FORBIDDEN), kwargs=KENT_DISPATCH_API, settings=REPLYABLE),
    ),
    "api-replies-threads": (
        GET(staff_api(OK.showing(KENT_REPLY).hiding(ESSEX_REPLY), essex=OK.showing(ESSEX_REPLY).hiding(KENT_REPLY))),
        GET(
            staff_api(BAD_REQUEST.showing("view"), essex=BAD_REQUEST), label="unknown view", data={"view": "everything"}
        ),
    ),
    "api-replies-thread": (
        GET(staff_api(OK.showing(KENT_REPLY)), kwargs=KENT_THREAD),
        GET(staff_api(NOT_FOUND, essex=OK.showing(ESSEX_REPLY)), label="Essex thread", kwargs=ESSEX_THREAD),
    ),
    "api-replies-answer": (
        POST(
            staff_api(CREATED.showing("Matrix API answer")),
            kwargs=KENT_THREAD,
            data={"body": "Matrix API answer"},
            as_json=True,
            check=_answered_only_by_kent("Matrix API answer"),
        ),
    ),
    "api-replies-assign": (
        POST(staff_api(OK), label="nobody", kwargs=KENT_THREAD, data={"assignee": None}, as_json=True),
        POST(
            staff_api(BAD_REQUEST.showing("Choose an officer of your organisation.")),
            label="someone unknown",
            kwargs=KENT_THREAD,
            data={"assignee": 999999},
            as_json=True,
        ),
    ),
    "api-replies-close": (
        POST(
            staff_api(OK.showing('"status":"closed"')),
            kwargs=KENT_THREAD,
            as_json=True,
            check=_status_of_kent_thread(closed_by_kent=True),
        ),
    ),
    "api-replies-reopen": (
        POST(
            staff_api(OK.showing('"status":"open"')),
            kwargs=_closed_first,
            as_json=True,
            check=_status_of_kent_thread(closed_by_kent=False),
        ),
    ),
}
