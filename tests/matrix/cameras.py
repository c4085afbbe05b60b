"""The authorization matrix's entries for the camera register (see tests/test_authorization_matrix.py).

The cast adds: the resident living in the test ward (which Kent Police covers) with a
doorbell camera; a Kent officer's search around it, a footage request to its owner,
answered with a video (evidence, with its first custody entry); and a search by Essex
Police, which no Kent officer may see.

Residents (coordinators too) see their own cameras and requests only: another's is
404, and officers are refused the resident pages (403). Officers see their own
organisation's searches, requests and evidence: another organisation's are 404, and
residents are refused (403). The uploader may download their own evidence. Coverage
is for force admins only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.files.base import ContentFile

from cameras.models import Camera, CameraSearch, CustodyEntry, Evidence, FootageAsk, FootageRequest
from groups.services import member_location_set
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
    Cast,
    Expect,
    _kwargs,
    redirect,
    roles,
)

# In the test ward (0.50-0.52, 51.26-51.28), which Kent Police covers.
HOME = (0.512, 51.271)  # (lon, lat)
COVERS = "Matrix Lane and the postbox"
REFERENCE = "46/MATRIX/26"
ESSEX_REFERENCE = "42/ESSEX/26"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(256)
RESIDENT_EMAIL = "resident@example.org"


def build_cast(everything: dict[str, Any]) -> dict[str, Any]:
    kent, essex = everything["organisation"], everything["other_organisation"]
    resident, officer = everything["resident"], everything["officer"]
    member_location_set(member=resident, longitude=HOME[0], latitude=HOME[1])
    camera = Camera.objects.create(
        owner=resident, kind="doorbell", latitude=HOME[1], longitude=HOME[0], covers=COVERS, retention_days=30
    )
    incident_at = datetime.now(UTC) - timedelta(days=1)
    search = CameraSearch.objects.create(
        organisation=kent,
        officer=officer,
        incident_reference=REFERENCE,
        incident_at=incident_at,
        latitude=HOME[1],
        longitude=HOME[0],
        radius_m=300,
        result_count=1,
    )
    request = FootageRequest.objects.create(
        organisation=kent,
        search=search,
        created_by=officer,
        incident_reference=REFERENCE,
        window_start=incident_at,
        window_end=incident_at + timedelta(hours=1),
        location="Matrix Lane",
        latitude=HOME[1],
        longitude=HOME[0],
        message="Did your camera see a red van?",
    )
    ask = FootageAsk.objects.create(
        request=request,
        camera=camera,
        owner=resident,
        camera_kind="doorbell",
        camera_covers=COVERS,
        latitude=HOME[1],
        longitude=HOME[0],
        retention_days=30,
        preserve_by=(incident_at + timedelta(days=30)).date(),
        status="footage",
        answered_at=incident_at + timedelta(hours=5),
    )
    evidence = Evidence(
        ask=ask,
        original_name="doorbell.mp4",
        content_type="video/mp4",
        extension="mp4",
        size=len(MP4),
        sha256="0" * 64,
        uploaded_by=resident,
    )
    evidence.file.save(f"{evidence.uuid}.mp4", ContentFile(MP4), save=False)
    evidence.save()
    CustodyEntry.objects.create(
        evidence=evidence, action="received", actor=resident, actor_name="The camera's owner", actor_role="owner"
    )
    essex_search = CameraSearch.objects.create(
        organisation=essex,
        officer=everything["officer_other_org"],
        incident_reference=ESSEX_REFERENCE,
        incident_at=incident_at,
        latitude=51.7,
        longitude=0.7,
        radius_m=500,
    )
    return {
        "resident_camera": camera,
        "camera_search": search,
        "footage_request": request,
        "footage_ask": ask,
        "evidence": evidence,
        "essex_camera_search": essex_search,
    }


CAMERA = _kwargs(pk=lambda c: c.resident_camera.pk)
ASK = _kwargs(pk=lambda c: c.footage_ask.pk)
SEARCH = _kwargs(pk=lambda c: c.camera_search.pk)
ESSEX_SEARCH = _kwargs(pk=lambda c: c.essex_camera_search.pk)
REQUEST = _kwargs(pk=lambda c: c.footage_request.pk)
EVIDENCE = _kwargs(uuid=lambda c: c.evidence.uuid)

RESIDENTS_ONLY = "Registering cameras and answering footage requests is for residents."
OFFICERS_ONLY = "Only officers can search for cameras and request footage."
FORCE_ADMINS_ONLY = "Only force admins can see the camera coverage map."
STAFF = {"officer", "officer_other_org", "force_admin"}
KENT_STAFF = {"officer", "force_admin"}


def resident_page(resident: Expect, *, other_resident: Expect | None = None) -> dict[str, Expect]:
    """A resident's page: anonymous visitors log in first, officers are refused."""
    return roles(
        anonymous=LOGIN,
        resident=resident,
        other_resident=other_resident,
        coordinator=other_resident or resident,
        officer=FORBIDDEN,
    )


