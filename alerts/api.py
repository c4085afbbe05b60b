"""The alerts part of the REST API: officers write, target, publish and follow up alerts;
coordinators message their group; residents read their inbox.

One view per workflow, each with its inner InputSerializer / OutputSerializer. Views are
thin: they read through a selector scoped to the member asking (another organisation's
alert is a 404, as if it did not exist), hand the work to alerts.services, and let
mcv/api.py turn a service's ValidationError into a 400 naming the field and its
PermissionDenied into a 403. JSON only, except the picture upload (multipart).

Who may do what:

| who | may |
| --- | --- |
| officers, force admins (with MFA) | everything under `alerts/`, for their own organisation's alerts only |
| a group's active coordinators | read and send `groups/<slug>/messages/` for that group only |
| every member | read their own `inbox/` (officers have none) |
"""

from __future__ import annotations

from typing import Any

import nh3
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from groups.models import CommunityGroup
from groups.selectors import groups_visible_to
from members.models import Interest
from members.permissions import IsOfficer
from notifications import selectors as inbox_selectors
from notifications.audience import audience_size_by_channel
from notifications.models import Delivery
from notifications.services import delivery_mark_read

from . import selectors, services
from .models import Alert, AlertImage, AlertUpdate
from .permissions import can_message_group
from .serializers import (
    AlertImageOutput,
    AlertOutput,
    AlertSummaryOutput,
    AlertUpdateOutput,
    AlertWriteSerializer,
    AudienceSerializer,
    ChannelCountsOutput,
    InboxItemOutput,
    InboxMessageOutput,
    RecentMessagesOutput,
    audience_spec,
)

# The answers other than success that the schema's defaults (mcv/schema.py) do not cover.
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="What is wrong, field by field: {field: [messages]}.")
REFUSED = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Refused, and why: {field or `detail`: [messages]} (e.g. not a draft, or the audience reaches "
    "nobody). Nothing was changed.",
)


def _named(name: str):
    """Give an inner serializer its own component name in the schema (they are all called
    InputSerializer / OutputSerializer, and drf-spectacular names components after classes)."""
    return extend_schema_serializer(component_name=name)


def _officer_alert(request, pk: int) -> Alert:
    """One of the officer's organisation's alerts, or a 404 (another's is not found, not forbidden)."""
    try:
        return selectors.alert_get_for_officer(viewer=request.user, pk=pk)
    except Alert.DoesNotExist:
        raise exceptions.NotFound("No such alert in your organisation.") from None


def _alert_out(request, pk: int) -> dict[str, Any]:
    """The alert as it is now (after a service changed it), for the answer."""
    return AlertOutput(_officer_alert(request, pk), context={"request": request}).data


# --- officers: the list, writing a draft


