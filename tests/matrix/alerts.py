"""The authorization matrix's entries for the alert pages (see tests/test_authorization_matrix.py).

Kent Police has four alerts: a public one and a private one, both published (the
private one to the resident alone, who has it in their inbox, with a picture), a draft
(to the same resident, with a picture) and a scheduled one. Officers of Kent manage
all four; Essex's officer finds none of them (404). Residents read the public alert,
and the private one only if it was sent to them; visitors are asked to sign in for
anything not public. A coordinator messages their own group (Kent Rural Watch) and
nobody else.
"""

from __future__ import annotations

import re
import tempfile
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert, AlertImage, GroupMessage
from alerts.services import alert_create, alert_image_add, alert_publish, alert_schedule
from members.models import Member
from notifications.services import dispatch_fan_out
from tests.test_authorization_matrix import (
    BAD_REQUEST,
    FORBIDDEN,
    GET,
    LOGIN,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    POST,
    Cast,
    _kwargs,
    everyone,
    officer_pages,
    redirect,
    roles,
)

# The cast's pictures live here for the whole run (the module's cast is built once,
# before any test's own MEDIA_ROOT exists); the cases that read them point MEDIA_ROOT here.
MEDIA = {"MEDIA_ROOT": tempfile.mkdtemp(prefix="mcv-matrix-alerts-")}
KENT_STAFF = {"officer", "force_admin"}

PUBLIC_TITLE = "Matrix public appeal"
PRIVATE_TITLE = "Matrix private alert"
DRAFT_TITLE = "Matrix draft"


def build_cast(everything: dict[str, Any]) -> dict[str, Any]:
    officer, resident = everything["officer"], everything["resident"]
    to_resident = {"include": [{"members": [resident.pk]}]}
    # Nobody, by construction (whoever other apps place in the ward).
    ward_minus_itself = {"include": [{"area": everything["ward"].pk}], "exclude": [{"area": everything["ward"].pk}]}

    def write(title: str, audience: dict, **fields) -> Alert:
        values = {"kind": "alert", "category": "burglary", "priority": 3, "body_markdown": "Lock your doors."}
        return alert_create(actor=officer, title=title, audience=audience, **(values | fields))

    with override_settings(**MEDIA):
        public = write(PUBLIC_TITLE, to_resident, kind="appeal", is_public=True)
        private = write(PRIVATE_TITLE, to_resident)
        picture = alert_image_add(actor=officer, alert=private, upload=_picture(), alt_text="A red car")
        draft = write(DRAFT_TITLE, to_resident)
        draft_picture = alert_image_add(actor=officer, alert=draft, upload=_picture(), alt_text="A blue van")
    for alert in (public, private):
        dispatch_fan_out(dispatch_id=alert_publish(actor=officer, alert=alert).pk)
    scheduled = write("Matrix scheduled", to_resident)
    alert_schedule(actor=officer, alert=scheduled, send_at=timezone.now() + timedelta(days=1))
    ward_draft = write("Matrix ward draft", ward_minus_itself)
    return {
        "public_alert": public,
        "private_alert": private,
        "private_picture": picture,
        "draft_alert": draft,
        "draft_picture": draft_picture,
        "scheduled_alert": scheduled,
        "ward_draft": ward_draft,
    }


# A real one-pixel GIF whose every byte is below 0x80: the matrix reads each response body as
# UTF-8 text, which a picture's bytes usually are not.
ASCII_GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def _picture() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.gif", ASCII_GIF, content_type="image/gif")


class WithPicture(dict):
    """Form data whose picture is a fresh file each time it is sent: the test client reads a
    file to its end, and the same case is sent once per role."""

    def items(self):
        for key, value in super().items():
            yield key, value() if callable(value) else value


def _alert(name: str):
    return _kwargs(pk=lambda c: getattr(c, name).pk)


