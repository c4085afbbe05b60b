"""Pages of the camera register.

Residents: their cameras (register, edit, remove, confirm once a year) and the footage
requests put to them, answered with an upload. Officers: search near an incident (every
search recorded), ask owners, read answers, download evidence (every download in the
custody log, which exports as CSV). Force admins: registrations per ward, as counts.

Maps are progressive enhancement (static/js/cameras.js over the vendored Leaflet, and
map.js's pin for a camera's place): every map has the same facts beside it as fields
or a table.
"""

from __future__ import annotations

import csv
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from groups.area_api import area_feature, display_tolerance
from members.decorators import force_admin_required, officer_required

from . import selectors, services
from .forms import AnswerForm, CameraForm, RequestForm, SearchForm
from .models import Camera, FootageAsk
from .permissions import REGISTER_ONLY_RESIDENTS, can_register_cameras
from .uploads import install_upload_handler

PER_PAGE = 25


def resident_required(view):
    """Anonymous visitors sign in first; officers are refused (403): these pages are for residents."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_register_cameras(member=request.user):
            raise PermissionDenied(REGISTER_ONLY_RESIDENTS)
        return view(request, *args, **kwargs)

    return wrapped


def _map_settings() -> dict[str, str]:
    return {"tile_url": settings.MAP_TILE_URL, "tile_attribution": settings.MAP_TILE_ATTRIBUTION}


def _apply_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: on its field if the form has it, else on the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- a resident's cameras


@resident_required
@require_http_methods(["GET"])
def camera_list(request: HttpRequest) -> HttpResponse:
    member = request.user
    return render(
        request,
        "cameras/mine.html",
        {
            "cameras": selectors.cameras_of(member=member),
            "due": selectors.cameras_due_confirmation(member=member).exists(),
            "awaiting": selectors.asks_of(member=member).filter(status=FootageAsk.Status.AWAITING).count(),
        },
    )


def _camera_form_page(request: HttpRequest, *, camera: Camera | None) -> HttpResponse:
    member = request.user
    if camera is None:
        initial = {"placement": Camera.Placement.HOME, "willing": True}
    else:
        initial = {f: getattr(camera, f) for f in services.CAMERA_FIELDS}
    form = CameraForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if camera is None:
                services.camera_register(member=member, data=form.cleaned_data)
                messages.success(request, "Your camera is registered. Thank you.")
            else:
                services.camera_update(member=member, camera=camera, data=form.cleaned_data)
                messages.success(request, "Your camera is saved.")
            return redirect("cameras:mine")
        except ValidationError as exc:
            _apply_errors(form, exc)
    if camera is not None:
        pin = (camera.latitude, camera.longitude)
    elif member.latitude is not None:
        pin = (member.latitude, member.longitude)
    else:
        pin = None
    return render(
        request,
        "cameras/camera_form.html",
        {"form": form, "camera": camera, "pin": pin, "map": _map_settings(), "home_known": member.latitude is not None},
        status=400 if form.errors else 200,
    )


@resident_required
@require_http_methods(["GET", "POST"])
def camera_register(request: HttpRequest) -> HttpResponse:
    return _camera_form_page(request, camera=None)


@resident_required
@require_http_methods(["GET", "POST"])
def camera_edit(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(selectors.cameras_of(member=request.user), pk=pk)
    return _camera_form_page(request, camera=camera)


@resident_required
@require_http_methods(["GET", "POST"])
def camera_remove(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(selectors.cameras_of(member=request.user), pk=pk)
    if request.method == "POST":
        services.camera_remove(member=request.user, camera=camera)
        messages.success(request, "The camera is removed from your cameras.")
        return redirect("cameras:mine")
    return render(request, "cameras/camera_remove.html", {"camera": camera})


@resident_required
@require_POST
def cameras_confirm(request: HttpRequest) -> HttpResponse:
    count = services.cameras_confirm(member=request.user)
    if count:
        messages.success(request, "Thank you: your cameras are confirmed for another year.")
    return redirect("cameras:mine")


# --- what a resident was asked


@resident_required
@require_http_methods(["GET"])
def ask_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.asks_of(member=request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cameras/asks.html", {"page": page, "today": timezone.localdate()})


@csrf_exempt  # the CSRF check runs in _ask_page, once the upload handler is in place (see below)
@require_http_methods(["GET", "POST"])
def ask_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One footage request put to the resident, and their answer (with an upload).

    The upload handler must be installed before anything reads the request body, and
    the CSRF check reads it: so CSRF is checked inside, after. An upload refused for its
    size before any of it was read (Content-Length over the limit) gets its 413 here,
    with no body read and so no token to check; nothing is changed by that answer.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_register_cameras(member=request.user):
        raise PermissionDenied(REGISTER_ONLY_RESIDENTS)
    handler = None
    if request.method == "POST":
        handler = install_upload_handler(request)
        request.POST  # noqa: B018  (parse now: the handler decides on the size as it streams)
        if handler.too_big and not request.POST:
            ask = get_object_or_404(selectors.asks_of(member=request.user), pk=pk)
            return _render_ask(request, ask, _refused_form(handler.refused), status=413)
    return _ask_page(request, pk, handler)


@csrf_protect
def _ask_page(request: HttpRequest, pk: int, handler) -> HttpResponse:
    ask = get_object_or_404(selectors.asks_of(member=request.user), pk=pk)
    if request.method != "POST":
        return _render_ask(request, ask, AnswerForm(initial={"share_contact": ask.shared_contact}))
    form = AnswerForm(request.POST, request.FILES)
    status = 400
    if handler.refused:
        form.add_error("file", handler.refused)
        status = 413 if handler.too_big else 400
    elif form.is_valid():
        try:
            evidence = services.footage_ask_answer(
                member=request.user,
                ask=ask,
                answer=form.cleaned_data["answer"],
                note=form.cleaned_data["note"],
                share_contact=form.cleaned_data["share_contact"],
                upload=request.FILES.get("file"),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if evidence is not None:
                messages.success(request, f"Thank you: your file is with {ask.request.organisation.name}.")
            else:
                messages.success(request, "Thank you for your answer.")
            return redirect("cameras:ask", pk=ask.pk)
    return _render_ask(request, ask, form, status=status)


def _refused_form(message: str) -> AnswerForm:
    """An answer form showing only why the upload was refused (nothing else was read)."""
    form = AnswerForm({})
    form.is_valid()
    form.errors.clear()
    form.add_error("file", message)
    return form


def _render_ask(request: HttpRequest, ask: FootageAsk, form: AnswerForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "cameras/ask.html",
        {"ask": ask, "form": form, "today": timezone.localdate(), "evidence": list(ask.evidence.all())},
        status=status,
    )


# --- the officer's search and requests


@officer_required
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """Search for cameras near an incident; every search is recorded with its incident reference."""
    officer = request.user
    form = SearchForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            found, _ = services.camera_search_create(officer=officer, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("cameras:search_detail", pk=found.pk)
    recent = Paginator(selectors.searches_visible_to(viewer=officer), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "cameras/search.html",
        {"form": form, "page": recent, "map": _map_settings(), "area_geojson": _territory_outline(officer)},
        status=400 if form.errors else 200,
    )


def _territory_outline(officer) -> dict:
    from groups.models import Area

    areas = list(Area.objects.filter(responsible_organisations=officer.organisation_id)[:20])
    tolerance = display_tolerance(areas)
    return {"type": "FeatureCollection", "features": [area_feature(a, tolerance=tolerance) for a in areas]}


@officer_required
@require_http_methods(["GET", "POST"])
def search_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A search's cameras on a map and in a list, and the footage request to their owners."""
    officer = request.user
    found = get_object_or_404(selectors.searches_visible_to(viewer=officer), pk=pk)
    hits = selectors.camera_search_results(search=found)
    form = RequestForm(request.POST if request.method == "POST" else None, hits=hits, search=found)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = services.footage_request_create(
                officer=officer,
                search=found,
                camera_ids=data["cameras"],
                window_start=data["window_start"],
                window_end=data["window_end"],
                location=data["location"],
                message=data["message"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            owners = sent.asks.values("owner_id").distinct().count()
            messages.success(request, f"Your request is on its way to {owners} owner{'s' if owners != 1 else ''}.")
            return redirect("cameras:request_detail", pk=sent.pk)
    return render(
        request,
        "cameras/search_detail.html",
        {
            "search": found,
            "hits": hits,
            "form": form,
            "map": _map_settings(),
            "hits_geojson": {
                "centre": [found.longitude, found.latitude],
                "radius": found.radius_m,
                "cameras": [h.as_dict() for h in hits],
            },
        },
        status=400 if form.errors else 200,
    )


@officer_required
@require_http_methods(["GET"])
def request_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.requests_visible_to(viewer=request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cameras/requests.html", {"page": page})


@officer_required
@require_http_methods(["GET"])
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    footage_request = get_object_or_404(selectors.requests_visible_to(viewer=request.user), pk=pk)
    return render(
        request,
        "cameras/request_detail.html",
        {"req": footage_request, "asks": selectors.request_asks(request=footage_request)},
    )


@officer_required
@require_http_methods(["GET"])
def custody_log(request: HttpRequest, pk: int) -> HttpResponse:
    footage_request = get_object_or_404(selectors.requests_visible_to(viewer=request.user), pk=pk)
    page = Paginator(selectors.custody_of(request=footage_request), 100).get_page(request.GET.get("page"))
    return render(request, "cameras/custody.html", {"req": footage_request, "page": page})


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (file names are the uploader's text)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@officer_required
@require_http_methods(["GET"])
def custody_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The chain of custody of a request's evidence, as CSV, for the case file."""
    footage_request = get_object_or_404(selectors.requests_visible_to(viewer=request.user), pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"custody-{footage_request.pk}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "incident_reference",
            "evidence_id",
            "file_name",
            "type",
            "size_bytes",
            "sha256",
            "from_erased_member",
            "action",
            "at",
            "by",
            "role",
            "organisation",
        ]
    )
    for entry in selectors.custody_of(request=footage_request).iterator(chunk_size=500):
        evidence = entry.evidence
        writer.writerow(
            [
                _cell(footage_request.incident_reference),
                evidence.uuid,
                _cell(evidence.original_name),
                evidence.content_type,
                evidence.size,
                evidence.sha256,
                "yes" if evidence.from_erased_member else "no",
                entry.action,
                timezone.localtime(entry.at).isoformat(),
                _cell(entry.actor_name),
                entry.actor_role,
                _cell(entry.organisation.name if entry.organisation else ""),
            ]
        )
    services.custody_exported(actor=request.user, request=footage_request)
    return response


@require_http_methods(["GET"])
def evidence_download(request: HttpRequest, uuid) -> HttpResponse:
    """Hand over a copy of a piece of evidence, recording who took it and when."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return evidence_file_response(request.user, uuid)


def evidence_file_response(member, uuid) -> FileResponse:
    """The evidence as a download (never shown inline), after the custody entry is written.

    Out of the member's scope, or gone from storage: 404."""
    evidence = get_object_or_404(selectors.evidence_visible_to(viewer=member), uuid=uuid)
    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file cannot be found in the evidence store.") from exc
    services.evidence_download_record(actor=member, evidence=evidence)
    filename = f"{_safe(evidence.ask.request.incident_reference)}-{evidence.uuid}.{evidence.extension}"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type="application/octet-stream")


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)[:60] or "evidence"


# --- coverage for force admins


@force_admin_required
@require_http_methods(["GET"])
def coverage(request: HttpRequest) -> HttpResponse:
    rows = selectors.coverage_by_ward(viewer=request.user)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    areas = [r.area for r in rows]
    tolerance = display_tolerance(areas)
    features = [
        area_feature(r.area, tolerance=tolerance, extra={"registered": r.registered, "findable": r.findable})
        for r in rows
    ]
    return render(
        request,
        "cameras/coverage.html",
        {
            "page": page,
            "total": sum(r.registered for r in rows),
            "total_findable": sum(r.findable for r in rows),
            "geojson": {"type": "FeatureCollection", "features": features},
            "map": _map_settings(),
        },
    )
