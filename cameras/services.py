"""The verbs of the camera register: register, edit, remove and confirm a camera; search
near an incident; ask owners for footage; answer with evidence; hand evidence over.

Each write is one transaction and is audited where it matters to the public's trust:
every search (who, where, for which incident), every request, every answer, every
download of evidence (the chain of custody, in `CustodyEntry` too).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from core import personal_data
from core.email import member_email_send
from core.services import audit_record
from groups.jurisdiction import point_in_jurisdiction
from members.models import Member
from notifications.services import dispatch_publish

from .models import Camera, CameraSearch, CustodyEntry, Evidence, FootageAsk, FootageRequest
from .permissions import (
    REGISTER_ONLY_RESIDENTS,
    SEARCH_ONLY_OFFICERS,
    can_register_cameras,
    can_search_cameras,
)
from .selectors import CameraHit, camera_search_results, cameras_near
from .uploads import EvidenceTemporaryFile, evidence_type

logger = logging.getLogger(__name__)

CAMERA_FIELDS = ("kind", "label", "placement", "latitude", "longitude", "facing", "covers", "retention_days", "willing")
# Footage wanted from a window at most this long, ending no later than this far ahead.
MAX_WINDOW = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=10)
MIN_RADIUS_M = 25
# A footage request whose earliest "save by" day is this close is urgent (priority 2:
# it ignores quiet hours and digests, or the footage could be gone by the morning).
URGENT_WITHIN = timedelta(days=2)


# --- a resident's cameras


def _owner_check(member: Member) -> None:
    if not can_register_cameras(member=member):
        raise PermissionDenied(REGISTER_ONLY_RESIDENTS)


def _place(member: Member, data: dict[str, Any]) -> dict[str, Any]:
    """Where the camera is: its pin, or (at home, and for every dashcam) the owner's home."""
    kind = data.get("kind")
    if kind == Camera.Kind.DASHCAM:
        data["placement"] = Camera.Placement.HOME
    if data.get("placement") == Camera.Placement.PIN:
        lat, lon = data.get("latitude"), data.get("longitude")
        if lat is None or lon is None:
            raise ValidationError(
                {"latitude": "Put a pin on the map where the camera is, or give its latitude and longitude."}
            )
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValidationError({"latitude": "That point is not on the map."})
        return data
    if member.latitude is None or member.longitude is None:
        raise ValidationError(
            {
                "placement": "We do not know where your home is yet, so we cannot place the camera there. "
                "Check your postcode in My account, or put a pin on the map where the camera is."
                if kind != Camera.Kind.DASHCAM
                else "A dashcam is found by where you live, and we do not know that yet. "
                "Check your postcode in My account, or place your home on the map."
            }
        )
    data["latitude"], data["longitude"] = member.latitude, member.longitude
    return data


def _clean(member: Member, data: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in data.items() if k in CAMERA_FIELDS}
    for text in ("label", "covers"):
        if text in data:
            data[text] = (data[text] or "").strip()
    data = _place(member, data)
    retention = data.get("retention_days")
    if retention is None or not (1 <= int(retention) <= 365):
        raise ValidationError({"retention_days": "Give how many days the camera keeps footage: from 1 to 365."})
    return data


@transaction.atomic
def camera_register(*, member: Member, data: dict[str, Any]) -> Camera:
    """A resident registers a camera. It is confirmed as of now."""
    _owner_check(member)
    camera = Camera(owner=member, **_clean(member, dict(data)))
    camera.full_clean()
    camera.save()
    audit_record(actor=member, action="cameras.camera.registered", target=camera, data={"kind": camera.kind})
    return camera


@transaction.atomic
def camera_update(*, member: Member, camera: Camera, data: dict[str, Any]) -> list[str]:
    """The owner changes their camera; changing it also confirms they still have it.
    Returns the names of the fields that changed."""
    _owner_check(member)
    if camera.owner_id != member.pk:
        raise PermissionDenied("This is not your camera.")
    merged = {f: getattr(camera, f) for f in CAMERA_FIELDS}
    merged.update({k: v for k, v in data.items() if k in CAMERA_FIELDS})
    cleaned = _clean(member, merged)
    changed = [f for f, v in cleaned.items() if getattr(camera, f) != v]
    for field, value in cleaned.items():
        setattr(camera, field, value)
    camera.confirmed_at, camera.confirmation_asked_at = timezone.now(), None
    camera.full_clean()
    camera.save()
    if changed:
        audit_record(actor=member, action="cameras.camera.changed", target=camera, data={"fields": changed})
    return changed