class AlertListApi(GenericAPIView):
    """Your organisation's alerts, newest first (GET, paginated, filtered); write a new draft (POST).

    A draft sends nothing. Give it an audience, then publish or schedule it.
    """

    permission_classes = [IsOfficer]

    @_named("AlertFilter")
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Alert.Status.choices, required=False, help_text="Only this status.")
        kind = serializers.ChoiceField(choices=Alert.Kind.choices, required=False, help_text="Only this kind.")
        category = serializers.ChoiceField(choices=Interest.choices, required=False, help_text="Only this category.")
        priority = serializers.IntegerField(min_value=1, max_value=5, required=False, help_text="Only this priority.")
        search = serializers.CharField(max_length=200, required=False, help_text="Words in the title.")

    InputSerializer = AlertWriteSerializer
    OutputSerializer = AlertOutput

    def get_queryset(self):
        return selectors.alerts_for_officer(viewer=self.request.user)

    @extend_schema(
        summary="List your organisation's alerts",
        parameters=[FilterSerializer],
        responses={200: AlertSummaryOutput(many=True), 400: INVALID},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = selectors.alerts_for_officer(viewer=request.user, **filters.validated_data)
        page = self.paginate_queryset(alerts)
        return self.get_paginated_response(AlertSummaryOutput(page, many=True).data)

    @extend_schema(
        summary="Write a draft alert",
        request=AlertWriteSerializer,
        responses={201: AlertOutput, 400: INVALID},
        examples=[
            OpenApiExample(
                "A burglary alert to one ward",
                request_only=True,
                value={
                    "kind": "alert",
                    "category": "burglary",
                    "priority": 2,
                    "title": "Burglaries on Elm Road",
                    "body_markdown": "Three homes were broken into last night. **Lock your doors.**",
                    "audience": {"include": [{"area": 12}], "exclude": [], "interest_only": False},
                    "is_public": True,
                },
            )
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.alert_create(actor=request.user, **data.to_service())
        location = reverse("api-alerts-detail", kwargs={"pk": alert.pk})
        return Response(_alert_out(request, alert.pk), status=status.HTTP_201_CREATED, headers={"Location": location})


class AlertDetailApi(APIView):
    """One of your organisation's alerts (GET); change a draft (PATCH); throw a draft away (DELETE).

    A published alert is never edited: send an update, or withdraw it.
    """

    permission_classes = [IsOfficer]
    InputSerializer = AlertWriteSerializer
    OutputSerializer = AlertOutput

    @extend_schema(summary="Read an alert", responses={200: AlertOutput})
    def get(self, request, pk: int):
        return Response(AlertOutput(_officer_alert(request, pk), context={"request": request}).data)

    @extend_schema(summary="Change a draft", request=AlertWriteSerializer, responses={200: AlertOutput, 400: REFUSED})
    def patch(self, request, pk: int):
        alert = _officer_alert(request, pk)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.alert_edit(actor=request.user, alert=alert, **data.to_service())
        return Response(_alert_out(request, pk))

    @extend_schema(summary="Delete a draft", responses={204: None, 400: REFUSED})
    def delete(self, request, pk: int):
        services.alert_delete(actor=request.user, alert=_officer_alert(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- officers: who it would reach


class AudiencePreviewApi(APIView):
    """How many residents an audience reaches now, per channel, and how much they heard from
    your organisation in the last 7 days (so an area is not flooded). Sends nothing.

    The counts follow the same rules as sending: only residents opted in to your
    organisation with a verified email; texts and pushes by each resident's choices for
    this priority; with `interest_only`, only those who chose the category.
    """

    permission_classes = [IsOfficer]

    @_named("AudiencePreviewInput")
    class InputSerializer(serializers.Serializer):
        audience = AudienceSerializer()
        category = serializers.ChoiceField(
            choices=Interest.choices, required=False, allow_blank=True, default="", help_text="Blank: any."
        )
        priority = serializers.IntegerField(min_value=1, max_value=5, required=False, default=3)

    @_named("AudiencePreview")
    class OutputSerializer(ChannelCountsOutput):
        recent = RecentMessagesOutput()

    @extend_schema(summary="Count an audience", request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = request.user.organisation_id
        category, priority = data.validated_data["category"], data.validated_data["priority"]
        try:
            spec = services.audience_check(
                organisation=organisation, spec=audience_spec(data.validated_data["audience"])
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"audience": exc.messages}) from exc
        counts = audience_size_by_channel(spec=spec, organisation=organisation, category=category, priority=priority)
        if counts["members"]:
            recent = selectors.audience_recent_messages(
                organisation=organisation, spec=spec, category=category, audience_members=counts["members"]
            )
        else:  # nobody to have heard anything
            recent = {"dispatches": 0, "average": 0.0, "most": 0, "reached": 0, "days": selectors.FLOOD_DAYS}
        return Response(self.OutputSerializer({**counts, "recent": recent}).data)


# --- officers: sending and following up


class AlertPublishApi(APIView):
    """Publish a draft now. Refused (400) when its audience reaches nobody or strays outside
    your organisation's area. The message goes out once this request commits."""

    permission_classes = [IsOfficer]
    OutputSerializer = AlertOutput

    @extend_schema(summary="Publish a draft now", request=None, responses={200: AlertOutput, 400: REFUSED})
    def post(self, request, pk: int):
        services.alert_publish(actor=request.user, alert=_officer_alert(request, pk))
        return Response(_alert_out(request, pk))


class AlertScheduleApi(APIView):
    """Publish a draft at a later time (at most 90 days ahead). Until then it can be called back."""

    permission_classes = [IsOfficer]
    OutputSerializer = AlertOutput

    @_named("AlertScheduleInput")
    class InputSerializer(serializers.Serializer):
        send_at = serializers.DateTimeField(help_text="When to send it (ISO 8601, with a time zone).")

    @extend_schema(summary="Schedule a draft", request=InputSerializer, responses={200: AlertOutput, 400: REFUSED})
    def post(self, request, pk: int):
        alert = _officer_alert(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.alert_schedule(actor=request.user, alert=alert, send_at=data.validated_data["send_at"])
        return Response(_alert_out(request, pk))


class AlertUnscheduleApi(APIView):
    """Call a scheduled alert back before its time: nothing is sent, and it is a draft again."""

    permission_classes = [IsOfficer]
    OutputSerializer = AlertOutput

    @extend_schema(summary="Unschedule an alert", request=None, responses={200: AlertOutput, 400: REFUSED})
    def post(self, request, pk: int):
        services.alert_unschedule(actor=request.user, alert=_officer_alert(request, pk))
        return Response(_alert_out(request, pk))


class AlertUpdateSendApi(APIView):
    """Tell everyone who got a published alert something new (`update`), or that it is over
    (`cancellation`: "the missing person has been found"). Reaches exactly the original's recipients."""

    permission_classes = [IsOfficer]
    OutputSerializer = AlertUpdateOutput

    @_named("AlertUpdateInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=[AlertUpdate.Kind.UPDATE, AlertUpdate.Kind.CANCELLATION], default=AlertUpdate.Kind.UPDATE
        )
        body = serializers.CharField(max_length=5000, allow_blank=True, help_text="Plain text: what has changed.")

    @extend_schema(
        summary="Send an update or a cancellation",
        request=InputSerializer,
        responses={201: AlertUpdateOutput, 400: REFUSED},
    )
    def post(self, request, pk: int):
        alert = _officer_alert(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.alert_update_send(actor=request.user, alert=alert, **data.validated_data)
        return Response(AlertUpdateOutput(update).data, status=status.HTTP_201_CREATED)


class AlertWithdrawApi(APIView):
    """Take a published alert back: what is not yet sent is stopped, it leaves the public pages
    and feeds, and with `notify` those who got it are told why."""

    permission_classes = [IsOfficer]
    OutputSerializer = AlertOutput

    @_named("AlertWithdrawInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            max_length=300, required=False, allow_blank=True, default="", help_text="Required with notify."
        )
        notify = serializers.BooleanField(required=False, default=False, help_text="Tell those who got it.")

    @extend_schema(summary="Withdraw an alert", request=InputSerializer, responses={200: AlertOutput, 400: REFUSED})
    def post(self, request, pk: int):
        alert = _officer_alert(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.alert_withdraw(actor=request.user, alert=alert, **data.validated_data)
        return Response(_alert_out(request, pk))


@_named("ReachChannel")
class ReachChannelOutput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Delivery.Channel.choices)
    label = serializers.CharField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Still on their way (held for quiet hours, a digest, a retry).")
    cancelled = serializers.IntegerField(help_text="Stopped before they went (a withdrawal).")


@_named("Reach")
class ReachOutput(serializers.Serializer):
    members = serializers.IntegerField(help_text="Residents it reached on at least one channel.")
    read = serializers.IntegerField(help_text="Inbox copies opened.")
    channels = ReachChannelOutput(many=True)
    replies = serializers.IntegerField(allow_null=True, default=None, help_text="Residents' private replies.")
    ratings = serializers.IntegerField(allow_null=True, default=None)
    rating_average = serializers.FloatField(allow_null=True, default=None, help_text="1 to 5; null without ratings.")


@_named("UpdateReach")
class UpdateReachOutput(ReachOutput):
    id = serializers.IntegerField(help_text="The update's id.")


class AlertReachApi(APIView):
    """What became of an alert and each of its updates: delivered, failed or waiting per
    channel, read in the app, replies and ratings."""

    permission_classes = [IsOfficer]

    @_named("AlertReach")
    class OutputSerializer(serializers.Serializer):
        alert = ReachOutput()
        updates = UpdateReachOutput(many=True)

    @extend_schema(summary="An alert's reach", responses={200: OutputSerializer})
    def get(self, request, pk: int):
        reach = selectors.alert_reach_detail(alert=_officer_alert(request, pk))
        updates = [{"id": pk_, **rows} for pk_, rows in reach["updates"].items()]
        return Response(self.OutputSerializer({"alert": reach["alert"], "updates": updates}).data)


# --- officers: pictures


class AlertImageAddApi(APIView):
    """Add a picture to a draft (multipart/form-data: `file`, `alt_text`). JPEG, PNG, WebP or GIF,
    judged by its bytes, at most ALERT_IMAGE_MAX_BYTES; six at most; what it shows is required."""

    permission_classes = [IsOfficer]
    parser_classes = [MultiPartParser]
    OutputSerializer = AlertImageOutput

    @_named("AlertImageInput")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="The picture.")
        alt_text = serializers.CharField(
            max_length=250, allow_blank=True, help_text="What the picture shows, for residents who cannot see it."
        )

    @extend_schema(
        summary="Add a picture to a draft",
        request={"multipart/form-data": InputSerializer},
        responses={201: AlertImageOutput, 400: REFUSED},
    )
    def post(self, request, pk: int):
        alert = _officer_alert(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        image = services.alert_image_add(
            actor=request.user,
            alert=alert,
            upload=data.validated_data["file"],
            alt_text=data.validated_data["alt_text"],
        )
        return Response(AlertImageOutput(image, context={"request": request}).data, status=status.HTTP_201_CREATED)


class AlertImageRemoveApi(APIView):
    permission_classes = [IsOfficer]

    @extend_schema(summary="Remove a picture from a draft", responses={204: None, 400: REFUSED})
    def delete(self, request, pk: int, image_pk: int):
        alert = _officer_alert(request, pk)
        try:
            services.alert_image_remove(actor=request.user, alert=alert, image_id=image_pk)
        except AlertImage.DoesNotExist:
            raise exceptions.NotFound("This alert has no such picture.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- coordinators


class GroupMessagesApi(GenericAPIView):
    """A coordinator's messages to their own group: those sent before (GET, newest first,
    paginated) and a new one (POST), in the name of the group's organisation, to the
    group's active members who opted in to it. A few a day at most (ALERT_GROUP_MESSAGES_PER_DAY).

    Only the group's active coordinators: anyone else who can see the group is refused
    (403), and a group you cannot see is not found (404). Officers send alerts instead.
    """

    @_named("GroupMessageInput")
    class InputSerializer(serializers.Serializer):
        subject = serializers.CharField(max_length=200, allow_blank=True)
        body = serializers.CharField(max_length=5000, allow_blank=True, help_text="Plain text.")

    @_named("GroupMessage")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        subject = serializers.CharField()
        body = serializers.CharField()
        author = serializers.CharField(source="author.get_full_name", allow_null=True, default=None)
        created_at = serializers.DateTimeField()
        audience_size = serializers.IntegerField(
            source="dispatch.audience_size", allow_null=True, default=None, help_text="Members it reached."
        )

    def _group(self, slug: str) -> CommunityGroup:
        group = groups_visible_to(viewer=self.request.user).filter(slug=slug).first()
        if group is None:
            raise exceptions.NotFound("No such group.")
        if not can_message_group(member=self.request.user, group=group):
            raise exceptions.PermissionDenied("Only this group's coordinators can message it.")
        return group

    @extend_schema(summary="A group's messages (coordinators)", responses={200: OutputSerializer(many=True)})
    def get(self, request, slug: str):
        page = self.paginate_queryset(selectors.group_messages_of(group=self._group(slug)))
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Message your group (coordinators)", request=InputSerializer, responses={201: OutputSerializer}
    )
    def post(self, request, slug: str):
        group = self._group(slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.group_message_send(actor=request.user, group=group, **data.validated_data)
        message = selectors.group_messages_of(group=group).get(pk=message.pk)
        return Response(self.OutputSerializer(message).data, status=status.HTTP_201_CREATED)


# --- a resident's inbox


class InboxPagination(PageNumberPagination):
    """A page of the inbox, with how many messages are unread in all."""

    page_size = 25

    def paginate_queryset(self, queryset, request, view=None):
        self.unread = inbox_selectors.inbox_unread_count(member=request.user)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread"] = self.unread
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["unread"] = {"type": "integer", "description": "Messages not opened yet, in all."}
        paginated["required"] = [*paginated.get("required", []), "unread"]
        return paginated


class InboxListApi(GenericAPIView):
    """Your messages in the app, newest first, with how many are unread. Opening one
    (inbox/<id>/) marks it read."""

    pagination_class = InboxPagination
    OutputSerializer = InboxItemOutput

    @extend_schema(summary="Your inbox", responses={200: InboxItemOutput(many=True)})
    def get(self, request):
        page = self.paginate_queryset(inbox_selectors.inbox_for(member=request.user))
        return self.get_paginated_response(InboxItemOutput(page, many=True).data)


class InboxMessageApi(APIView):
    """One message of your own inbox, in full; reading it marks it read (the first time counts)."""

    OutputSerializer = InboxMessageOutput

    @extend_schema(summary="Read a message", responses={200: InboxMessageOutput})
    def get(self, request, pk: int):
        try:
            delivery = delivery_mark_read(member=request.user, delivery_id=pk)
        except Delivery.DoesNotExist:
            raise exceptions.NotFound("No such message in your inbox.") from None
        dispatch = delivery.dispatch
        about = selectors.alert_for_dispatch(dispatch=dispatch) or {}
        message = about.get("group_message")
        return Response(
            InboxMessageOutput(
                {
                    "id": delivery.pk,
                    "dispatch": dispatch,
                    "created_at": delivery.created_at,
                    "read_at": delivery.read_at,
                    # Cleaned again on the way out, as the inbox page does: whatever wrote it.
                    "body_html": nh3.clean(dispatch.body_html) if dispatch.body_html else "",
                    "alert": about.get("alert"),
                    "update": about.get("update"),
                    "group": message.group if message else None,
                },
                context={"request": request},
            ).data
        )