def officer_page(officer: Expect, *, officer_other_org: Expect | None = None) -> dict[str, Expect]:
    """An officer's page: anonymous visitors log in first; residents and coordinators are refused."""
    return roles(
        anonymous=LOGIN, resident=FORBIDDEN, coordinator=FORBIDDEN, officer=officer, officer_other_org=officer_other_org
    )


def resident_api(resident: Expect, *, other_resident: Expect | None = None) -> dict[str, Expect]:
    refused = FORBIDDEN.showing(RESIDENTS_ONLY)
    return roles(
        anonymous=API_UNAUTHENTICATED,
        resident=resident,
        other_resident=other_resident,
        coordinator=other_resident or resident,
        officer=refused,
    )


def officer_api(officer: Expect, *, officer_other_org: Expect | None = None) -> dict[str, Expect]:
    refused = FORBIDDEN.showing(OFFICERS_ONLY)
    return roles(
        anonymous=API_UNAUTHENTICATED,
        resident=refused,
        coordinator=refused,
        officer=officer,
        officer_other_org=officer_other_org,
    )


# --- what a request did, or did not do


def _registered_only_by_residents(covers: str):
    def check(c: Cast, member, role: str) -> None:
        made = list(Camera.objects.filter(covers=covers).values_list("owner__email", flat=True))
        assert made == ([member.email] if role in ("resident", "other_resident", "coordinator") else []), made

    return check


def _camera_changed_only_by_owner(c: Cast, member, role: str) -> None:
    camera = Camera.objects.get(pk=c.resident_camera.pk)
    assert (camera.retention_days == 7) is (role == "resident")


def _camera_removed_only_by_owner(c: Cast, member, role: str) -> None:
    assert Camera.objects.filter(pk=c.resident_camera.pk).exists() is (role != "resident")


def _answer_kept(c: Cast, member, role: str) -> None:
    """The cast's ask was answered with footage: "nothing relevant" now is refused, even
    to its owner (it would contradict the evidence), and nobody else reaches it at all."""
    assert FootageAsk.objects.get(pk=c.footage_ask.pk).status == "footage"


def _searched_only_by_officers(c: Cast, member, role: str) -> None:
    searches = CameraSearch.objects.filter(incident_reference="46/NEW/26")
    if role in KENT_STAFF:
        assert list(searches.values_list("officer", flat=True)) == [member.pk]
    else:
        assert not searches.exists()


def _requested_only_by_kent_officers(c: Cast, member, role: str) -> None:
    sent = FootageRequest.objects.filter(location="Requested in the matrix")
    if role in KENT_STAFF:
        assert sent.get().asks.get().owner_id == c.resident.pk
    else:
        assert not sent.exists()


def _download_recorded_only_if_handed_over(c: Cast, member, role: str) -> None:
    downloads = CustodyEntry.objects.filter(evidence=c.evidence, action="downloaded")
    if role in ("resident", "officer", "force_admin"):
        assert list(downloads.values_list("actor", flat=True)) == [member.pk]
    else:
        assert not downloads.exists()


# --- requests

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
NEW_CAMERA = {
    "kind": "cctv",
    "placement": "pin",
    "latitude": "51.272",
    "longitude": "0.513",
    "covers": "A new camera in the matrix",
    "retention_days": "14",
    "willing": "on",
}
CHANGED_CAMERA = {"kind": "doorbell", "placement": "home", "covers": COVERS, "retention_days": "7", "willing": "on"}
NEW_SEARCH = {
    "incident_reference": "46/NEW/26",
    "incident_at": YESTERDAY,
    "latitude": str(HOME[1]),
    "longitude": str(HOME[0]),
    "radius_m": "300",
}
API_SEARCH = {
    **NEW_SEARCH,
    "incident_at": datetime.now(UTC).isoformat(),
    "radius_m": 300,
    "latitude": HOME[1],
    "longitude": HOME[0],
}