@transaction.atomic
def camera_remove(*, member: Member, camera: Camera) -> None:
    """The owner removes a camera from the register. Requests already answered keep what
    the officer saw of it; evidence already handed over stays with the force."""
    _owner_check(member)
    if camera.owner_id != member.pk:
        raise PermissionDenied("This is not your camera.")
    audit_record(actor=member, action="cameras.camera.removed", target=camera, data={"kind": camera.kind})
    camera.delete()


@transaction.atomic
def cameras_confirm(*, member: Member, now: datetime | None = None) -> int:
    """The owner says they still have every camera registered: confirmed for another year.
    A camera at their home moves with them if they moved. Returns how many were confirmed."""
    _owner_check(member)
    now = now or timezone.now()
    cameras = Camera.objects.filter(owner=member)
    count = cameras.update(confirmed_at=now, confirmation_asked_at=None)
    if member.latitude is not None and member.longitude is not None:
        cameras.filter(Q(placement=Camera.Placement.HOME) | Q(kind=Camera.Kind.DASHCAM)).update(
            latitude=member.latitude, longitude=member.longitude
        )
    if count:
        audit_record(actor=member, action="cameras.camera.confirmed", target=member, data={"cameras": count})
    return count


def cameras_follow_homes() -> int:
    """Move every camera "at my home" (and every dashcam) to where its owner lives now.

    One UPDATE over the cameras whose owner's home changed; safe to run at any time.
    An owner whose home is no longer known keeps their cameras where they were.
    Returns how many cameras moved.
    """
    home = Member.objects.filter(pk=OuterRef("owner_id"))
    return (
        Camera.objects.filter(
            Q(placement=Camera.Placement.HOME) | Q(kind=Camera.Kind.DASHCAM),
            owner__latitude__isnull=False,
            owner__longitude__isnull=False,
        )
        .exclude(latitude=F("owner__latitude"), longitude=F("owner__longitude"))
        .update(latitude=Subquery(home.values("latitude")[:1]), longitude=Subquery(home.values("longitude")[:1]))
    )


