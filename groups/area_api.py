"""The areas part of the REST API, in GeoJSON: list and read areas, draw a custom one.

Areas are an officer tool: residents are refused (403) and an officer never sees
another organisation's custom areas (404, as if they did not exist). Who lives in an
area is only ever a count.

Also here: the GeoJSON the map pages embed (groups/area_views.py), so that the pages
and the API describe an area the same way.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView
from shapely.geometry import mapping

from members.models import Member
from members.permissions import IsOfficer

from .models import Area
from .selectors import areas_visible_to
from .services import area_draw

# --- reads and shapes shared with the pages

# Force, then districts, wards and custom areas: the order an officer thinks in.
LEVEL_RANK = Case(
    *(When(level=level, then=Value(rank)) for rank, level in enumerate(Area.Level.values)),
    output_field=IntegerField(),
)


def areas_for(*, viewer: Member, level: str | None = None, parent: Area | str | None = None) -> QuerySet[Area]:
    """The areas `viewer` may see, optionally of one level and inside one parent (an area or its code)."""
    areas = areas_visible_to(viewer=viewer)
    if level:
        areas = areas.filter(level=level)
    if isinstance(parent, Area):
        areas = areas.filter(parent=parent)
    elif parent:
        areas = areas.filter(parent__code=parent)
    return areas.annotate(level_rank=LEVEL_RANK).order_by("level_rank", "name", "pk")


def _rounded(coords: Any, places: int = 6) -> Any:
    """Coordinates to about 10 cm (six decimal places of a degree): plenty to draw."""
    if isinstance(coords, float):
        return round(coords, places)
    return [_rounded(c, places) for c in coords]


def area_geometry(area: Area, *, tolerance: float = 0.0) -> dict:
    """The area's GeoJSON geometry; simplified to `tolerance` degrees if above 0 (for drawing only)."""
    if tolerance <= 0:
        return area.geometry
    simple = mapping(area.shape.simplify(tolerance, preserve_topology=True))
    return {"type": simple["type"], "coordinates": _rounded(simple["coordinates"])}


def area_feature(area: Area, *, tolerance: float = 0.0, extra: dict | None = None) -> dict:
    """One area as a GeoJSON Feature (RFC 7946): its shape, bounding box and what officers need to know."""
    return {
        "type": "Feature",
        "id": area.pk,
        "bbox": [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
        "geometry": area_geometry(area, tolerance=tolerance),
        "properties": {
            "id": area.pk,
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "parent": area.parent.code if area.parent_id else None,
            "member_count": area.member_count,
            "members_computed_at": area.members_computed_at.isoformat() if area.members_computed_at else None,
            "is_synthetic": area.is_synthetic,
            **(extra or {}),
        },
    }


def display_tolerance(areas, *, pixels: int = 1000) -> float:
    """About one screen pixel, in degrees, for a map showing all of `areas` `pixels` wide."""
    areas = list(areas)
    if not areas:
        return 0.0
    width = max(a.max_lon for a in areas) - min(a.min_lon for a in areas)
    height = max(a.max_lat for a in areas) - min(a.min_lat for a in areas)
    return max(width, height) / pixels


# --- the API


class AreaPropertiesOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text="ONS code (e.g. E05005004), or a generated one for custom areas.")
    name = serializers.CharField()
    level = serializers.ChoiceField(choices=Area.Level.choices)
    parent = serializers.CharField(allow_null=True, help_text="The code of the area it lies in, if any.")
    member_count = serializers.IntegerField(help_text="How many members live in the area (a count, never who).")
    members_computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the count was last worked out; null while a new shape is being counted."
    )
    is_synthetic = serializers.BooleanField(help_text="Made up for the demo, not a real boundary.")


class AreaFeatureOutput(serializers.Serializer):
    """One area as a GeoJSON Feature (RFC 7946)."""

    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    bbox = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4, help_text="[west, south, east, north] in degrees."
    )
    geometry = serializers.JSONField(help_text="GeoJSON Polygon or MultiPolygon, WGS84 (longitude, latitude).")
    properties = AreaPropertiesOutput()

    def to_representation(self, instance: Area) -> dict:
        return area_feature(instance)


class AreaPagination(LimitOffsetPagination):
    """A GeoJSON FeatureCollection of at most `limit` areas (default 50, at most 200) from `offset`."""

    default_limit = 50
    max_limit = 200
    limit_query_description = "How many areas to return: 50 unless given, at most 200."
    offset_query_description = "How many areas to skip (for the next pages)."

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "type": "FeatureCollection",
                "count": self.count,
                "limit": self.limit,
                "offset": self.offset,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "features": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["type", "count", "limit", "offset", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer", "description": "How many areas match, in all pages."},
                "limit": {"type": "integer", "description": "At most this many features in this page."},
                "offset": {"type": "integer"},
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "features": schema,
            },
        }


