"""The authorization matrix's entries for the alerts API and the public feeds (see
tests/test_authorization_matrix.py).

Kent Police has, for these: a public alert out to Kent Rural Watch and the test ward,
with an update; a private one out to the same; a withdrawn public one; a draft with a
picture; a scheduled one. Essex Police has a public alert out to Essex Business Watch.

The API is for officers (residents 403 "Only officers can do this.", visitors 403
"Authentication credentials were not provided."), each of their own organisation's
alerts only: Essex's officer finds none of Kent's (404). A coordinator messages their
own group only. Every member reads their own inbox only.

The feeds are public: anyone, signed in or not, reads the same, and never a draft, a
non-public or a withdrawn alert (a withdrawn one is only a CAP Cancel).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from alerts.models import Alert, AlertImage, AlertUpdate, GroupMessage
from alerts.services import alert_create, alert_publish, alert_schedule, alert_update_send, alert_withdraw
from members.models import Member
from notifications.models import Delivery
from tests.alerts.conftest import png_bytes
from tests.test_authorization_matrix import (
    ALL_404,
    BAD_REQUEST,
    CREATED,
    DELETE,
    FORBIDDEN,
    GET,
    NO_CONTENT,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    PATCH,
    POST,
    PUT,
    Cast,
    Expect,
    _kwargs,
    api,
    everyone,
)

KENT_STAFF = {"officer", "force_admin"}
OFFICERS = {"officer", "force_admin", "officer_other_org"}

PUBLIC_TITLE = "API public burglary alert"
PRIVATE_TITLE = "API private alert"
WITHDRAWN_TITLE = "API withdrawn alert"
DRAFT_TITLE = "API draft alert"
SCHEDULED_TITLE = "API scheduled alert"
ESSEX_TITLE = "API Essex alert"
NEW_TITLE = "API matrix new alert"
UPDATE_BODY = "API update: two men arrested"


def build_cast(everything: dict[str, Any]) -> dict[str, Any]:
    kent_officer, essex_officer = everything["officer"], everything["officer_other_org"]
    # The group has members (the cast's coordinator and resident) to reach; the ward puts
    # the alerts in the test ward's feeds.
    to_watch_and_ward = {"include": [{"group": everything["kent_watch"].pk}, {"area": everything["ward"].pk}]}

    def write(title: str, *, actor: Member = kent_officer, audience: dict = to_watch_and_ward, **fields) -> Alert:
        values = {"kind": "alert", "category": "burglary", "priority": 2, "body_markdown": "Lock your doors."}
        return alert_create(actor=actor, title=title, audience=audience, **(values | fields))

    public = write(PUBLIC_TITLE, is_public=True)
    private = write(PRIVATE_TITLE)
    withdrawn = write(WITHDRAWN_TITLE, is_public=True)
    essex = write(ESSEX_TITLE, actor=essex_officer, is_public=True,
                  audience={"include": [{"group": everything["essex_watch"].pk}]})  # fmt: skip
    for alert, actor in ((public, kent_officer), (private, kent_officer), (withdrawn, kent_officer),
                         (essex, essex_officer)):  # fmt: skip
        alert_publish(actor=actor, alert=alert)
    update = alert_update_send(actor=kent_officer, alert=public, kind="update", body=UPDATE_BODY)
    alert_withdraw(actor=kent_officer, alert=withdrawn, reason="Sent in error")
    draft = write(DRAFT_TITLE, is_public=True)
    # A picture row without a file: removing it deletes the file only once a transaction
    # commits, which the matrix never does.
    picture = AlertImage.objects.create(alert=draft, file="alerts/matrix/none.png", content_type="image/png",
                                        size=100, alt_text="A blue van")  # fmt: skip
    scheduled = write(SCHEDULED_TITLE)
    alert_schedule(actor=kent_officer, alert=scheduled, send_at=timezone.now() + timedelta(days=30))
    return {
        "api_public_alert": public,
        "api_public_update": update,
        "api_private_alert": private,
        "api_withdrawn_alert": withdrawn,
        "api_essex_alert": essex,
        "api_draft_alert": draft,
        "api_draft_picture": picture,
        "api_scheduled_alert": scheduled,
    }


def _alert(name: str):
    return _kwargs(pk=lambda c: getattr(c, name).pk)


PUBLIC = _alert("api_public_alert")
PRIVATE = _alert("api_private_alert")
WITHDRAWN = _alert("api_withdrawn_alert")
ESSEX = _alert("api_essex_alert")
DRAFT = _alert("api_draft_alert")
SCHEDULED = _alert("api_scheduled_alert")
NO_SUCH_ALERT = _kwargs(pk=lambda c: 999_999)
PUBLIC_UPDATE = _kwargs(pk=lambda c: c.api_public_alert.pk, update_pk=lambda c: c.api_public_update.pk)
DRAFT_PICTURE = _kwargs(pk=lambda c: c.api_draft_alert.pk, image_pk=lambda c: c.api_draft_picture.pk)
KENT_WATCH = _kwargs(slug=lambda c: c.kent_watch.slug)
ESSEX_WATCH = _kwargs(slug=lambda c: c.essex_watch.slug)
WARD = _kwargs(code=lambda c: c.ward.code)
KENT_HOTSPOT = _kwargs(code=lambda c: c.kent_area.code)  # a custom area: no public feed
RESIDENT_MESSAGE = _kwargs(pk=lambda c: c.resident_message.pk)

ONLY_OFFICERS = FORBIDDEN.showing("Only officers can do this.")
CREATED_HERE = Expect(201, to=re.compile(r"/api/v1/alerts/\d+/"))
NEXT_WEEK = (timezone.now() + timedelta(days=7)).isoformat()
NEW_ALERT = {"kind": "alert", "category": "burglary", "priority": 3, "title": NEW_TITLE, "body_markdown": "Be careful."}


def kent_only(kent: Expect, *, resident: Expect = ONLY_OFFICERS) -> dict[str, Expect]:
    """An action on one of Kent's alerts: Kent's staff get `kent`, Essex's officer finds nothing."""
    return api(resident=resident, officer=kent, officer_other_org=NOT_FOUND)


