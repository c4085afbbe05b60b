"""Pages of alerts: officers compose, check the audience, preview, publish and follow up;
residents and visitors read alerts; coordinators message their own group.

Thin: each view reads through a selector scoped to the member asking (out of scope
is a 404), hands the work to a service, and shows a service's refusal on the form
it is about (status 400) without losing what was typed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from groups.area_api import area_feature, areas_for
from groups.jurisdiction import territory_bbox
from groups.models import Area
from groups.selectors import groups_visible_to
from members.decorators import officer_required
from members.models import Interest
from notifications.audience import audience_size_by_channel
from notifications.channels import PRIORITY_LABELS, sms_text
from notifications.models import Dispatch

from . import selectors, services
from .forms import (
    AlertFilterForm,
    AlertForm,
    AudienceForm,
    GroupMessageForm,
    ImageForm,
    ScheduleForm,
    UpdateForm,
    WithdrawForm,
    form_errors_from,
    shapes_clean,
)
from .models import Alert, AlertImage
from .permissions import can_message_group

ALERTS_PER_PAGE = 25
REFERENCE_LIMIT = 100


# --- the audience, counted as the officer targets


def _audience_summary(
    *, organisation_id: int, spec: dict[str, Any], category: str, priority: int, with_recent: bool = True
) -> dict[str, Any]:
    """Counts per channel and (`with_recent`) the last week's messages for an audience; or why it
    cannot be sent to. The live count leaves the week's messages out: it runs on every change,
    and they are shown before publishing (bench/alerts_audience.py has both timings)."""
    if not spec.get("include"):
        return {"empty_choice": True}
    try:
        spec = services.audience_check(organisation=organisation_id, spec=spec)
    except ValidationError as exc:
        return {"error": " ".join(exc.messages)}
    counts = audience_size_by_channel(spec=spec, organisation=organisation_id, category=category, priority=priority)
    recent = (
        selectors.audience_recent_messages(
            organisation=organisation_id, spec=spec, category=category, audience_members=counts["members"]
        )
        if counts["members"] and with_recent
        else None
    )
    return {"counts": counts, "recent": recent}


def _category_priority(data) -> tuple[str, int]:
    category = data.get("category", "")
    category = category if category in Interest.values else ""
    try:
        priority = int(data.get("priority", 3))
    except (TypeError, ValueError):
        priority = 3
    return category, min(max(priority, 1), 5)


@officer_required
@require_POST
def audience_count(request: HttpRequest) -> HttpResponse:
    """The live count (htmx): the compose form's targeting in, the audience per channel out."""
    form = AudienceForm(request.POST, organisation_id=request.user.organisation_id)
    category, priority = _category_priority(request.POST)
    if form.is_valid():
        summary = _audience_summary(
            organisation_id=request.user.organisation_id,
            spec=form.audience_spec(),
            category=category,
            priority=priority,
            with_recent=False,
        )
    else:
        summary = {"error": " ".join(e for errors in form.errors.values() for e in errors)}
    return render(request, "alerts/_audience.html", {"audience": summary})


# --- composing


def _map_context(request: HttpRequest) -> dict[str, Any]:
    """What the compose page's map needs: reference outlines and where the organisation is."""
    viewer = request.user
    reference = list(areas_for(viewer=viewer, level=Area.Level.DISTRICT)[:REFERENCE_LIMIT])
    bbox = territory_bbox(organisation=viewer.organisation_id)
    return {
        "reference_geojson": {
            "type": "FeatureCollection",
            "features": [area_feature(a, tolerance=0.0005) for a in reference],
        },
        "territory_bbox": list(bbox) if bbox else None,
        "map": {"tile_url": settings.MAP_TILE_URL, "tile_attribution": settings.MAP_TILE_ATTRIBUTION},
    }


def _shapes_described(form: AlertForm) -> list[str]:
    """The drawn shapes in words, for the list under the map (which the script then takes over)."""
    if form.is_bound:
        if form.data.get("clear_shapes"):
            return []
        raw = form.data.get("shapes", "")
    else:
        raw = form.initial.get("shapes", "")
    try:
        shapes = shapes_clean(raw)
    except ValidationError:
        return []
    return [f"{selectors.shape_words(s)}: {'left out' if s['exclude'] else 'sent to'}" for s in shapes]


