"""Pages of the map: the areas officers target, drawing a custom area, and where a resident lives.

Every map is progressive enhancement over text that says the same: a table of the
areas, the corners of a shape in a text box, latitude and longitude fields. The map
itself is static/js/map.js over the vendored Leaflet; the page hands it its data in
`json_script` blocks and data- attributes (CSP allows no inline script).
"""

from __future__ import annotations

import json
import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from members.decorators import force_admin_required, officer_required
from members.models import Member

from .area_api import area_feature, areas_for, display_tolerance
from .models import Area
from .selectors import areas_visible_to
from .services import area_draw, member_location_set, organisation_areas_set, postcode_lookup

AREAS_PER_PAGE = 50
CHILDREN_SHOWN = 100
# Outlines drawn under a pin or a drawing, so that a map without tiles still shows where it is.
REFERENCE_LEVEL = Area.Level.DISTRICT
REFERENCE_LIMIT = 100


def _map_settings() -> dict[str, str]:
    """What map.js needs to know about tiles: none unless MAP_TILE_URL is set."""
    return {"tile_url": settings.MAP_TILE_URL, "tile_attribution": settings.MAP_TILE_ATTRIBUTION}


def _collection(areas, *, tolerance: float, **extra) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [area_feature(a, tolerance=tolerance, extra=extra) for a in areas],
    }


def _reference_areas(viewer: Member) -> list[Area]:
    return list(areas_for(viewer=viewer, level=REFERENCE_LEVEL)[:REFERENCE_LIMIT])


# --- the list of areas