PUBLIC = _alert("public_alert")
PRIVATE = _alert("private_alert")
DRAFT = _alert("draft_alert")
SCHEDULED = _alert("scheduled_alert")
PRIVATE_PICTURE = _kwargs(pk=lambda c: c.private_alert.pk, image_pk=lambda c: c.private_picture.pk)
DRAFT_PICTURE = _kwargs(pk=lambda c: c.draft_alert.pk, image_pk=lambda c: c.draft_picture.pk)
KENT_WATCH = _kwargs(slug=lambda c: c.kent_watch.slug)

TO_DETAIL = redirect(re.compile(r"/alerts/manage/\d+/"))
NEW_ALERT = {
    "kind": "alert", "category": "burglary", "priority": "3", "title": "Matrix new alert",
    "body_markdown": "Be careful.", "action": "save",
}  # fmt: skip
TOMORROW = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def kent_only(kent: Any, *, essex: Any = NOT_FOUND) -> dict:
    """An officers' page about a Kent alert: Kent's staff get `kent`, Essex's officer `essex`."""
    return officer_pages(kent, officer_other_org=essex)


# What a request did, or did not do.


def _status_of(name: str, *, by_kent: str):
    def check(c: Cast, member: Member | None, role: str) -> None:
        alert = getattr(c, name)
        status = Alert.objects.get(pk=alert.pk).status
        assert status == (by_kent if role in KENT_STAFF else alert.status), (role, status)

    return check


def _created_only_by_officers(c: Cast, member: Member | None, role: str) -> None:
    made = Alert.objects.filter(title="Matrix new alert").first()
    if role in {*KENT_STAFF, "officer_other_org"}:
        assert made is not None and made.organisation_id == member.organisation_id and made.status == "draft"
    else:
        assert made is None


def _edited_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    title = Alert.objects.get(pk=c.draft_alert.pk).title
    assert title == ("Matrix new alert" if role in KENT_STAFF else DRAFT_TITLE)


def _deleted_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    assert Alert.objects.filter(pk=c.draft_alert.pk).exists() is (role not in KENT_STAFF)


def _pictures_of_draft(added_by_kent: int):
    def check(c: Cast, member: Member | None, role: str) -> None:
        count = AlertImage.objects.filter(alert=c.draft_alert).count()
        assert count == (1 + added_by_kent if role in KENT_STAFF else 1), (role, count)

    return check


def _updated_only_by_kent(c: Cast, member: Member | None, role: str) -> None:
    assert Alert.objects.get(pk=c.private_alert.pk).updates.exists() is (role in KENT_STAFF)


def _group_messaged_only_by_coordinator(c: Cast, member: Member | None, role: str) -> None:
    senders = set(GroupMessage.objects.values_list("author__email", flat=True))
    assert senders == ({c.coordinator.email} if role == "coordinator" else set()), senders


# Visitors are asked to sign in for anything not public (the link in an email is for a
# resident who may be signed out); members without it find nothing (404).
NOT_PUBLIC = roles(
    anonymous=LOGIN, resident=OK.showing(PRIVATE_TITLE), other_resident=NOT_FOUND, coordinator=NOT_FOUND,
    officer=OK.showing(PRIVATE_TITLE, "Manage this alert"), officer_other_org=NOT_FOUND,
)  # fmt: skip
UNSENT = roles(anonymous=LOGIN, resident=NOT_FOUND, coordinator=NOT_FOUND, officer=OK, officer_other_org=NOT_FOUND)
PICTURE = roles(anonymous=LOGIN, resident=OK, other_resident=NOT_FOUND, officer=OK, officer_other_org=NOT_FOUND)