def _compose_page(request: HttpRequest, form: AlertForm, *, alert: Alert | None, audience=None, status=200):
    return render(
        request,
        "alerts/compose.html",
        {
            "form": form,
            "alert": alert,
            "audience": audience,
            "shapes": _shapes_described(form),
            **_map_context(request),
        },
        status=400 if form.errors else status,
    )


def _compose(request: HttpRequest, alert: Alert | None) -> HttpResponse:
    """The compose form for a new alert or a draft: check the audience, or save."""
    org_id = request.user.organisation_id
    if request.method != "POST":
        initial = AlertForm.initial_from_alert(alert) if alert else {"priority": 3, "kind": Alert.Kind.ALERT}
        return _compose_page(request, AlertForm(initial=initial, organisation_id=org_id), alert=alert)
    checking = request.POST.get("action") == "check"
    form = AlertForm(request.POST, organisation_id=org_id, check_only=checking)
    if not form.is_valid():
        return _compose_page(request, form, alert=alert)
    if checking:
        category, priority = _category_priority(request.POST)
        audience = _audience_summary(
            organisation_id=org_id, spec=form.audience_spec(), category=category, priority=priority
        )
        return _compose_page(request, form, alert=alert, audience=audience)
    try:
        if alert is None:
            alert = services.alert_create(actor=request.user, **form.alert_fields())
        else:
            alert = services.alert_edit(actor=request.user, alert=alert, **form.alert_fields())
    except ValidationError as exc:
        form_errors_from(form, exc, AlertForm.SERVICE_FIELDS)
        return _compose_page(request, form, alert=alert)
    messages.success(request, f"“{alert.title}” is saved as a draft. Nothing has been sent yet.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_http_methods(["GET", "POST"])
def alert_create(request: HttpRequest) -> HttpResponse:
    """An officer writes a new alert and chooses who it is for; it is saved as a draft."""
    return _compose(request, None)


def _officer_alert(request: HttpRequest, pk: int) -> Alert:
    try:
        return selectors.alert_get_for_officer(viewer=request.user, pk=pk)
    except Alert.DoesNotExist as exc:
        raise Http404("No such alert.") from exc


@officer_required
@require_http_methods(["GET", "POST"])
def alert_edit(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    if alert.status != Alert.Status.DRAFT:
        messages.error(request, "Only a draft can be changed. Send an update instead.")
        return redirect("alerts:detail", pk=alert.pk)
    return _compose(request, alert)


# --- an officer's list and one alert


@officer_required
@require_safe
def alert_list(request: HttpRequest) -> HttpResponse:
    """The organisation's alerts, filtered, each with its reach; a constant number of queries."""
    form = AlertFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    alerts = selectors.alerts_for_officer(
        viewer=request.user,
        status=filters.get("status", ""),
        kind=filters.get("kind", ""),
        category=filters.get("category", ""),
        search=filters.get("q", ""),
    )
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page)
    reach = selectors.alerts_reach(alerts=rows)
    return render(
        request,
        "alerts/list.html",
        {
            "form": form,
            "page": page,
            "rows": [(alert, reach[alert.pk]) for alert in rows],
            "filtered": bool(filters and any(filters.values())),
        },
        status=400 if form.errors else 200,
    )


def _detail_page(request: HttpRequest, alert: Alert, *, status: int = 200, **forms: Any) -> HttpResponse:
    context: dict[str, Any] = {"alert": alert, "errors": forms.pop("errors", None)}
    if alert.status == Alert.Status.DRAFT:
        context["audience"] = _audience_summary(
            organisation_id=alert.organisation_id,
            spec=alert.audience or {},
            category=alert.category,
            priority=alert.priority,
        )
        context["image_form"] = forms.get("image_form") or ImageForm()
        context["schedule_form"] = forms.get("schedule_form") or ScheduleForm()
    if alert.status == Alert.Status.PUBLISHED or (alert.status == Alert.Status.SCHEDULED and alert.is_live):
        context["update_form"] = forms.get("update_form") or UpdateForm()
        context["withdraw_form"] = forms.get("withdraw_form") or WithdrawForm()
    reach = selectors.alert_reach_detail(alert=alert) if alert.dispatch_id else None
    context["reach"] = reach
    context["updates"] = [(u, reach["updates"].get(u.pk) if reach else None) for u in alert.updates.all()]
    context["audience_words"] = selectors.audience_describe(spec=alert.audience, organisation_id=alert.organisation_id)
    context["max_image_mb"] = settings.ALERT_IMAGE_MAX_BYTES // (1024 * 1024)
    # A form this alert no longer shows (an update sent to a draft): its errors go at the top.
    for name, form in forms.items():
        if name not in context and form.errors:
            context["errors"] = [*(context["errors"] or []), *(e for es in form.errors.values() for e in es)]
    return render(request, "alerts/detail.html", context, status=status)


@officer_required
@require_safe
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One alert for the officers of its organisation: what it says, who it is for, what to do
    next; once out, its reach per channel, reads, replies and rating, and its updates."""
    return _detail_page(request, _officer_alert(request, pk))


def _refused(request: HttpRequest, alert: Alert, exc: ValidationError, **forms: Any) -> HttpResponse:
    alert = _officer_alert(request, alert.pk)  # fresh: the service's transaction rolled back
    if forms:
        form = next(iter(forms.values()))
        form_errors_from(form, exc)
        return _detail_page(request, alert, status=400, **forms)
    return _detail_page(request, alert, status=400, errors=exc.messages)


@officer_required
@require_POST
def alert_publish(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    try:
        services.alert_publish(actor=request.user, alert=alert)
    except ValidationError as exc:
        return _refused(request, alert, exc)
    messages.success(request, f"“{alert.title}” is published and going out now.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_POST
def alert_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, alert, status=400, schedule_form=form)
    try:
        services.alert_schedule(actor=request.user, alert=alert, send_at=form.cleaned_data["send_at"])
    except ValidationError as exc:
        return _refused(request, alert, exc, schedule_form=form)
    messages.success(request, f"“{alert.title}” will go out at {form.cleaned_data['send_at']:%H:%M on %d %B %Y}.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_POST
def alert_unschedule(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    try:
        services.alert_unschedule(actor=request.user, alert=alert)
    except ValidationError as exc:
        return _refused(request, alert, exc)
    messages.success(request, "The schedule is cancelled. The alert is a draft again; nothing was sent.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_POST
def alert_update(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    form = UpdateForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, alert, status=400, update_form=form)
    try:
        update = services.alert_update_send(actor=request.user, alert=alert, **form.cleaned_data)
    except ValidationError as exc:
        return _refused(request, alert, exc, update_form=form)
    messages.success(request, f"Your {update.get_kind_display().lower()} is going out to everyone who got the alert.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_POST
def alert_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, alert, status=400, withdraw_form=form)
    try:
        services.alert_withdraw(actor=request.user, alert=alert, **form.cleaned_data)
    except ValidationError as exc:
        return _refused(request, alert, exc, withdraw_form=form)
    messages.success(request, "The alert is withdrawn. Nothing more of it will be sent.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_POST
def alert_delete(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    try:
        services.alert_delete(actor=request.user, alert=alert)
    except ValidationError as exc:
        return _refused(request, alert, exc)
    messages.success(request, f"The draft “{alert.title}” is deleted.")
    return redirect("alerts:list")


@officer_required
@require_POST
def image_add(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    form = ImageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(request, alert, status=400, image_form=form)
    try:
        services.alert_image_add(
            actor=request.user, alert=alert, upload=form.cleaned_data["file"], alt_text=form.cleaned_data["alt_text"]
        )
    except ValidationError as exc:
        return _refused(request, alert, exc, image_form=form)
    messages.success(request, "The picture is added.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_POST
def image_remove(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    alert = _officer_alert(request, pk)
    try:
        services.alert_image_remove(actor=request.user, alert=alert, image_id=image_pk)
    except AlertImage.DoesNotExist as exc:
        raise Http404("No such picture.") from exc
    except ValidationError as exc:
        return _refused(request, alert, exc)
    messages.success(request, "The picture is removed.")
    return redirect("alerts:detail", pk=alert.pk)


@officer_required
@require_safe
def alert_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The alert as residents will get it: in the app, by email and by text message."""
    alert = _officer_alert(request, pk)
    content = services.alert_dispatch_content(alert=alert)
    dispatch = alert.dispatch or Dispatch(
        organisation=alert.organisation, priority=alert.priority, category=alert.category, **content
    )
    email_context = {
        "dispatch": dispatch,
        "organisation": alert.organisation,
        "priority_label": PRIORITY_LABELS.get(alert.priority, ""),
        "member_name": "Alex",
        "preferences_url": settings.SITE_URL.rstrip("/") + "/me/preferences/…",
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        # Each resident's email carries links signed for them; the preview shows where they go.
        "personal_block": "\n".join(
            [
                alert.poll_question,
                *(f"{option}: (a one-tap link of the resident's own)" for option in alert.poll_options),
            ]
        )
        if alert.poll_question
        else "",
    }
    return render(
        request,
        "alerts/preview.html",
        {
            "alert": alert,
            "dispatch": dispatch,
            "about": {"alert": alert},
            "email_subject": " ".join(
                render_to_string("notifications/email/dispatch_subject.txt", email_context).split()
            ),
            "email_text": render_to_string("notifications/email/dispatch_message.txt", email_context),
            "sms": sms_text(dispatch),
        },
    )


# --- residents and the public


@require_safe
def public_list(request: HttpRequest) -> HttpResponse:
    """Public alerts, appeals, news and events, newest first: anyone may read them."""
    page = Paginator(selectors.alerts_public(), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "alerts/public_list.html", {"page": page})


def _viewable(request: HttpRequest, pk: int):
    """(alert, the viewer's own copy) or, for a visitor who may need to sign in, None."""
    try:
        return selectors.alert_get_for_viewer(viewer=request.user, pk=pk)
    except Alert.DoesNotExist:
        # A visitor is sent to sign in rather than told: the link in an email is for a
        # resident who may simply be signed out, and whether it exists is not theirs to learn.
        if not request.user.is_authenticated:
            return None
        raise Http404("No such alert.") from None


@require_safe
def alert_page(request: HttpRequest, pk: int) -> HttpResponse:
    """An alert as residents see it (the link in every message): public ones to anyone, others
    to the residents who got them and their organisation's officers. Updates follow it."""
    found = _viewable(request, pk)
    if found is None:
        return redirect_to_login(request.get_full_path())
    alert, copy = found
    # Only the alert's own organisation manages it; another force's officer reads it as anyone would.
    staff = (
        request.user.is_authenticated
        and request.user.is_officer
        and request.user.organisation_id == alert.organisation_id
    )
    return render(request, "alerts/page.html", {"alert": alert, "copy": copy, "is_staff_view": staff})


@require_safe
def alert_image(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    """A picture of an alert, to whoever may see the alert."""
    found = _viewable(request, pk)
    if found is None:
        return redirect_to_login(request.get_full_path())
    alert, _copy = found
    image = get_object_or_404(alert.images.all(), pk=image_pk)
    # Read whole: pictures are at most ALERT_IMAGE_MAX_BYTES (5 MB), and the storage may be remote.
    with image.file.open("rb") as picture:
        response = HttpResponse(picture.read(), content_type=image.content_type)
    response["Content-Disposition"] = "inline"
    # Public pictures may be cached anywhere; others only by the browser that may see them.
    # Shared caches only for a picture anyone may see: a withdrawn alert's are for its recipients.
    shared = alert.is_public and alert.status != Alert.Status.WITHDRAWN
    response["Cache-Control"] = "public, max-age=3600" if shared else "private, max-age=3600"
    return response


# --- coordinators


def _coordinated(request: HttpRequest, slug: str):
    group = get_object_or_404(groups_visible_to(viewer=request.user), slug=slug)
    if not can_message_group(member=request.user, group=group):
        raise PermissionDenied("Only this group's coordinators can message it.")
    return group


@login_required
@require_safe
def group_list(request: HttpRequest) -> HttpResponse:
    """The groups a coordinator may message."""
    groups = list(selectors.groups_coordinated_by(member=request.user))
    if not groups:
        raise PermissionDenied("You do not coordinate any group.")
    return render(request, "alerts/group_list.html", {"groups": groups})


@login_required
@require_http_methods(["GET", "POST"])
def group_messages(request: HttpRequest, slug: str) -> HttpResponse:
    """A coordinator messages their own group (and only it), and sees what the group was sent before."""
    group = _coordinated(request, slug)
    form = GroupMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.group_message_send(actor=request.user, group=group, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Your message is going out to the members of {group.name}.")
            return redirect("alerts:group_messages", slug=group.slug)
    page = Paginator(selectors.group_messages_of(group=group), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "alerts/group_messages.html",
        {
            "group": group,
            "form": form,
            "page": page,
            "sent_today": services.group_message_count_today(group=group),
            "daily_limit": settings.ALERT_GROUP_MESSAGES_PER_DAY,
        },
        status=400 if form.errors else 200,
    )