class AreaFilter(filters.FilterSet):
    level = filters.ChoiceFilter(choices=Area.Level.choices, help_text="Only areas of this level.")
    parent = filters.CharFilter(
        field_name="parent__code", help_text="Only the areas directly inside the area with this code."
    )

    class Meta:
        model = Area
        fields = ["level", "parent"]


class AreaDrawInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="What officers will call it, e.g. 'Town centre'.")
    geometry = serializers.JSONField(
        help_text="GeoJSON Polygon or MultiPolygon, WGS84: [longitude, latitude] pairs, each ring closed."
    )
    parent = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Optional: the code of an area it lies in."
    )


# The answers other than success, for the API's description.
_DETAIL = {"detail": serializers.CharField()}
DENIED = OpenApiResponse(
    inline_serializer("AreaApiDenied", _DETAIL),
    description="Not logged in, or not an officer: residents may not use the areas API.",
)
NOT_FOUND = OpenApiResponse(
    inline_serializer("AreaApiNotFound", _DETAIL),
    description="No area with this id that you may see (another organisation's custom areas included).",
)
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="What is wrong, field by field: {field: [messages]}.")

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[0.51, 51.27], [0.53, 51.27], [0.53, 51.28], [0.51, 51.28], [0.51, 51.27]]],
}


class AreaListApi(GenericAPIView):
    """Areas you can see as a GeoJSON FeatureCollection (GET); draw a custom area (POST).

    Officers only. Fixed areas (force, districts, wards) are shared; custom areas are
    your organisation's own.
    """

    permission_classes = [IsOfficer]
    pagination_class = AreaPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = AreaFilter
    serializer_class = AreaFeatureOutput
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[Area]:
        return areas_for(viewer=self.request.user)

    @extend_schema(
        summary="List areas (GeoJSON)",
        responses={200: AreaFeatureOutput(many=True), 400: INVALID, 403: DENIED},
    )
    def get(self, request):
        areas = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(areas)
        return self.get_paginated_response(AreaFeatureOutput(page, many=True).data)

    @extend_schema(
        summary="Draw a custom area",
        request=AreaDrawInput,
        responses={
            201: AreaFeatureOutput,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The area cannot be drawn, and why, field by field: {field: [messages]}; "
                "a shape that is not a valid polygon says what is wrong with it under `geometry`.",
            ),
            403: DENIED,
        },
        examples=[
            OpenApiExample(
                "A square in Maidstone", value={"name": "Town centre", "geometry": SQUARE}, request_only=True
            )
        ],
    )
    def post(self, request):
        data = AreaDrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        parent = None
        if data.validated_data.get("parent"):
            parent = areas_visible_to(viewer=request.user).filter(code=data.validated_data["parent"]).first()
            if parent is None:
                raise serializers.ValidationError({"parent": ["No area you can see has this code."]})
        try:
            area = area_draw(
                actor=request.user,
                name=data.validated_data["name"],
                geometry=data.validated_data["geometry"],
                parent=parent,
            )
        except DjangoValidationError as exc:
            # A bad shape is a message about the geometry; other fields name themselves.
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"geometry": exc.messages}
            raise serializers.ValidationError(detail) from exc
        # Who lives there was counted when the drawing committed (at once where tasks run
        # eagerly; otherwise members_computed_at stays null until a worker has done it).
        area = areas_visible_to(viewer=request.user).get(pk=area.pk)
        location = reverse("api-area", kwargs={"pk": area.pk})
        return Response(AreaFeatureOutput(area).data, status=status.HTTP_201_CREATED, headers={"Location": location})


class AreaDetailApi(APIView):
    """One area you can see, as a GeoJSON Feature with its exact shape."""

    permission_classes = [IsOfficer]

    @extend_schema(summary="One area (GeoJSON)", responses={200: AreaFeatureOutput, 403: DENIED, 404: NOT_FOUND})
    def get(self, request, pk: int):
        area = get_object_or_404(areas_visible_to(viewer=request.user), pk=pk)
        return Response(AreaFeatureOutput(area).data)


# Included under /api/v1/ by mcv/urls.py.
urlpatterns = [
    path("areas/", AreaListApi.as_view(), name="api-areas"),
    path("areas/<int:pk>/", AreaDetailApi.as_view(), name="api-area"),
]