def _status_is(name: str, *, after_kent: str):
    """The alert's status afterwards: `after_kent` if Kent's staff asked, unchanged otherwise."""

    def check(c: Cast, member: Member | None, role: str) -> None:
        before = getattr(c, name)
        status = Alert.objects.get(pk=before.pk).status
        assert status == (after_kent if role in KENT_STAFF else before.status), (role, status)

    return check


def _created_only_by_officers(c: Cast, member: Member | None, role: str) -> None:
    created = list(Alert.objects.filter(title=NEW_TITLE).values_list("organisation_id", "author_id", "status"))
    if role in OFFICERS:
        assert created == [(member.organisation_id, member.pk, "draft")]
    else:
        assert created == []


def _draft_changed_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    title = Alert.objects.get(pk=c.api_draft_alert.pk).title
    assert title == ("API draft, retitled" if role in KENT_STAFF else DRAFT_TITLE)


def _draft_deleted_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    assert Alert.objects.filter(pk=c.api_draft_alert.pk).exists() is (role not in KENT_STAFF)


def _updated_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    sent = AlertUpdate.objects.filter(alert=c.api_public_alert, body="API matrix update").count()
    assert sent == (1 if role in KENT_STAFF else 0)


def _picture_added_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    count = AlertImage.objects.filter(alert=c.api_draft_alert).count()
    assert count == (2 if role in KENT_STAFF else 1)


def _picture_removed_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    assert AlertImage.objects.filter(pk=c.api_draft_picture.pk).exists() is (role not in KENT_STAFF)


def _group_messaged_only_by_coordinator(c: Cast, member: Member | None, role: str) -> None:
    senders = set(GroupMessage.objects.filter(subject="API matrix meeting").values_list("author__email", flat=True))
    assert senders == ({c.coordinator.email} if role == "coordinator" else set())


