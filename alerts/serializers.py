"""The shapes of alerts in the REST API (alerts/api.py): what goes in, what comes out.

Serializers here only read and shape: they check types and sizes so that a wrong
request is a 400 saying which field, and leave every rule about alerts (is it a draft,
is the audience inside the organisation's area, does it reach anyone) to services.py.

The shapes used by more than one endpoint live here under their own component names
in the OpenAPI schema (drf-spectacular names components after classes, so every
class that reaches the schema has a unique name).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from members.models import Interest
from notifications.audience import MAX_PARTS, MAX_RADIUS_METRES

from .models import Alert, AlertImage, AlertUpdate
from .rendering import MAX_LINKS
from .services import POLL_OPTION_MAX, POLL_OPTIONS_MAX, POLL_OPTIONS_MIN, POLL_QUESTION_MAX, poll_clean

EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)

# --- the audience


@extend_schema_field(
    {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
            "coordinates": {"type": "array", "items": {}},
        },
        "description": "GeoJSON Polygon or MultiPolygon, WGS84: [longitude, latitude] pairs, each ring closed.",
        "example": {
            "type": "Polygon",
            "coordinates": [[[0.51, 51.27], [0.53, 51.27], [0.53, 51.28], [0.51, 51.28], [0.51, 51.27]]],
        },
    }
)
class GeoJSONPolygonField(serializers.JSONField):
    """A drawn shape. Whether it is a valid polygon is for the audience check to say."""


class CircleSerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180, help_text="Longitude of the centre (WGS84).")
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text="Latitude of the centre (WGS84).")
    metres = serializers.FloatField(
        min_value=1, max_value=MAX_RADIUS_METRES, help_text=f"Radius in metres, 1 to {MAX_RADIUS_METRES:,}."
    )


class AudiencePartSerializer(serializers.Serializer):
    """Exactly one of: an area, a group, a drawn polygon, a circle."""

    area = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="An area's id (see /api/v1/areas/)."
    )
    group = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="A group's id: its active members."
    )
    polygon = GeoJSONPolygonField(required=False)
    radius = CircleSerializer(required=False, help_text="Everyone living within `metres` of the point.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError("Each part is exactly one of area, group, polygon or radius.")
        return attrs


class AudienceSerializer(serializers.Serializer):
    """Who a message is for: everyone in any `include` part and in no `exclude` part.

    Only residents opted in to your organisation with a verified email are ever reached;
    with `interest_only`, only those who chose the message's category.
    """

    include = AudiencePartSerializer(many=True, required=False, max_length=MAX_PARTS)
    exclude = AudiencePartSerializer(many=True, required=False, max_length=MAX_PARTS)
    interest_only = serializers.BooleanField(
        required=False, default=False, help_text="Only residents who chose this message's category."
    )


class AudiencePartOutput(serializers.Serializer):
    """One part of a stored audience. Besides what officers draw, the services also address
    named members and the recipients of an earlier message (an update's audience)."""

    area = serializers.IntegerField(max_value=2**63 - 1, required=False)
    group = serializers.IntegerField(max_value=2**63 - 1, required=False)
    polygon = GeoJSONPolygonField(required=False)
    radius = CircleSerializer(required=False)
    members = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, help_text="Members' ids."
    )
    dispatch = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="Whoever got this earlier message."
    )


class AudienceOutput(serializers.Serializer):
    """An alert's audience as stored: {} while a draft has none."""

    include = AudiencePartOutput(many=True, required=False)
    exclude = AudiencePartOutput(many=True, required=False)
    interest_only = serializers.BooleanField(required=False)


