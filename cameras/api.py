"""The camera register's REST API: the same workflows as the pages, through the same
services and selectors (so the same scoping: out of scope is a 404).

Residents: `cameras/` (their own), `cameras/asked/` (requests put to them, answered with
a multipart upload). Officers: `cameras/searches/`, `cameras/requests/`, evidence
downloads and the custody log. Force admins: `cameras/coverage/`.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import RETENTION_MAX_DAYS, Camera, CustodyEntry, FootageAsk
from .permissions import CanSearchCameras, CanSeeCoverage, IsCameraOwnerRole
from .uploads import install_upload_handler
from .views import evidence_file_response

_ERROR = inline_serializer("CameraUploadError", {"detail": serializers.CharField()})


# --- a resident's cameras


class CameraOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Camera.Kind.choices)
    label = serializers.CharField()
    placement = serializers.ChoiceField(choices=Camera.Placement.choices)
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    facing = serializers.CharField(help_text="N, NE, E, SE, S, SW, W, NW, or blank.")
    covers = serializers.CharField()
    retention_days = serializers.IntegerField()
    willing = serializers.BooleanField(help_text="Willing to be asked for footage.")
    confirmed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class CameraInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Camera.Kind.choices)
    label = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    placement = serializers.ChoiceField(
        choices=Camera.Placement.choices,
        default=Camera.Placement.HOME,
        help_text="home: at your home (dashcams always). pin: at latitude/longitude.",
    )
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    facing = serializers.ChoiceField(choices=[("", "Not given"), *Camera.Facing.choices], required=False, default="")
    covers = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    retention_days = serializers.IntegerField(min_value=1, max_value=RETENTION_MAX_DAYS)
    willing = serializers.BooleanField(default=True)


class CameraPatchInput(CameraInput):
    kind = serializers.ChoiceField(choices=Camera.Kind.choices, required=False)
    retention_days = serializers.IntegerField(min_value=1, max_value=RETENTION_MAX_DAYS, required=False)


class CameraListApi(generics.ListAPIView):
    """Your cameras (residents only): list them, or register one."""

    permission_classes = [IsCameraOwnerRole]
    serializer_class = CameraOutput

    def get_queryset(self):
        return selectors.cameras_of(member=self.request.user)

    @extend_schema(summary="Your cameras")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=CameraInput, responses={201: CameraOutput}, summary="Register a camera")
    def post(self, request):
        data = CameraInput(data=request.data)
        data.is_valid(raise_exception=True)
        camera = services.camera_register(member=request.user, data=data.validated_data)
        return Response(CameraOutput(camera).data, status=status.HTTP_201_CREATED)


class CameraDetailApi(APIView):
    """One of your cameras: read, change (changing it confirms you still have it), or remove."""

    permission_classes = [IsCameraOwnerRole]

    def _camera(self, request, pk: int) -> Camera:
        return get_object_or_404(selectors.cameras_of(member=request.user), pk=pk)

    @extend_schema(responses=CameraOutput, summary="One of your cameras")
    def get(self, request, pk: int):
        return Response(CameraOutput(self._camera(request, pk)).data)

    @extend_schema(request=CameraPatchInput, responses=CameraOutput, summary="Change a camera")
    def patch(self, request, pk: int):
        camera = self._camera(request, pk)
        data = CameraPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.camera_update(member=request.user, camera=camera, data=data.validated_data)
        return Response(CameraOutput(camera).data)

    @extend_schema(responses={204: None}, summary="Remove a camera")
    def delete(self, request, pk: int):
        services.camera_remove(member=request.user, camera=self._camera(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CameraConfirmApi(APIView):
    """Say you still have all your cameras: confirmed for another year."""

    permission_classes = [IsCameraOwnerRole]

    @extend_schema_serializer(component_name="CamerasConfirmed")
    class OutputSerializer(serializers.Serializer):
        confirmed = serializers.IntegerField(help_text="How many cameras were confirmed.")

    @extend_schema(request=None, responses=OutputSerializer, summary="Confirm your cameras")
    def post(self, request):
        return Response({"confirmed": services.cameras_confirm(member=request.user)})


# --- what residents are asked


class CameraEvidenceOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    original_name = serializers.CharField()
    content_type = serializers.CharField(help_text="Found from the file's bytes, not its name.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    from_erased_member = serializers.BooleanField()


class FootageAskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    organisation = serializers.CharField(source="request.organisation.name")
    incident_reference = serializers.CharField(source="request.incident_reference")
    location = serializers.CharField(source="request.location")
    window_start = serializers.DateTimeField(source="request.window_start")
    window_end = serializers.DateTimeField(source="request.window_end")
    message = serializers.CharField(source="request.message")
    camera = serializers.IntegerField(source="camera_id", allow_null=True, help_text="Null once you removed it.")
    camera_kind = serializers.ChoiceField(choices=Camera.Kind.choices)
    retention_days = serializers.IntegerField()
    preserve_by = serializers.DateField(help_text="Save the footage before this day ends.")
    status = serializers.ChoiceField(choices=FootageAsk.Status.choices)
    answered_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField(source="owner_note")
    shared_contact = serializers.BooleanField()
    evidence = CameraEvidenceOutput(many=True)
    created_at = serializers.DateTimeField()


class AskListApi(generics.ListAPIView):
    """The footage requests put to you about your cameras, newest first."""

    permission_classes = [IsCameraOwnerRole]
    serializer_class = FootageAskOutput

    def get_queryset(self):
        return selectors.asks_of(member=self.request.user)

    @extend_schema(summary="Footage requests to you")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AskDetailApi(APIView):
    permission_classes = [IsCameraOwnerRole]

    @extend_schema(responses=FootageAskOutput, summary="One footage request to you")
    def get(self, request, pk: int):
        return Response(FootageAskOutput(get_object_or_404(selectors.asks_of(member=request.user), pk=pk)).data)


class AskAnswerApi(APIView):
    """Answer a footage request: `footage` with a `file` (multipart/form-data), `nothing`, or `no_camera`.

    The file streams to disk as it arrives (never into memory) and is hashed on the way;
    over CAMERA_UPLOAD_MAX_BYTES it is refused with 413, and a file that is not footage or
    a photo (judged by its bytes) with 400. Either way nothing is kept.
    """

    permission_classes = [IsCameraOwnerRole]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema_serializer(component_name="FootageAnswerInput")
    class InputSerializer(serializers.Serializer):
        answer = serializers.ChoiceField(
            choices=[FootageAsk.Status.FOOTAGE, FootageAsk.Status.NOTHING, FootageAsk.Status.NO_CAMERA]
        )
        file = serializers.FileField(required=False, help_text="The footage or photo, with `footage`.")
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        share_contact = serializers.BooleanField(
            default=False, help_text="Share your name, email and phone with the requesting force's officers."
        )

    def initialize_request(self, request, *args, **kwargs):
        # Before DRF (and its CSRF check) reads the body: the upload must stream through our handler.
        if request.method == "POST":
            self.upload_handler = install_upload_handler(request)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": InputSerializer, "application/json": InputSerializer},
        responses={
            200: FootageAskOutput,
            413: OpenApiResponse(_ERROR, description="The file is over the size limit; nothing was kept."),
        },
        summary="Answer a footage request",
    )
    def post(self, request, pk: int):
        handler = self.upload_handler
        request.data  # noqa: B018  (parse now, so the handler's verdict is known)
        if handler.refused:
            code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if handler.too_big else status.HTTP_400_BAD_REQUEST
            return Response({"detail": handler.refused}, status=code)
        ask = get_object_or_404(selectors.asks_of(member=request.user), pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.footage_ask_answer(
            member=request.user,
            ask=ask,
            answer=data.validated_data["answer"],
            note=data.validated_data["note"],
            share_contact=data.validated_data["share_contact"],
            upload=request.FILES.get("file"),
        )
        return Response(FootageAskOutput(selectors.asks_of(member=request.user).get(pk=ask.pk)).data)


# --- officers: search, request, evidence


class CameraHitOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The camera's id, to ask its owner.")
    kind = serializers.ChoiceField(choices=Camera.Kind.choices)
    facing = serializers.CharField()
    covers = serializers.CharField()
    retention_days = serializers.IntegerField()
    latitude = serializers.FloatField(help_text="Rounded to about 10 m.")
    longitude = serializers.FloatField()
    distance_m = serializers.IntegerField()
    kept_until = serializers.DateField(allow_null=True, help_text="The last day footage of the incident is kept.")
    lapsed = serializers.BooleanField(help_text="Footage of the incident has probably been recorded over.")


class CameraSearchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident_reference = serializers.CharField()
    incident_at = serializers.DateTimeField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    radius_m = serializers.IntegerField()
    result_count = serializers.IntegerField(help_text="Cameras found when the search was made.")
    officer = serializers.CharField(source="officer.get_full_name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class CameraSearchWithResultsOutput(CameraSearchOutput):
    cameras = CameraHitOutput(many=True, help_text="What the search finds now, nearest first. Never the owners.")


class SearchListApi(generics.ListAPIView):
    """Camera searches near incidents (officers). Creating one records who, when, where and the incident."""

    permission_classes = [CanSearchCameras]
    serializer_class = CameraSearchOutput

    def get_queryset(self):
        return selectors.searches_visible_to(viewer=self.request.user)

    @extend_schema_serializer(component_name="CameraSearchInput")
    class InputSerializer(serializers.Serializer):
        incident_reference = serializers.CharField(max_length=60)
        incident_at = serializers.DateTimeField()
        latitude = serializers.FloatField(min_value=-90, max_value=90)
        longitude = serializers.FloatField(min_value=-180, max_value=180)
        radius_m = serializers.IntegerField(
            min_value=services.MIN_RADIUS_M, help_text="At most CAMERA_SEARCH_MAX_METRES."
        )

    @extend_schema(summary="Your organisation's camera searches")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer, responses={201: CameraSearchWithResultsOutput}, summary="Search for cameras"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        search, hits = services.camera_search_create(officer=request.user, **data.validated_data)
        search.cameras = [h.as_dict() for h in hits]
        return Response(CameraSearchWithResultsOutput(search).data, status=status.HTTP_201_CREATED)


class SearchDetailApi(APIView):
    permission_classes = [CanSearchCameras]

    @extend_schema(responses=CameraSearchWithResultsOutput, summary="One camera search, with what it finds now")
    def get(self, request, pk: int):
        search = get_object_or_404(selectors.searches_visible_to(viewer=request.user), pk=pk)
        search.cameras = [h.as_dict() for h in selectors.camera_search_results(search=search)]
        return Response(CameraSearchWithResultsOutput(search).data)


class FootageAskOfficerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    camera_kind = serializers.ChoiceField(choices=Camera.Kind.choices)
    camera_covers = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    retention_days = serializers.IntegerField()
    preserve_by = serializers.DateField()
    status = serializers.ChoiceField(choices=FootageAsk.Status.choices)
    answered_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField(source="owner_note")
    contact = serializers.SerializerMethodField(help_text="Only if the owner chose to share it.")
    evidence = CameraEvidenceOutput(many=True)

    @extend_schema_field(
        inline_serializer(
            "FootageSharedContact",
            {"name": serializers.CharField(), "email": serializers.CharField(), "phone": serializers.CharField()},
            allow_null=True,
        )
    )
    def get_contact(self, ask: FootageAsk) -> dict | None:
        if not ask.shared_contact:
            return None
        return {"name": ask.shared_name, "email": ask.shared_email, "phone": ask.shared_phone}


class FootageRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident_reference = serializers.CharField()
    search = serializers.IntegerField(source="search_id")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    location = serializers.CharField()
    message = serializers.CharField()
    created_by = serializers.CharField(source="created_by.get_full_name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class FootageRequestDetailOutput(FootageRequestOutput):
    asks = FootageAskOfficerOutput(many=True)


class RequestListApi(generics.ListAPIView):
    """Footage requests (officers): list your organisation's, or send one from a search."""

    permission_classes = [CanSearchCameras]
    serializer_class = FootageRequestOutput

    def get_queryset(self):
        return selectors.requests_visible_to(viewer=self.request.user)

    @extend_schema_serializer(component_name="FootageRequestInput")
    class InputSerializer(serializers.Serializer):
        search = serializers.IntegerField(help_text="The search the cameras were found by.")
        cameras = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
        window_start = serializers.DateTimeField()
        window_end = serializers.DateTimeField()
        location = serializers.CharField(max_length=200)
        message = serializers.CharField(max_length=2000)

    @extend_schema(summary="Your organisation's footage requests")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer, responses={201: FootageRequestDetailOutput}, summary="Send a footage request"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        search = get_object_or_404(selectors.searches_visible_to(viewer=request.user), pk=values.pop("search"))
        sent = services.footage_request_create(
            officer=request.user, search=search, camera_ids=values.pop("cameras"), **values
        )
        return Response(_request_detail(sent), status=status.HTTP_201_CREATED)