class AreaFilterForm(forms.Form):
    level = forms.ChoiceField(label="Level", choices=[("", "Any level"), *Area.Level.choices], required=False)
    parent = forms.ModelChoiceField(
        label="Inside",
        queryset=Area.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="Anywhere",
    )

    def __init__(self, *args, viewer: Member, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only areas with something the viewer may see inside them: another organisation's
        # custom areas must not even show up as "this ward has children".
        visible = areas_visible_to(viewer=viewer)
        self.fields["parent"].queryset = areas_for(viewer=viewer).filter(Exists(visible.filter(parent=OuterRef("pk"))))


@officer_required
@require_http_methods(["GET"])
def area_list(request: HttpRequest) -> HttpResponse:
    """The areas this officer may target, filtered by level and parent, with how many live in each."""
    viewer = request.user
    form = AreaFilterForm(request.GET or None, viewer=viewer)
    level = parent = None
    if form.is_bound and form.is_valid():
        level, parent = form.cleaned_data["level"], form.cleaned_data["parent"]
    areas = areas_for(viewer=viewer, level=level, parent=parent)
    page = Paginator(areas, AREAS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "groups/areas/list.html",
        {
            "form": form,
            "page": page,
            "areas": rows,
            "filter_query": query.urlencode(),
            "geojson": _collection(rows, tolerance=display_tolerance(rows)),
            "map": _map_settings(),
        },
        status=400 if form.errors else 200,
    )


# --- one area


@officer_required
@require_http_methods(["GET"])
def area_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One area: where it sits (force, district, ward), what lies inside it, how many live there."""
    viewer = request.user
    area = get_object_or_404(areas_visible_to(viewer=viewer), pk=pk)
    ancestors = area.ancestors()
    visible_ids = set(
        areas_visible_to(viewer=viewer).filter(pk__in=[a.pk for a in ancestors]).values_list("pk", flat=True)
    )
    chain = [a for a in reversed(ancestors) if a.pk in visible_ids]
    children = list(areas_for(viewer=viewer, parent=area)[: CHILDREN_SHOWN + 1])
    more_children = len(children) > CHILDREN_SHOWN
    children = children[:CHILDREN_SHOWN]
    shape = area_feature(area, tolerance=display_tolerance([area], pixels=4000))
    return render(
        request,
        "groups/areas/detail.html",
        {
            "area": area,
            "chain": chain,
            "children": children,
            "more_children": more_children,
            "corners": _corner_count(area.geometry),
            "geojson": {"type": "FeatureCollection", "features": [shape]},
            "children_geojson": _collection(children, tolerance=display_tolerance([area]), role="child"),
            "map": _map_settings(),
        },
    )


def _corner_count(geometry: dict) -> int:
    """How many corners a Polygon or MultiPolygon has (closing points not counted twice)."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return sum(len(ring) - 1 for polygon in polygons for ring in polygon)


# --- drawing a custom area

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_LAT_LON_LINE = re.compile(rf"^\s*({_NUMBER})\s*[,;\s]\s*({_NUMBER})\s*$")


def shape_from_text(text: str) -> dict:
    """A GeoJSON geometry from what an officer typed or the map wrote: GeoJSON, or "lat, lon" lines.

    GeoJSON may be a geometry, a Feature, or a FeatureCollection of one Feature. Lines
    are corners in order, latitude first (as people in Britain read them), at least
    three; the ring is closed for them. Whether the shape is a valid polygon is the
    service's to judge; this only reads it.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError("Draw the area on the map, or type its corners.")
    if text.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"This is not valid GeoJSON: {exc.msg} (line {exc.lineno}).") from exc
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            features = data.get("features") or []
            if len(features) != 1:
                raise ValidationError(f"Give one shape, not a collection of {len(features)}.")
            data = features[0]
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry")
        if not isinstance(data, dict):
            raise ValidationError("This GeoJSON holds no shape.")
        return data
    corners = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LAT_LON_LINE.match(line)
        if not match:
            raise ValidationError(f'Line {number} is not "latitude, longitude", like "51.2720, 0.5230".')
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValidationError(
                f"Line {number}: latitude must be between -90 and 90 and longitude between -180 and 180."
            )
        corners.append([lon, lat])
    if len(corners) > 1 and corners[0] == corners[-1]:
        corners.pop()
    if len(corners) < 3:
        raise ValidationError(
            f"An area needs at least three corners; there {'is' if len(corners) == 1 else 'are'} {len(corners)}."
        )
    return {"type": "Polygon", "coordinates": [[*corners, corners[0]]]}


class AreaDrawForm(forms.Form):
    name = forms.CharField(
        label="Name of the area",
        max_length=200,
        help_text="What officers will call it, for example “High Street and station”.",
    )
    parent = forms.ModelChoiceField(
        label="Which area is it in? (optional)",
        queryset=Area.objects.none(),
        required=False,
        empty_label="None of these",
        help_text="The district or force area it lies in.",
    )
    shape = forms.CharField(
        label="Shape",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text=(
            "Draw it on the map, and its shape appears here. Or type its corners in order, one "
            "“latitude, longitude” per line, at least three (for example 51.2720, 0.5230), "
            "or paste a GeoJSON Polygon."
        ),
    )

    def __init__(self, *args, viewer: Member, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = areas_for(viewer=viewer).filter(
            level__in=[Area.Level.FORCE, Area.Level.DISTRICT]
        )

    def clean_shape(self) -> dict:
        return shape_from_text(self.cleaned_data["shape"])


# Where the model's (and service's) field names show up on the form.
_DRAW_FIELDS = {"name": "name", "parent": "parent", "geometry": "shape"}


@officer_required
@require_http_methods(["GET", "POST"])
def area_draw_page(request: HttpRequest) -> HttpResponse:
    """An officer draws a custom area (or types its corners), names it, and saves it for their organisation."""
    viewer = request.user
    form = AreaDrawForm(request.POST if request.method == "POST" else None, viewer=viewer)
    if form.is_bound and form.is_valid():
        try:
            area = area_draw(
                actor=viewer,
                name=form.cleaned_data["name"],
                geometry=form.cleaned_data["shape"],
                parent=form.cleaned_data["parent"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(_DRAW_FIELDS.get(field), errors)
            else:
                # The service's reason the shape is not a usable polygon.
                form.add_error("shape", exc.messages)
        else:
            messages.success(request, f"“{area.name}” is saved.")
            return redirect("areas:detail", pk=area.pk)
    return render(
        request,
        "groups/areas/draw.html",
        {
            "form": form,
            "reference_geojson": _collection(_reference_areas(viewer), tolerance=0.0005),
            "map": _map_settings(),
        },
        status=400 if form.errors else 200,
    )


# --- where a resident lives


class LocationForm(forms.Form):
    latitude = forms.FloatField(
        label="Latitude",
        min_value=-90,
        max_value=90,
        help_text="North–south, in degrees: for example 51.2720.",
        error_messages={
            "required": "Enter the latitude, or put a pin on the map.",
            "invalid": "Enter the latitude as a number, like 51.2720.",
            "min_value": "Latitude must be between -90 and 90.",
            "max_value": "Latitude must be between -90 and 90.",
        },
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "input-short"}),
    )
    longitude = forms.FloatField(
        label="Longitude",
        min_value=-180,
        max_value=180,
        help_text="East–west, in degrees (west of Greenwich is negative): for example 0.5230.",
        error_messages={
            "required": "Enter the longitude, or put a pin on the map.",
            "invalid": "Enter the longitude as a number, like 0.5230.",
            "min_value": "Longitude must be between -180 and 180.",
            "max_value": "Longitude must be between -180 and 180.",
        },
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "input-short"}),
    )


def _my_areas(member: Member) -> QuerySet[Area]:
    """The (fixed) areas the member lives in, biggest first. Custom areas are officers' business."""
    return areas_for(viewer=member).filter(memberships__member=member)


@login_required
@require_http_methods(["GET", "POST"])
def my_location(request: HttpRequest) -> HttpResponse:
    """Where a resident is placed: at their postcode, or at a pin they put on the map."""
    member = request.user
    if member.is_officer:
        raise PermissionDenied("Officers are not placed on the map; this page is for residents.")
    if request.method == "POST" and request.POST.get("action") == "postcode":
        member_location_set(member=member, postcode=member.postcode)
        if member.location_source == "postcode":
            messages.success(request, f"You are placed at your postcode, {member.postcode}.")
        else:
            messages.warning(request, "We do not know where your postcode is, so your pin stays where it was.")
        return redirect("areas:my_location")
    initial = {"latitude": member.latitude, "longitude": member.longitude} if member.longitude is not None else None
    form = LocationForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        try:
            member_location_set(
                member=member, longitude=form.cleaned_data["longitude"], latitude=form.cleaned_data["latitude"]
            )
        except ValidationError as exc:
            form.add_error("latitude", exc.messages)
        else:
            names = [a.name for a in _my_areas(member)]
            if names:
                messages.success(request, f"Your pin is saved. You are in {', '.join(names)}.")
            else:
                messages.warning(
                    request,
                    "Your pin is saved, but it is outside every area we cover, so you will not hear "
                    "about any area. Check the latitude and longitude.",
                )
            return redirect("areas:my_location")
    areas = list(_my_areas(member))
    postcode_known = postcode_lookup(member.postcode) is not None if member.postcode else False
    pin = [member.latitude, member.longitude] if member.longitude is not None else None
    return render(
        request,
        "groups/location.html",
        {
            "form": form,
            "member": member,
            "areas": areas,
            "postcode_known": postcode_known,
            "pin": pin,
            "reference_geojson": _collection(_reference_areas(member), tolerance=0.0005),
            "my_wards_geojson": _collection([a for a in areas if a.level == Area.Level.WARD], tolerance=0.0001),
            "map": _map_settings(),
        },
        status=400 if form.errors else 200,
    )


# --- the organisation's area of responsibility (force admins)


class ResponsibilityForm(forms.Form):
    areas = forms.ModelMultipleChoiceField(
        queryset=Area.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Areas your organisation covers",
        help_text="Officers can send messages, run surveys and search for cameras only inside these areas. "
        "Choose the force area, or the districts you cover.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["areas"].queryset = Area.objects.filter(
            level__in=[Area.Level.FORCE, Area.Level.DISTRICT]
        ).order_by("level", "name")


@force_admin_required
@require_http_methods(["GET", "POST"])
def responsibility(request: HttpRequest) -> HttpResponse:
    """Which force area or districts the force admin's organisation is responsible for."""
    organisation = request.user.organisation
    data = request.POST if request.method == "POST" else None
    form = ResponsibilityForm(data, initial={"areas": list(organisation.areas.all())})
    if request.method == "POST" and form.is_valid():
        organisation_areas_set(actor=request.user, areas=list(form.cleaned_data["areas"]))
        messages.success(request, "Your organisation's areas are saved.")
        return redirect("areas:responsibility")
    return render(
        request,
        "groups/areas/responsibility.html",
        {"form": form, "organisation": organisation, "current": organisation.areas.order_by("level", "name")},
        status=400 if form.errors else 200,
    )