MATRIX = {
    # Public alerts: anyone.
    "alerts:public_list": (
        GET(everyone(OK.showing(PUBLIC_TITLE).hiding(PRIVATE_TITLE, DRAFT_TITLE))),
        POST(everyone(NOT_ALLOWED)),
    ),
    "alerts:view": (
        GET(everyone(OK.showing(PUBLIC_TITLE)), label="public", kwargs=PUBLIC),
        GET(NOT_PUBLIC, label="sent to the resident only", kwargs=PRIVATE),
        GET(UNSENT, label="draft", kwargs=DRAFT),
        POST(everyone(NOT_ALLOWED), kwargs=PUBLIC),
    ),
    "alerts:image": (
        GET(PICTURE, label="of an alert sent to the resident", kwargs=PRIVATE_PICTURE, settings=MEDIA),
        GET(UNSENT, label="of a draft", kwargs=DRAFT_PICTURE, settings=MEDIA),
        GET(
            roles(anonymous=LOGIN, resident=NOT_FOUND, officer=NOT_FOUND),
            label="of another alert",
            kwargs=_kwargs(pk=lambda c: c.private_alert.pk, image_pk=lambda c: c.draft_picture.pk),
        ),
    ),
    # Officers: their own organisation's alerts.
    "alerts:list": (
        GET(
            officer_pages(
                OK.showing(PRIVATE_TITLE, DRAFT_TITLE), officer_other_org=OK.hiding(PRIVATE_TITLE, DRAFT_TITLE)
            )
        ),
        POST(officer_pages(NOT_ALLOWED)),
    ),
    "alerts:create": (
        GET(officer_pages(OK)),
        POST(officer_pages(TO_DETAIL), data=NEW_ALERT, check=_created_only_by_officers),
        POST(
            officer_pages(BAD_REQUEST.showing("There is a problem")), label="no title", data={**NEW_ALERT, "title": ""}
        ),
    ),
    "alerts:audience": (
        POST(
            officer_pages(
                OK.showing('id="audience-members">0<', "Nobody would receive this"),
                officer_other_org=OK.showing("This audience cannot be used", "reaches outside"),
            ),
            data={"priority": "3", "circle_lat": "51.27", "circle_lon": "0.51", "circle_metres": "50"},
            label="a circle in the ward, where nobody lives",
        ),
        GET(officer_pages(NOT_ALLOWED)),
    ),
    "alerts:detail": (
        GET(kent_only(OK.showing(DRAFT_TITLE, "Before you publish")), label="draft", kwargs=DRAFT),
        GET(kent_only(OK.showing(PRIVATE_TITLE, "Reach")), label="published", kwargs=PRIVATE),
        POST(officer_pages(NOT_ALLOWED), kwargs=DRAFT),
    ),
    "alerts:edit": (
        GET(kent_only(OK), label="draft", kwargs=DRAFT),
        GET(kent_only(TO_DETAIL), label="published", kwargs=PRIVATE),
        POST(kent_only(TO_DETAIL), kwargs=DRAFT, data=NEW_ALERT, check=_edited_only_by_kent),
    ),
    "alerts:preview": (
        GET(kent_only(OK.showing("By text message")), kwargs=DRAFT),
        POST(officer_pages(NOT_ALLOWED), kwargs=DRAFT),
    ),
    "alerts:image_add": (
        POST(
            kent_only(TO_DETAIL),
            kwargs=DRAFT,
            settings=MEDIA,
            data=WithPicture(file=_picture, alt_text="A green bike"),
            check=_pictures_of_draft(1),
        ),
        POST(
            kent_only(BAD_REQUEST.showing("Say what the picture shows")),
            label="no description",
            kwargs=DRAFT,
            settings=MEDIA,
            data=WithPicture(file=_picture, alt_text=""),
            check=_pictures_of_draft(0),
        ),
        GET(officer_pages(NOT_ALLOWED), kwargs=DRAFT),
    ),
    "alerts:image_remove": (
        POST(kent_only(TO_DETAIL), kwargs=DRAFT_PICTURE, settings=MEDIA, check=_pictures_of_draft(-1)),
        GET(officer_pages(NOT_ALLOWED), kwargs=DRAFT_PICTURE),
    ),
    "alerts:publish": (
        POST(kent_only(TO_DETAIL), kwargs=DRAFT, check=_status_of("draft_alert", by_kent="published")),
        POST(
            kent_only(BAD_REQUEST.showing("Nobody would receive this")),
            label="a ward minus itself",
            kwargs=_alert("ward_draft"),
            check=_status_of("ward_draft", by_kent="draft"),
        ),
        GET(officer_pages(NOT_ALLOWED), kwargs=DRAFT),
    ),
    "alerts:schedule": (
        POST(
            kent_only(TO_DETAIL),
            kwargs=DRAFT,
            data={"send_at": TOMORROW},
            check=_status_of("draft_alert", by_kent="scheduled"),
        ),
        POST(
            kent_only(BAD_REQUEST.showing("Choose a time in the future")),
            label="in the past",
            kwargs=DRAFT,
            data={"send_at": "2020-01-01T09:00"},
            check=_status_of("draft_alert", by_kent="draft"),
        ),
    ),
    "alerts:unschedule": (
        POST(kent_only(TO_DETAIL), kwargs=SCHEDULED, check=_status_of("scheduled_alert", by_kent="draft")),
        POST(kent_only(BAD_REQUEST.showing("not scheduled")), label="a draft", kwargs=DRAFT),
    ),
    "alerts:update": (
        POST(
            kent_only(TO_DETAIL),
            kwargs=PRIVATE,
            data={"kind": "update", "body": "An arrest was made."},
            check=_updated_only_by_kent,
        ),
        POST(
            kent_only(BAD_REQUEST.showing("Only a published alert can be updated")),
            label="a draft",
            kwargs=DRAFT,
            data={"kind": "update", "body": "Too early."},
        ),
    ),
    "alerts:withdraw": (
        POST(
            kent_only(TO_DETAIL),
            kwargs=PRIVATE,
            data={"reason": "Sent by mistake."},
            check=_status_of("private_alert", by_kent="withdrawn"),
        ),
        POST(
            kent_only(BAD_REQUEST.showing("Only a published alert can be withdrawn")),
            label="a draft",
            kwargs=DRAFT,
            data={"reason": "Never mind."},
        ),
    ),
    "alerts:delete": (
        POST(kent_only(redirect("/alerts/manage/")), kwargs=DRAFT, settings=MEDIA, check=_deleted_only_by_kent),
        POST(kent_only(BAD_REQUEST.showing("Only a draft can be deleted")), label="published", kwargs=PRIVATE),
    ),
    # Coordinators: their own group, and nobody else.
    "alerts:group_list": (
        GET(roles(anonymous=LOGIN, resident=FORBIDDEN, coordinator=OK.showing("Kent Rural Watch"), officer=FORBIDDEN)),
        POST(roles(anonymous=LOGIN, resident=NOT_ALLOWED, officer=NOT_ALLOWED, coordinator=NOT_ALLOWED)),
    ),
    "alerts:group_messages": (
        GET(
            roles(anonymous=LOGIN, resident=FORBIDDEN, coordinator=OK, officer=FORBIDDEN, officer_other_org=NOT_FOUND),
            kwargs=KENT_WATCH,
        ),
        POST(
            roles(
                anonymous=LOGIN,
                resident=FORBIDDEN,
                coordinator=redirect("/alerts/groups/kent-rural-watch/messages/"),
                officer=FORBIDDEN,
                officer_other_org=NOT_FOUND,
            ),
            kwargs=KENT_WATCH,
            data={"subject": "Matrix meeting", "body": "Tuesday at 7."},
            check=_group_messaged_only_by_coordinator,
        ),
        GET(
            roles(
                anonymous=LOGIN,
                resident=FORBIDDEN,
                coordinator=FORBIDDEN,
                officer=NOT_FOUND,
                officer_other_org=FORBIDDEN,
            ),
            label="another organisation's group",
            kwargs=_kwargs(slug=lambda c: c.essex_watch.slug),
        ),
    ),
}