def camera_confirmations_request(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Ask, once, each owner whose cameras were last confirmed over a year ago whether
    they still have them (an email with a link to confirm or remove them).

    Idempotent: an owner is marked asked before the email goes, so a second run the same
    day, or a task run twice, asks nobody twice; a crash between the two loses one email,
    and their My cameras page still asks them. Returns how many owners were asked.
    """
    now = now or timezone.now()
    due = Camera.objects.filter(
        confirmed_at__lte=now - timedelta(days=settings.CAMERA_CONFIRM_AFTER_DAYS),
        owner__is_active=True,
        owner__erased_at__isnull=True,
    ).filter(Q(confirmation_asked_at__isnull=True) | Q(confirmation_asked_at__lt=F("confirmed_at")))
    owner_ids = list(due.order_by("owner_id").values_list("owner_id", flat=True).distinct()[:limit])
    asked = 0
    for owner_id in owner_ids:
        # One UPDATE claims the owner's due cameras: a run that got there first leaves none.
        claimed = due.filter(owner_id=owner_id).update(confirmation_asked_at=now)
        if not claimed:
            continue  # another run took them
        member = Member.objects.get(pk=owner_id)
        cameras = list(Camera.objects.filter(owner=member).order_by("created_at"))
        try:
            member_email_send(
                member=member,
                template="cameras/email/confirm",
                context={"cameras": cameras, "url": settings.SITE_URL + reverse("cameras:mine")},
            )
        except Exception:
            logger.exception("Could not ask member %s to confirm their cameras", owner_id)
            continue
        asked += 1
    return asked


# --- the officer's search


def _officer_check(officer: Member) -> None:
    if not can_search_cameras(member=officer):
        raise PermissionDenied(SEARCH_ONLY_OFFICERS)


@transaction.atomic
def camera_search_create(
    *,
    officer: Member,
    incident_reference: str,
    incident_at: datetime,
    latitude: float,
    longitude: float,
    radius_m: int,
) -> tuple[CameraSearch, list[CameraHit]]:
    """An officer looks for cameras near an incident; the search is recorded and audited.

    The point must be inside the organisation's areas; cameras beyond them are not
    found. Returns the search and what it found, nearest first.
    """
    _officer_check(officer)
    incident_reference = (incident_reference or "").strip()
    errors: dict[str, str] = {}
    if not incident_reference:
        errors["incident_reference"] = "Give the incident reference (the crime or incident number)."
    if incident_at > timezone.now() + CLOCK_SKEW:
        errors["incident_at"] = "The incident time is in the future."
    if not (MIN_RADIUS_M <= radius_m <= settings.CAMERA_SEARCH_MAX_METRES):
        errors["radius_m"] = f"The radius is from {MIN_RADIUS_M} to {settings.CAMERA_SEARCH_MAX_METRES:,} metres."
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        errors["latitude"] = "That point is not on the map."
    elif not point_in_jurisdiction(organisation=officer.organisation_id, lon=longitude, lat=latitude):
        errors["latitude"] = "That point is outside your organisation's area. Search inside it."
    if errors:
        raise ValidationError(errors)
    hits = cameras_near(
        organisation=officer.organisation_id, lon=longitude, lat=latitude, metres=radius_m, incident_at=incident_at
    )
    search = CameraSearch.objects.create(
        organisation_id=officer.organisation_id,
        officer=officer,
        incident_reference=incident_reference,
        incident_at=incident_at,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        result_count=len(hits),
    )
    audit_record(
        actor=officer,
        action="cameras.search.created",
        target=search,
        organisation=officer.organisation,
        data={
            "incident_reference": incident_reference,
            "latitude": latitude,
            "longitude": longitude,
            "radius_m": radius_m,
            "results": len(hits),
        },
    )
    return search, hits


# --- asking owners for footage


def _request_body(request: FootageRequest, asks: list[FootageAsk]) -> str:
    lines = [
        f"{request.organisation.name} is asking for footage of an incident near one of your cameras.",
        "",
        f"Incident reference: {request.incident_reference}",
        f"Where: {request.location}",
        f"Footage wanted from {date_format(timezone.localtime(request.window_start), 'j F Y, H:i')} "
        f"to {date_format(timezone.localtime(request.window_end), 'j F Y, H:i')}",
        "",
        request.message,
        "",
    ]
    for ask in asks:
        lines.append(
            f"Your {ask.get_camera_kind_display().lower()}: please save the footage before the end of "
            f"{date_format(ask.preserve_by, 'l j F Y')}, when it will be recorded over."
        )
    lines += ["", "Answer and upload the footage securely in the app: only this force's officers will see it."]
    return "\n".join(lines)


@transaction.atomic
def footage_request_create(
    *,
    officer: Member,
    search: CameraSearch,
    camera_ids: list[int],
    window_start: datetime,
    window_end: datetime,
    location: str,
    message: str,
) -> FootageRequest:
    """Ask the owners of chosen cameras from a search for footage.

    The cameras must still be among the search's results (the owner may have removed
    one, or withdrawn). Each camera gets a "preserve by" day from its retention period:
    footage of the start of the window is recorded over after it. Each owner gets one
    message through the dispatch pipeline, on their own channels, listing their cameras.
    """
    _officer_check(officer)
    if search.organisation_id != officer.organisation_id:
        raise PermissionDenied("This search belongs to another organisation.")
    location, message = (location or "").strip(), (message or "").strip()
    errors: dict[str, str] = {}
    wanted = {int(c) for c in camera_ids}
    if not wanted:
        errors["cameras"] = "Choose at least one camera to ask for footage."
    if window_start >= window_end:
        errors["window_end"] = "The end of the time window must be after its start."
    elif window_end - window_start > MAX_WINDOW:
        errors["window_end"] = "Ask for at most 7 days of footage at once."
    if window_start > timezone.now() + CLOCK_SKEW:
        errors["window_start"] = "The time window cannot start in the future."
    if not location:
        errors["location"] = "Say where it happened, in words the owner will know (a street, a landmark)."
    if not message:
        errors["message"] = "Write a message to the owners: what happened and what you are looking for."
    hits = {h.id: h for h in camera_search_results(search=search)} if wanted else {}
    gone = wanted - set(hits)
    if wanted and gone:
        errors["cameras"] = (
            f"{len(gone)} of the cameras chosen can no longer be asked (removed, or the owner withdrew). Search again."
        )
    if errors:
        raise ValidationError(errors)
    request = FootageRequest.objects.create(
        organisation_id=officer.organisation_id,
        search=search,
        created_by=officer,
        incident_reference=search.incident_reference,
        window_start=window_start,
        window_end=window_end,
        location=location,
        latitude=search.latitude,
        longitude=search.longitude,
        message=message,
    )
    cameras = Camera.objects.filter(pk__in=wanted).order_by("owner_id", "pk")
    asks = FootageAsk.objects.bulk_create(
        [
            FootageAsk(
                request=request,
                camera=camera,
                owner_id=camera.owner_id,
                camera_kind=camera.kind,
                camera_covers=camera.covers,
                camera_facing=camera.facing,
                latitude=hits[camera.pk].latitude,
                longitude=hits[camera.pk].longitude,
                retention_days=camera.retention_days,
                preserve_by=camera.footage_kept_until(window_start),
            )
            for camera in cameras
        ]
    )
    by_owner: dict[int, list[FootageAsk]] = {}
    for ask in asks:
        by_owner.setdefault(ask.owner_id, []).append(ask)
    today = timezone.localdate()
    for owner_id, own in by_owner.items():
        path = reverse("cameras:ask", kwargs={"pk": own[0].pk}) if len(own) == 1 else reverse("cameras:asks")
        soonest = min(a.preserve_by for a in own)
        dispatch_publish(
            organisation=request.organisation,
            source=request,
            subject=f"Footage request from {request.organisation.name}: please save your camera's recording",
            body_text=_request_body(request, own),
            url=settings.SITE_URL + path,
            audience={"include": [{"members": [owner_id]}]},
            priority=2 if soonest - today <= URGENT_WITHIN else 3,
            created_by=officer,
        )
    audit_record(
        actor=officer,
        action="cameras.request.sent",
        target=request,
        organisation=officer.organisation,
        data={"search": search.pk, "cameras": len(asks), "owners": len(by_owner)},
    )
    return request


# --- the owner's answer, and the evidence


def footage_ask_answer(
    *,
    member: Member,
    ask: FootageAsk,
    answer: str,
    note: str = "",
    share_contact: bool = False,
    upload: EvidenceTemporaryFile | None = None,
) -> Evidence | None:
    """The owner answers: footage (with a file), nothing relevant, or no longer has the camera.

    With a file: its real type is read from its bytes and must be footage or a photo we
    accept; it is stored in the evidence storage with its SHA-256 hash (worked out as it
    arrived), size, uploader and time, and the custody log starts. If anything fails,
    nothing is kept: no row, no stored file. "No longer have this camera" removes it
    from the register. Sharing contact details copies the owner's name, email and phone
    to the answer, for the requesting force only.
    """
    _owner_check(member)
    if ask.owner_id != member.pk or ask.status == FootageAsk.Status.ERASED:
        raise PermissionDenied("This request was not sent to you.")
    if answer not in (FootageAsk.Status.FOOTAGE, FootageAsk.Status.NOTHING, FootageAsk.Status.NO_CAMERA):
        raise ValidationError({"answer": "Choose one of the answers."})
    if answer == FootageAsk.Status.FOOTAGE and upload is None and not ask.evidence.exists():
        raise ValidationError({"file": "Choose the file with the footage to upload."})
    if upload is not None and answer != FootageAsk.Status.FOOTAGE:
        raise ValidationError({"file": "Only send a file with the answer “I have footage”."})
    if answer != FootageAsk.Status.FOOTAGE and ask.evidence.exists():
        # The footage is with the force already: "nothing relevant" now would contradict it.
        raise ValidationError(
            {
                "answer": "You have already sent footage for this request, so the answer stays "
                "“I have footage”. Send another file if you have more."
            }
        )
    kind = None
    if upload is not None:
        if upload.size == 0:
            raise ValidationError({"file": "The file is empty. Nothing was kept."})
        kind = evidence_type(upload.temporary_file_path())
        if kind is None:
            from .uploads import ACCEPTED_DESCRIPTION

            raise ValidationError(
                {"file": f"This file is not {ACCEPTED_DESCRIPTION}, whatever its name says. Nothing was kept."}
            )
    storage_name = ""
    try:
        with transaction.atomic():
            ask = FootageAsk.objects.select_for_update().get(pk=ask.pk)
            evidence = None
            if upload is not None:
                evidence = Evidence(
                    ask=ask,
                    original_name=(upload.name or "upload")[:255],
                    content_type=kind.content_type,
                    extension=kind.extension,
                    size=upload.size,
                    sha256=upload.sha256,
                    uploaded_by=member,
                    uploaded_at=timezone.now(),
                )
                upload.seek(0)
                evidence.file.save(f"{evidence.uuid}.{kind.extension}", upload, save=False)
                storage_name = evidence.file.name
                evidence.save()
                CustodyEntry.objects.create(
                    evidence=evidence,
                    action=CustodyEntry.Action.RECEIVED,
                    actor=member,
                    actor_name=f"The camera's owner (answer {ask.pk})",
                    actor_role="owner",
                    organisation=None,
                    at=evidence.uploaded_at,
                )
            ask.status, ask.answered_at = answer, timezone.now()
            ask.owner_note = (note or "").strip()[:2000]
            if share_contact:
                ask.shared_name = member.get_full_name()[:200]
                ask.shared_email = member.email
                ask.shared_phone = str(member.phone) if member.phone else ""
            else:
                ask.shared_name = ask.shared_email = ask.shared_phone = ""
            ask.save()
            if answer == FootageAsk.Status.NO_CAMERA and ask.camera_id:
                Camera.objects.filter(pk=ask.camera_id, owner=member).delete()
            audit_record(
                actor=member,
                action="cameras.ask.answered",
                target=ask,
                organisation=ask.request.organisation,
                data={"answer": answer, "evidence": evidence.pk if evidence else None, "shared_contact": share_contact},
            )
    except BaseException:
        if storage_name:
            Evidence.file.field.storage.delete(storage_name)
        raise
    return evidence


@transaction.atomic
def evidence_download_record(*, actor: Member, evidence: Evidence) -> CustodyEntry:
    """Someone is taking a copy of the evidence: the custody log says who and when.

    The caller has `evidence` from `evidence_visible_to(viewer=actor)`."""
    officer = can_search_cameras(member=actor)
    entry = CustodyEntry.objects.create(
        evidence=evidence,
        action=CustodyEntry.Action.DOWNLOADED,
        actor=actor,
        actor_name=actor.get_full_name() if officer else f"The camera's owner (answer {evidence.ask_id})",
        actor_role=actor.role if officer else "owner",
        organisation_id=actor.organisation_id if officer else None,
    )
    audit_record(
        actor=actor,
        action="cameras.evidence.downloaded",
        target=evidence,
        organisation=actor.organisation if officer else None,
        data={"sha256": evidence.sha256},
    )
    return entry


def custody_exported(*, actor: Member, request: FootageRequest) -> None:
    """An officer exported a request's custody log (for the case file): audited."""
    audit_record(actor=actor, action="cameras.custody.exported", target=request, organisation=actor.organisation)