def audience_spec(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The validated audience as the plain spec the services take (None stays None)."""
    if data is None:
        return None

    def part(p: dict[str, Any]) -> dict[str, Any]:
        ((kind, value),) = p.items()
        return {kind: dict(value) if kind == "radius" else value}

    return {
        "include": [part(p) for p in data.get("include") or []],
        "exclude": [part(p) for p in data.get("exclude") or []],
        "interest_only": bool(data.get("interest_only", False)),
    }


class ChannelCountsOutput(serializers.Serializer):
    members = serializers.IntegerField(help_text="Residents reached on at least one channel.")
    inbox = serializers.IntegerField()
    email = serializers.IntegerField()
    sms = serializers.IntegerField()
    push = serializers.IntegerField()


class RecentMessagesOutput(serializers.Serializer):
    """How much this audience heard from your organisation lately, so an area is not flooded."""

    days = serializers.IntegerField(help_text="The period counted, in days (7).")
    dispatches = serializers.IntegerField(help_text="Your organisation's messages that reached anyone in it.")
    average = serializers.FloatField(help_text="Messages each resident of the audience had, on average.")
    most = serializers.IntegerField(help_text="The most any one of them had.")
    reached = serializers.IntegerField(help_text="How many of them had any.")
    sampled = serializers.BooleanField(
        default=False, help_text="Read from a random sample of a large audience, not every member of it."
    )


# --- alerts


class LinkSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=500, help_text="https:// or http:// only.")


class AlertImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    alt_text = serializers.CharField(help_text="What the picture shows.")
    content_type = serializers.ChoiceField(choices=list(AlertImage.EXTENSIONS))
    size = serializers.IntegerField(help_text="Bytes.")
    position = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="Where the picture is served, to whoever may see the alert.")

    def get_url(self, image: AlertImage) -> str:
        path = reverse("alerts:image", kwargs={"pk": image.alert_id, "image_pk": image.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AlertUpdateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AlertUpdate.Kind.choices)
    body = serializers.CharField()
    author = serializers.CharField(source="author.get_full_name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class DispatchSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="pending, fanning_out, sending, done or cancelled.")
    audience_size = serializers.IntegerField(help_text="Residents it reached on at least one channel.")
    send_at = serializers.DateTimeField(allow_null=True)


class AlertSummaryOutput(serializers.Serializer):
    """An alert in the officers' list: enough to pick it out, nothing heavy."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Alert.Kind.choices)
    category = serializers.ChoiceField(choices=Interest.choices)
    priority = serializers.IntegerField(min_value=1, max_value=5, help_text="1 is the most urgent, 5 the least.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Alert.Status.choices)
    is_public = serializers.BooleanField()
    scheduled_for = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    author = serializers.CharField(source="author.get_full_name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    audience_size = serializers.IntegerField(
        source="dispatch.audience_size", allow_null=True, default=None, help_text="Null until it is published."
    )


class AlertOutput(AlertSummaryOutput):
    """An alert in full, for its organisation's officers."""

    body_markdown = serializers.CharField(help_text="What the officer wrote, in Markdown.")
    body_html = serializers.CharField(help_text="The Markdown rendered and sanitised: what residents see.")
    links = LinkSerializer(many=True)
    event_starts_at = serializers.DateTimeField(allow_null=True)
    event_ends_at = serializers.DateTimeField(allow_null=True)
    event_place = serializers.CharField(allow_blank=True)
    audience = AudienceOutput(help_text="Empty ({}) while a draft has no audience yet.")
    withdrawn_reason = serializers.CharField(allow_blank=True)
    poll_question = serializers.CharField(allow_blank=True, help_text="The quick poll's question; blank: no poll.")
    poll_options = serializers.ListField(child=serializers.CharField(), help_text="The quick poll's answers.")
    updated_at = serializers.DateTimeField()
    web_url = serializers.SerializerMethodField(help_text="The alert's page, as residents see it.")
    images = AlertImageOutput(many=True)
    updates = AlertUpdateOutput(many=True)
    dispatch = DispatchSummaryOutput(allow_null=True, help_text="The message that took it out; null for a draft.")

    def get_web_url(self, alert: Alert) -> str:
        path = reverse("alerts:view", kwargs={"pk": alert.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AlertWriteSerializer(serializers.Serializer):
    """What an officer writes. Title and body may be sent blank: the service says what is missing."""

    kind = serializers.ChoiceField(choices=Alert.Kind.choices)
    category = serializers.ChoiceField(choices=Interest.choices, help_text="What it is about (an interest).")
    priority = serializers.IntegerField(min_value=1, max_value=5, help_text="1 is the most urgent, 5 the least.")
    title = serializers.CharField(max_length=200, allow_blank=True)
    body_markdown = serializers.CharField(max_length=20_000, allow_blank=True, help_text="Markdown.")
    audience = AudienceSerializer(
        required=False, allow_null=True, help_text="May be left out while drafting; needed to publish."
    )
    links = LinkSerializer(many=True, required=False, max_length=MAX_LINKS)
    event_starts_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Events: required.")
    event_ends_at = serializers.DateTimeField(required=False, allow_null=True)
    event_place = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Events: required.")
    is_public = serializers.BooleanField(
        required=False, help_text="Also shown on the public pages and in the Atom and CAP feeds."
    )
    poll_question = serializers.CharField(
        max_length=POLL_QUESTION_MAX,
        required=False,
        allow_blank=True,
        help_text="A quick poll sent with the alert: one question residents answer with one tap. "
        "Blank (with no poll_options): no poll.",
    )
    poll_options = serializers.ListField(
        child=serializers.CharField(max_length=POLL_OPTION_MAX),
        required=False,
        max_length=POLL_OPTIONS_MAX,
        help_text=f"The poll's {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} answers, all different: buttons in the app, "
        "a link each in the email. Needed with poll_question; [] with no poll.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A poll's parts are checked together (a question needs its answers), as the service will;
        # a partial change of only one part is left to the service, which knows the other.
        if "poll_question" in attrs and "poll_options" in attrs:
            try:
                poll_clean(question=attrs["poll_question"], options=attrs["poll_options"])
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _plausible(self, value: datetime | None) -> datetime | None:
        # An event of the community's, not of history: a typo'd year (0385, 9999) is refused
        # here rather than stored and shown back in local mean time.
        if value is not None and not (EARLIEST_EVENT <= value <= timezone.now() + timedelta(days=366 * 10)):
            raise serializers.ValidationError("Give a date between the year 2000 and ten years from now.")
        return value

    def validate_event_starts_at(self, value: datetime | None) -> datetime | None:
        return self._plausible(value)

    def validate_event_ends_at(self, value: datetime | None) -> datetime | None:
        return self._plausible(value)

    def to_service(self) -> dict[str, Any]:
        """The validated fields as the keyword arguments of alert_create / alert_edit."""
        data = dict(self.validated_data)
        if "audience" in data:
            data["audience"] = audience_spec(data["audience"]) or {}
        if "links" in data:
            data["links"] = [dict(link) for link in data["links"]]
        return data


# --- a resident's inbox


class OrganisationRefOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class InboxItemOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The message's id in your inbox.")
    subject = serializers.CharField(source="dispatch.subject")
    organisation = OrganisationRefOutput(source="dispatch.organisation", help_text="Who sent it.")
    category = serializers.CharField(source="dispatch.category", allow_blank=True, help_text="Blank: for everyone.")
    priority = serializers.IntegerField(source="dispatch.priority", help_text="1 is the most urgent, 5 the least.")
    url = serializers.CharField(source="dispatch.url", allow_blank=True, help_text="Its page, if it has one.")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True, help_text="When you opened it; null while unread.")


class InboxAlertOutput(serializers.Serializer):
    """The alert a message is about (or whose update it is)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Alert.Kind.choices)
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Alert.Status.choices)
    web_url = serializers.SerializerMethodField()

    def get_web_url(self, alert: Alert) -> str:
        path = reverse("alerts:view", kwargs={"pk": alert.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class InboxUpdateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AlertUpdate.Kind.choices)


class InboxGroupOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class InboxMessageOutput(InboxItemOutput):
    body_text = serializers.CharField(source="dispatch.body_text")
    body_html = serializers.CharField(
        allow_blank=True, help_text="Sanitised HTML (blank: show body_text with its line breaks)."
    )
    alert = InboxAlertOutput(allow_null=True, help_text="The alert it is, or is an update to; null otherwise.")
    update = InboxUpdateOutput(allow_null=True, help_text="Set when the message is an update to an alert.")
    group = InboxGroupOutput(allow_null=True, help_text="Set when it is a coordinator's message to a group.")