def _request_detail(footage_request) -> dict:
    data = FootageRequestOutput(footage_request).data
    data["asks"] = FootageAskOfficerOutput(selectors.request_asks(request=footage_request), many=True).data
    return data


class RequestDetailApi(APIView):
    permission_classes = [CanSearchCameras]

    @extend_schema(responses=FootageRequestDetailOutput, summary="One footage request, with its answers and evidence")
    def get(self, request, pk: int):
        footage_request = get_object_or_404(selectors.requests_visible_to(viewer=request.user), pk=pk)
        return Response(_request_detail(footage_request))


class CustodyEntryOutput(serializers.Serializer):
    evidence = serializers.UUIDField(source="evidence.uuid")
    sha256 = serializers.CharField(source="evidence.sha256")
    action = serializers.ChoiceField(choices=CustodyEntry.Action.choices)
    at = serializers.DateTimeField()
    by = serializers.CharField(source="actor_name")
    role = serializers.CharField(source="actor_role")
    organisation = serializers.CharField(source="organisation.name", allow_null=True, default=None)


class CustodyApi(generics.ListAPIView):
    """The chain of custody of a request's evidence: every receipt and download, in order."""

    permission_classes = [CanSearchCameras]
    serializer_class = CustodyEntryOutput

    def get_queryset(self):
        footage_request = get_object_or_404(
            selectors.requests_visible_to(viewer=self.request.user), pk=self.kwargs["pk"]
        )
        return selectors.custody_of(request=footage_request)

    @extend_schema(summary="A request's chain of custody")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EvidenceDownloadApi(APIView):
    """Download a piece of evidence (its requesting force's officers, or its uploader). Recorded in the custody log."""

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="Download evidence",
    )
    def get(self, request, uuid):
        return evidence_file_response(request.user, uuid)


class CameraCoverageOutput(serializers.Serializer):
    code = serializers.CharField(source="area.code")
    name = serializers.CharField(source="area.name")
    registered = serializers.IntegerField()
    findable = serializers.IntegerField(help_text="Of those, the ones officers can find and ask.")


class CoverageApi(generics.ListAPIView):
    """Cameras registered per ward of your organisation's areas (force admins): counts only."""

    permission_classes = [CanSeeCoverage]
    serializer_class = CameraCoverageOutput

    def get_queryset(self):
        return selectors.coverage_by_ward(viewer=self.request.user)

    @extend_schema(summary="Camera coverage per ward")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
