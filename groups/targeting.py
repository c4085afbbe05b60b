"""Who a message is for, as a form: the targeting alerts and surveys both ask an officer for.

An audience is any union of areas, groups, polygons and circles, some parts perhaps left
out (notifications.audience reads the spec). `TargetingForm` gives the area and group
boxes the organisation's choices, reads a typed polygon and the drawn shapes, checks a
typed circle is whole, and joins it all into the spec's include and exclude parts.

Each app declares the fields it offers with the factories below, under its own names
and in its own words (its templates, tests and saved pages know them): alerts offer
leaving parts out, shapes drawn on the map and narrowing by interest; surveys only send
to. Parts a form does not declare are simply absent from what it reads.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from core.ids import id_from
from notifications.audience import MAX_PARTS, MAX_RADIUS_METRES

from .area_views import shape_from_text
from .geometry import geometry_from_geojson
from .jurisdiction import organisation_areas
from .models import Area, CommunityGroup


class _IdChoiceField(forms.ModelMultipleChoiceField):
    """Ids that could never be a row (not a whole number, beyond 64 bits) are an invalid
    choice before any query: the database would otherwise overflow on them."""

    def _check_values(self, value):
        for pk in value:
            if id_from(str(pk)) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class AreaChoiceField(_IdChoiceField):
    """Areas to tick, each named with its level and (`member_counts`) how many live there."""

    def __init__(self, *args, member_counts: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member_counts = member_counts

    def label_from_instance(self, area: Area) -> str:
        level = area.get_level_display().lower()
        if self.member_counts:
            return f"{area.name} ({level}, {area.member_count:,} living there)"
        return f"{area.name} ({level})"


class GroupChoiceField(_IdChoiceField):
    """Groups to tick, each named with (`kinds`) its kind."""

    def __init__(self, *args, kinds: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = kinds

    def label_from_instance(self, group: CommunityGroup) -> str:
        return f"{group.name} ({group.get_kind_display().lower()})" if self.kinds else str(group)


class PolygonField(forms.CharField):
    """A polygon typed as its corners ("latitude, longitude" a line) or pasted as GeoJSON,
    cleaned to a GeoJSON geometry (None when empty); why it cannot be read goes on the field."""

    def clean(self, value: Any) -> dict | None:
        text = super().clean(value)
        return shape_from_text(text) if text.strip() else None


# --- the fields, worded by each app


def _choices(model: type, label: str, help_text: str) -> dict[str, Any]:
    """What every box of areas or groups has: none to tick until the form knows the organisation."""
    queryset = model.objects.none()
    return {"label": label, "help_text": help_text, "queryset": queryset, "required": False}


def area_choices(label: str, help_text: str = "", *, member_counts: bool = True) -> AreaChoiceField:
    options = _choices(Area, label, help_text)
    return AreaChoiceField(widget=forms.CheckboxSelectMultiple, member_counts=member_counts, **options)


def group_choices(label: str, help_text: str = "", *, kinds: bool = True) -> GroupChoiceField:
    options = _choices(CommunityGroup, label, help_text)
    return GroupChoiceField(widget=forms.CheckboxSelectMultiple, kinds=kinds, **options)


def polygon_field(label: str, help_text: str) -> PolygonField:
    return PolygonField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text=help_text,
    )


def _coordinate_field(label: str, help_text: str, limit: int) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        required=False,
        min_value=-limit,
        max_value=limit,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "input-short"}),
        help_text=help_text,
    )


def latitude_field(label: str, help_text: str = "") -> forms.FloatField:
    return _coordinate_field(label, help_text, 90)


def longitude_field(label: str, help_text: str = "") -> forms.FloatField:
    return _coordinate_field(label, help_text, 180)


def radius_field(label: str, *, min_value: int, widget: forms.Widget) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=min_value, max_value=MAX_RADIUS_METRES, widget=widget
    )


# --- what may be targeted, and what was drawn


def targetable_areas(*, organisation_id: int, with_force: bool = True) -> QuerySet[Area]:
    """The areas an officer may send to: the organisation's own, those inside them, its custom areas
    (`with_force`: the force's whole area among them)."""
    areas = organisation_areas(organisation=organisation_id)
    if not with_force:
        areas = areas.exclude(level=Area.Level.FORCE)
    return areas.order_by("level", "name")


def targetable_groups(*, organisation_id: int) -> QuerySet[CommunityGroup]:
    return CommunityGroup.objects.filter(organisation_id=organisation_id).order_by("name")


def shapes_clean(text: str) -> list[dict[str, Any]]:
    """The map's shapes: a JSON list of {"polygon": GeoJSON} or {"radius": {lon, lat, metres}}, each with "exclude"."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("The shapes drawn on the map could not be read. Draw them again.") from exc
    if not isinstance(data, list) or len(data) > MAX_PARTS:
        raise ValidationError(f"Draw at most {MAX_PARTS} shapes.")
    shapes = []
    for item in data:
        if not isinstance(item, dict):
            raise ValidationError("The shapes drawn on the map could not be read. Draw them again.")
        exclude = bool(item.get("exclude"))
        if "polygon" in item:
            geometry_from_geojson(item["polygon"])
            shapes.append({"polygon": item["polygon"], "exclude": exclude})
        elif "radius" in item:
            circle = item["radius"]
            try:
                lon, lat, metres = (float(circle[k]) for k in ("lon", "lat", "metres"))
            except (TypeError, KeyError, ValueError) as exc:
                raise ValidationError("A circle drawn on the map has no centre or radius.") from exc
            shapes.append({"radius": {"lon": lon, "lat": lat, "metres": metres}, "exclude": exclude})
        else:
            raise ValidationError("The shapes drawn on the map could not be read. Draw them again.")
    return shapes


class TargetingForm(forms.Form):
    """The targeting part of a form: subclasses declare the fields, this reads them.

    Fields it knows by name when a subclass declares them: `areas`, `groups` and their
    `exclude_areas`, `exclude_groups`; `shapes` (the map's JSON, see shapes_clean) and
    `clear_shapes`; the typed polygon named by POLYGON (a PolygonField) and its
    "<POLYGON>_exclude"; the typed circle's latitude, longitude and radius named by
    CIRCLE, and `circle_exclude`.
    """

    POLYGON: str
    CIRCLE: tuple[str, str, str]
    # What a circle with only some of its three fields is told, and where: on each field
    # left empty, or (CIRCLE_INCOMPLETE_ON_FORM) once above the form.
    CIRCLE_INCOMPLETE: str
    CIRCLE_INCOMPLETE_ON_FORM = False
    # Whether the force's whole area is among the areas to tick.
    WITH_FORCE_AREA = True

    def __init__(self, *args, organisation_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        areas = targetable_areas(organisation_id=organisation_id, with_force=self.WITH_FORCE_AREA)
        groups = targetable_groups(organisation_id=organisation_id)
        choices = {"areas": areas, "exclude_areas": areas, "groups": groups, "exclude_groups": groups}
        for name, queryset in choices.items():
            if name in self.fields:
                self.fields[name].queryset = queryset

    def clean_shapes(self) -> list[dict[str, Any]]:
        return shapes_clean(self.cleaned_data.get("shapes", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        circle = [cleaned.get(name) for name in self.CIRCLE]
        if any(v is not None for v in circle) and not all(v is not None for v in circle):
            if self.CIRCLE_INCOMPLETE_ON_FORM:
                raise ValidationError(self.CIRCLE_INCOMPLETE)
            for name, value in zip(self.CIRCLE, circle, strict=True):
                if value is None and name not in self.errors:
                    self.add_error(name, self.CIRCLE_INCOMPLETE)
        return cleaned

    def audience_parts(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """What was chosen, as the spec's include and exclude parts (call after is_valid)."""
        data = self.cleaned_data
        include: list[dict[str, Any]] = []
        exclude: list[dict[str, Any]] = []
        include += [{"area": a.pk} for a in data.get("areas") or []]
        exclude += [{"area": a.pk} for a in data.get("exclude_areas") or []]
        include += [{"group": g.pk} for g in data.get("groups") or []]
        exclude += [{"group": g.pk} for g in data.get("exclude_groups") or []]
        if not data.get("clear_shapes"):
            for shape in data.get("shapes") or []:
                part = {k: v for k, v in shape.items() if k != "exclude"}
                (exclude if shape["exclude"] else include).append(part)
        if data.get(self.POLYGON):
            left_out = data.get(f"{self.POLYGON}_exclude")
            (exclude if left_out else include).append({"polygon": data[self.POLYGON]})
        lat, lon, metres = (data.get(name) for name in self.CIRCLE)
        if metres is not None and lat is not None:
            part = {"radius": {"lon": lon, "lat": lat, "metres": metres}}
            (exclude if data.get("circle_exclude") else include).append(part)
        return include, exclude


__all__ = [
    "AreaChoiceField",
    "GroupChoiceField",
    "PolygonField",
    "TargetingForm",
    "area_choices",
    "group_choices",
    "latitude_field",
    "longitude_field",
    "polygon_field",
    "radius_field",
    "shapes_clean",
    "targetable_areas",
    "targetable_groups",
]