# --- personal data


def _export(member: Member) -> dict[str, Any]:
    return {
        "cameras": [
            {
                "kind": c.kind,
                "label": c.label,
                "placement": c.placement,
                "latitude": c.latitude,
                "longitude": c.longitude,
                "facing": c.facing,
                "covers": c.covers,
                "retention_days": c.retention_days,
                "willing_to_be_asked": c.willing,
                "confirmed_at": c.confirmed_at.isoformat(),
                "registered_at": c.created_at.isoformat(),
            }
            for c in Camera.objects.filter(owner=member).order_by("created_at", "pk")
        ],
        "footage_requests": [
            {
                "organisation": a.request.organisation.name,
                "incident_reference": a.request.incident_reference,
                "asked_at": a.created_at.isoformat(),
                "preserve_by": a.preserve_by.isoformat(),
                "answer": a.status,
                "answered_at": a.answered_at.isoformat() if a.answered_at else None,
                "note": a.owner_note,
                "shared_contact": {"name": a.shared_name, "email": a.shared_email, "phone": a.shared_phone},
                "evidence": [
                    {
                        "file_name": e.original_name,
                        "type": e.content_type,
                        "size": e.size,
                        "sha256": e.sha256,
                        "uploaded_at": e.uploaded_at.isoformat(),
                    }
                    for e in a.evidence.all()
                ],
            }
            for a in FootageAsk.objects.filter(owner=member)
            .select_related("request__organisation")
            .prefetch_related("evidence")
            .order_by("created_at", "pk")
        ],
    }


def _erase(member: Member) -> None:
    # The cameras go; what the force was handed stays with it, marked as from an erased
    # member, and the contact details the owner shared with their answers go.
    Camera.objects.filter(owner=member).delete()
    FootageAsk.objects.filter(owner=member, status=FootageAsk.Status.AWAITING).update(status=FootageAsk.Status.ERASED)
    FootageAsk.objects.filter(owner=member).update(shared_name="", shared_email="", shared_phone="")
    Evidence.objects.filter(uploaded_by=member).update(from_erased_member=True)


personal_data.register("cameras", export=_export, erase=_erase)