def _read_only_by_resident(c: Cast, member: Member | None, role: str) -> None:
    read = Delivery.objects.get(pk=c.resident_message.pk).read_at is not None
    assert read is (role == "resident")


class _Picture:
    """A picture the test client can send once per role: it reads a file to its end."""

    name = "van.png"

    def read(self) -> bytes:
        return png_bytes()


# The feeds: the same for everyone, signed in or not.
CAP_PUBLIC = everyone(OK.showing("<msgType>Alert</msgType>", "<scope>Public</scope>", PUBLIC_TITLE))

MATRIX = {
    # --- officers
    "api-alerts-list": (
        GET(
            api(
                resident=ONLY_OFFICERS,
                officer=OK.showing(PUBLIC_TITLE, DRAFT_TITLE).hiding(ESSEX_TITLE),
                officer_other_org=OK.showing(ESSEX_TITLE).hiding(PUBLIC_TITLE),
            )
        ),
        GET(
            api(
                resident=ONLY_OFFICERS,
                officer=OK.showing(DRAFT_TITLE).hiding(PUBLIC_TITLE),
                officer_other_org=OK.hiding(DRAFT_TITLE),
            ),
            label="drafts",
            data={"status": "draft"},
        ),
        GET(api(resident=ONLY_OFFICERS, officer=BAD_REQUEST), label="unknown status", data={"status": "lost"}),
        POST(
            api(resident=ONLY_OFFICERS, officer=CREATED_HERE),
            data=NEW_ALERT,
            as_json=True,
            check=_created_only_by_officers,
        ),
        POST(
            api(resident=ONLY_OFFICERS, officer=BAD_REQUEST.showing("Give the alert a title.")),
            label="no title",
            data=NEW_ALERT | {"title": " "},
            as_json=True,
        ),
        POST(api(resident=ONLY_OFFICERS, officer=Expect(415)), label="form-encoded", data=NEW_ALERT),
        PUT(api(resident=ONLY_OFFICERS, officer=NOT_ALLOWED), data=NEW_ALERT),
    ),
    "api-alerts-audience-preview": (
        # A circle in the test ward, which Kent Police covers and Essex Police does not.
        POST(
            api(
                resident=ONLY_OFFICERS,
                officer=OK.showing('"members":0', '"recent"'),
                officer_other_org=BAD_REQUEST.showing("reaches outside your organisation"),
            ),
            data={"audience": {"include": [{"radius": {"lon": 0.51, "lat": 51.27, "metres": 100}}]}},
            as_json=True,
        ),
        POST(
            api(resident=ONLY_OFFICERS, officer=BAD_REQUEST.showing("Choose at least one")),
            label="nothing",
            data={"audience": {"include": []}},
            as_json=True,
        ),
        GET(api(resident=ONLY_OFFICERS, officer=NOT_ALLOWED)),
    ),
    "api-alerts-detail": (
        GET(kent_only(OK.showing(PUBLIC_TITLE, UPDATE_BODY)), kwargs=PUBLIC),
        GET(
            api(resident=ONLY_OFFICERS, officer=NOT_FOUND, officer_other_org=OK.showing(ESSEX_TITLE)),
            label="Essex's",
            kwargs=ESSEX,
        ),
        GET(api(resident=ONLY_OFFICERS, officer=NOT_FOUND), label="no such alert", kwargs=NO_SUCH_ALERT),
        PATCH(
            kent_only(OK.showing("API draft, retitled")),
            kwargs=DRAFT,
            data={"title": "API draft, retitled"},
            check=_draft_changed_only_by_kent,
        ),
        PATCH(
            kent_only(BAD_REQUEST.showing("Only a draft can be changed")),
            label="published",
            kwargs=PUBLIC,
            data={"title": "Changed"},
        ),
        DELETE(kent_only(NO_CONTENT), kwargs=DRAFT, check=_draft_deleted_only_by_kent),
        DELETE(kent_only(BAD_REQUEST), label="published", kwargs=PUBLIC),
    ),
    "api-alerts-publish": (
        POST(
            kent_only(OK.showing('"status":"published"')),
            kwargs=DRAFT,
            as_json=True,
            check=_status_is("api_draft_alert", after_kent="published"),
        ),
        POST(kent_only(BAD_REQUEST.showing("not a draft")), label="published already", kwargs=PUBLIC, as_json=True),
        GET(api(resident=ONLY_OFFICERS, officer=NOT_ALLOWED), kwargs=DRAFT),
    ),
    "api-alerts-schedule": (
        POST(
            kent_only(OK.showing('"status":"scheduled"')),
            kwargs=DRAFT,
            data={"send_at": NEXT_WEEK},
            as_json=True,
            check=_status_is("api_draft_alert", after_kent="scheduled"),
        ),
        POST(
            kent_only(BAD_REQUEST.showing("send_at")),
            label="no time",
            kwargs=DRAFT,
            as_json=True,
            check=_status_is("api_draft_alert", after_kent="draft"),
        ),
    ),
    "api-alerts-unschedule": (
        POST(
            kent_only(OK.showing('"status":"draft"')),
            kwargs=SCHEDULED,
            as_json=True,
            check=_status_is("api_scheduled_alert", after_kent="draft"),
        ),
        POST(kent_only(BAD_REQUEST.showing("not scheduled")), label="a draft", kwargs=DRAFT, as_json=True),
    ),
    "api-alerts-updates": (
        POST(
            kent_only(CREATED.showing("API matrix update")),
            kwargs=PUBLIC,
            as_json=True,
            data={"kind": "update", "body": "API matrix update"},
            check=_updated_only_by_kent,
        ),
        POST(
            kent_only(BAD_REQUEST),
            label="a draft",
            kwargs=DRAFT,
            as_json=True,
            data={"kind": "update", "body": "API matrix update"},
        ),
    ),
    "api-alerts-withdraw": (
        POST(
            kent_only(OK.showing('"status":"withdrawn"')),
            kwargs=PUBLIC,
            as_json=True,
            data={"reason": "Sent in error"},
            check=_status_is("api_public_alert", after_kent="withdrawn"),
        ),
        POST(
            kent_only(BAD_REQUEST.showing("reason")),
            label="notify without a reason",
            kwargs=PUBLIC,
            as_json=True,
            data={"notify": True},
            check=_status_is("api_public_alert", after_kent="published"),
        ),
    ),
    "api-alerts-reach": (
        GET(kent_only(OK.showing('"channels"')), kwargs=PUBLIC),
        GET(api(resident=ONLY_OFFICERS, officer=NOT_FOUND, officer_other_org=OK), label="Essex's", kwargs=ESSEX),
    ),
    "api-alerts-images": (
        POST(
            kent_only(CREATED.showing('"alt_text":"A white van"')),
            kwargs=DRAFT,
            data={"file": _Picture(), "alt_text": "A white van"},
            check=_picture_added_only_by_kent,
        ),
        POST(
            kent_only(BAD_REQUEST.showing("Pictures can be added only to a draft.")),
            label="published",
            kwargs=PUBLIC,
            data={"file": _Picture(), "alt_text": "A white van"},
        ),
        POST(kent_only(Expect(415)), label="as JSON", kwargs=DRAFT, data={"alt_text": "A white van"}, as_json=True),
    ),
    "api-alerts-image": (
        DELETE(kent_only(NO_CONTENT), kwargs=DRAFT_PICTURE, check=_picture_removed_only_by_kent),
        GET(api(resident=ONLY_OFFICERS, officer=NOT_ALLOWED, officer_other_org=NOT_ALLOWED), kwargs=DRAFT_PICTURE),
    ),
    # --- coordinators: their own group only
    "api-alerts-group-messages": (
        POST(
            api(
                resident=FORBIDDEN.showing("Only this group's coordinators can message it."),
                coordinator=CREATED,
                officer=FORBIDDEN,
                officer_other_org=NOT_FOUND,
            ),
            kwargs=KENT_WATCH,
            as_json=True,
            data={"subject": "API matrix meeting", "body": "Tuesday at 7."},
            check=_group_messaged_only_by_coordinator,
        ),
        GET(api(resident=FORBIDDEN, coordinator=OK, officer=FORBIDDEN, officer_other_org=NOT_FOUND), kwargs=KENT_WATCH),
        GET(
            api(resident=FORBIDDEN, coordinator=FORBIDDEN, officer=NOT_FOUND, officer_other_org=FORBIDDEN),
            label="another organisation's group",
            kwargs=ESSEX_WATCH,
        ),
    ),
    # --- every member: their own inbox
    "api-alerts-inbox": (
        GET(
            api(
                resident=OK.showing("Kent appeal", '"unread":'),
                other_resident=OK.hiding("Kent appeal"),
                officer=OK.showing('"count":0'),
                coordinator=OK.hiding("Kent appeal"),
            )
        ),
        POST(api(resident=NOT_ALLOWED), as_json=True),
    ),
    "api-alerts-inbox-message": (
        GET(
            api(resident=OK.showing("Kent appeal"), other_resident=NOT_FOUND, officer=NOT_FOUND),
            kwargs=RESIDENT_MESSAGE,
            check=_read_only_by_resident,
        ),
    ),
    # --- the public feeds
    "feeds:alerts": (
        GET(
            everyone(
                OK.showing(PUBLIC_TITLE, ESSEX_TITLE, UPDATE_BODY).hiding(
                    PRIVATE_TITLE, WITHDRAWN_TITLE, DRAFT_TITLE, SCHEDULED_TITLE
                )
            )
        ),
        POST(everyone(NOT_ALLOWED)),
    ),
    "feeds:area-alerts": (
        GET(
            everyone(OK.showing(PUBLIC_TITLE).hiding(ESSEX_TITLE, PRIVATE_TITLE, WITHDRAWN_TITLE, DRAFT_TITLE)),
            kwargs=WARD,
        ),
        GET(ALL_404, label="a custom area", kwargs=KENT_HOTSPOT),
    ),
    "feeds:cap-index": (
        GET(
            everyone(
                OK.showing(PUBLIC_TITLE, ESSEX_TITLE, "application/cap+xml", "withdrawn.xml").hiding(
                    PRIVATE_TITLE, WITHDRAWN_TITLE, DRAFT_TITLE, SCHEDULED_TITLE
                )
            )
        ),
    ),
    "feeds:area-cap-index": (
        GET(
            everyone(OK.showing(PUBLIC_TITLE, "withdrawn.xml").hiding(ESSEX_TITLE, PRIVATE_TITLE, WITHDRAWN_TITLE)),
            kwargs=WARD,
        ),
        GET(ALL_404, label="a custom area", kwargs=KENT_HOTSPOT),
    ),
    "feeds:cap-alert": (
        GET(CAP_PUBLIC, kwargs=PUBLIC),
        GET(ALL_404, label="not public", kwargs=PRIVATE),
        GET(ALL_404, label="a draft", kwargs=DRAFT),
        GET(ALL_404, label="scheduled", kwargs=SCHEDULED),
        GET(ALL_404, label="withdrawn", kwargs=WITHDRAWN),
        POST(everyone(NOT_ALLOWED), kwargs=PUBLIC),
    ),
    "feeds:cap-update": (GET(everyone(OK.showing("<msgType>Update</msgType>", UPDATE_BODY)), kwargs=PUBLIC_UPDATE),),
    "feeds:cap-withdrawn": (
        GET(
            everyone(OK.showing("<msgType>Cancel</msgType>").hiding(WITHDRAWN_TITLE, "Sent in error")), kwargs=WITHDRAWN
        ),
        GET(ALL_404, label="not withdrawn", kwargs=PUBLIC),
    ),
}