class _NamingTheCast(dict):
    """Request data naming the cast's camera and search, whose ids are known only once the
    cast is built: read when the request is sent (the test client and json.dumps both
    read a dict through `items()`)."""

    def items(self):
        extra = {"cameras": [Camera.objects.get(covers=COVERS).pk]}
        if self.get("search") is True:
            extra["search"] = CameraSearch.objects.get(incident_reference=REFERENCE).pk
        return {**dict(super().items()), **extra}.items()


NEW_REQUEST = {
    "window_start": YESTERDAY,
    "window_end": (datetime.now(UTC) - timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M"),
    "location": "Requested in the matrix",
    "message": "Did your camera see a red van?",
}
REQUEST_FORM = _NamingTheCast(NEW_REQUEST)
REQUEST_API = _NamingTheCast({**NEW_REQUEST, "search": True})


SEARCH_PAGE = re.compile(r"/cameras/search/\d+/")
REQUEST_PAGE = re.compile(r"/cameras/requests/\d+/")
MINE = redirect("/cameras/")


MATRIX = {
    # A resident's cameras
    "cameras:mine": (
        GET(resident_page(OK.showing(COVERS), other_resident=OK.hiding(COVERS))),
        POST(resident_page(NOT_ALLOWED)),
    ),
    "cameras:register": (
        GET(resident_page(OK)),
        POST(
            resident_page(MINE),
            data={**NEW_CAMERA, "covers": "Registered in the matrix"},
            check=_registered_only_by_residents("Registered in the matrix"),
        ),
        POST(resident_page(BAD_REQUEST), label="no retention", data={"kind": "doorbell", "placement": "home"}),
    ),
    "cameras:edit": (
        GET(resident_page(OK.showing(COVERS), other_resident=NOT_FOUND), kwargs=CAMERA),
        POST(
            resident_page(MINE, other_resident=NOT_FOUND),
            kwargs=CAMERA,
            data=CHANGED_CAMERA,
            check=_camera_changed_only_by_owner,
        ),
    ),
    "cameras:remove": (
        GET(resident_page(OK, other_resident=NOT_FOUND), kwargs=CAMERA),
        POST(resident_page(MINE, other_resident=NOT_FOUND), kwargs=CAMERA, check=_camera_removed_only_by_owner),
    ),
    "cameras:confirm": (
        POST(resident_page(MINE)),
        GET(resident_page(NOT_ALLOWED)),
    ),
    "cameras:asks": (GET(resident_page(OK.showing("Kent Police"), other_resident=OK.hiding("Kent Police"))),),
    "cameras:ask": (
        GET(
            resident_page(OK.showing(REFERENCE, "Did your camera see a red van?"), other_resident=NOT_FOUND), kwargs=ASK
        ),
        POST(
            resident_page(BAD_REQUEST.showing("already sent footage"), other_resident=NOT_FOUND),
            kwargs=ASK,
            data={"answer": "nothing"},
            check=_answer_kept,
        ),
    ),
    # Officers
    "cameras:search": (
        GET(officer_page(OK.showing(REFERENCE), officer_other_org=OK.hiding(REFERENCE).showing(ESSEX_REFERENCE))),
        POST(
            officer_page(redirect(SEARCH_PAGE), officer_other_org=BAD_REQUEST.showing("outside your organisation")),
            data=NEW_SEARCH,
            check=_searched_only_by_officers,
        ),
    ),
    "cameras:search_detail": (
        GET(
            officer_page(OK.showing(COVERS).hiding(RESIDENT_EMAIL, "Alex Resident"), officer_other_org=NOT_FOUND),
            kwargs=SEARCH,
        ),
        GET(officer_page(NOT_FOUND, officer_other_org=OK), label="another force's search", kwargs=ESSEX_SEARCH),
        POST(
            officer_page(redirect(REQUEST_PAGE), officer_other_org=NOT_FOUND),
            label="send a request",
            kwargs=SEARCH,
            data=REQUEST_FORM,
            check=_requested_only_by_kent_officers,
        ),
    ),
    "cameras:requests": (GET(officer_page(OK.showing(REFERENCE), officer_other_org=OK.hiding(REFERENCE))),),
    "cameras:request_detail": (
        GET(
            officer_page(
                OK.showing(REFERENCE, "doorbell.mp4").hiding(RESIDENT_EMAIL, "Alex Resident"),
                officer_other_org=NOT_FOUND,
            ),
            kwargs=REQUEST,
        ),
    ),
    "cameras:custody": (
        GET(
            officer_page(OK.showing("doorbell.mp4", "Received from the owner"), officer_other_org=NOT_FOUND),
            kwargs=REQUEST,
        ),
    ),
    "cameras:custody_export": (
        GET(
            officer_page(OK.showing("incident_reference,evidence_id", REFERENCE), officer_other_org=NOT_FOUND),
            kwargs=REQUEST,
        ),
    ),
    "cameras:evidence_download": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=OK,
                other_resident=NOT_FOUND,
                coordinator=NOT_FOUND,
                officer=OK,
                officer_other_org=NOT_FOUND,
                force_admin=OK,
            ),
            kwargs=EVIDENCE,
            check=_download_recorded_only_if_handed_over,
        ),
    ),
    "cameras:coverage": (
        GET(
            roles(
                anonymous=LOGIN,
                resident=FORBIDDEN,
                coordinator=FORBIDDEN,
                officer=FORBIDDEN,
                force_admin=OK.showing("Test Ward"),
            )
        ),
    ),
    # The API
    "api-cameras-list": (
        GET(resident_api(OK.showing(COVERS), other_resident=OK.hiding(COVERS))),
        POST(
            resident_api(CREATED),
            as_json=True,
            data={
                **NEW_CAMERA,
                "covers": "Registered by the API",
                "latitude": 51.272,
                "longitude": 0.513,
                "retention_days": 14,
                "willing": True,
            },
            check=_registered_only_by_residents("Registered by the API"),
        ),
    ),
    "api-cameras-detail": (
        GET(resident_api(OK.showing(COVERS), other_resident=NOT_FOUND), kwargs=CAMERA),
        PATCH(
            resident_api(OK, other_resident=NOT_FOUND),
            kwargs=CAMERA,
            data={"retention_days": 7},
            check=_camera_changed_only_by_owner,
        ),
        DELETE(resident_api(NO_CONTENT, other_resident=NOT_FOUND), kwargs=CAMERA, check=_camera_removed_only_by_owner),
    ),
    "api-cameras-confirm": (POST(resident_api(OK), as_json=True),),
    "api-cameras-asks": (GET(resident_api(OK.showing(REFERENCE), other_resident=OK.hiding(REFERENCE))),),
    "api-cameras-ask": (GET(resident_api(OK.showing(REFERENCE), other_resident=NOT_FOUND), kwargs=ASK),),
    "api-cameras-ask-answer": (
        POST(
            resident_api(BAD_REQUEST.showing("already sent footage"), other_resident=NOT_FOUND),
            kwargs=ASK,
            as_json=True,
            data={"answer": "nothing"},
            check=_answer_kept,
        ),
    ),
    "api-cameras-searches": (
        GET(officer_api(OK.showing(REFERENCE), officer_other_org=OK.hiding(REFERENCE))),
        POST(
            officer_api(
                CREATED.showing(COVERS).hiding(RESIDENT_EMAIL),
                officer_other_org=BAD_REQUEST.showing("outside your organisation"),
            ),
            as_json=True,
            data=API_SEARCH,
            check=_searched_only_by_officers,
        ),
    ),
    "api-cameras-search": (
        GET(officer_api(OK.showing(COVERS).hiding(RESIDENT_EMAIL), officer_other_org=NOT_FOUND), kwargs=SEARCH),
    ),
    "api-cameras-requests": (
        GET(officer_api(OK.showing(REFERENCE), officer_other_org=OK.hiding(REFERENCE))),
        POST(
            officer_api(CREATED.showing("Requested in the matrix").hiding(RESIDENT_EMAIL), officer_other_org=NOT_FOUND),
            as_json=True,
            data=REQUEST_API,
            check=_requested_only_by_kent_officers,
        ),
    ),
    "api-cameras-request": (
        GET(
            officer_api(OK.showing(REFERENCE, "doorbell.mp4").hiding(RESIDENT_EMAIL), officer_other_org=NOT_FOUND),
            kwargs=REQUEST,
        ),
    ),
    "api-cameras-custody": (
        GET(officer_api(OK.showing('"action":"received"'), officer_other_org=NOT_FOUND), kwargs=REQUEST),
    ),
    "api-cameras-evidence": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=OK,
                other_resident=NOT_FOUND,
                coordinator=NOT_FOUND,
                officer=OK,
                officer_other_org=NOT_FOUND,
                force_admin=OK,
            ),
            kwargs=EVIDENCE,
            check=_download_recorded_only_if_handed_over,
        ),
    ),
    "api-cameras-coverage": (
        GET(
            roles(
                anonymous=API_UNAUTHENTICATED,
                resident=FORBIDDEN,
                coordinator=FORBIDDEN,
                officer=FORBIDDEN.showing(FORCE_ADMINS_ONLY),
                force_admin=OK.showing("E05TEST01"),
            )
        ),
    ),
}
