"""The replies part of the REST API: residents' conversations and ratings; officers' reply inbox.

Residents list and read their own threads, reply to a message they were sent, and
rate it. Officers list their organisation's threads (with the reply inbox's filters),
read one (which marks it read for the organisation), answer, assign and close or
reopen it. Another organisation's thread, or another resident's, is a 404.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from members.permissions import IsOfficer, IsResident

from . import selectors, services
from .models import Message, Thread
from .text import MAX_LENGTH

INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="What is wrong, field by field: {field: [messages]}.")
_DETAIL = {"detail": serializers.CharField()}
NOT_FOUND = OpenApiResponse(
    inline_serializer("ReplyApiNotFound", _DETAIL),
    description="No such thread or message among yours (another resident's, or another organisation's).",
)


class ResidentsOnly(IsResident):
    message = "Only residents reply to and rate messages; officers work replies from the reply inbox."


class OfficersOnly(IsOfficer):
    message = "Only officers work the reply inbox."


# --- what goes out


class DispatchRef(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()


class PersonRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="get_full_name")


class ResidentMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sender = serializers.SerializerMethodField(help_text='"you", or "organisation" for an officer\'s answer.')
    body = serializers.CharField(help_text="Plain text (never markup): escape it before showing it in HTML.")
    created_at = serializers.DateTimeField()

    def get_sender(self, message: Message) -> str:
        return "you" if message.from_resident else "organisation"


class ResidentThreadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dispatch = DispatchRef(help_text="The message this conversation answers.")
    organisation = serializers.CharField(source="organisation.name")
    status = serializers.ChoiceField(choices=Thread.Status.choices)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    answered = serializers.SerializerMethodField(help_text="The organisation wrote last.")

    def get_answered(self, thread: Thread) -> bool:
        return thread.last_officer_message_at is not None and thread.last_officer_message_at >= thread.last_message_at


class ResidentThreadDetailOutput(ResidentThreadOutput):
    messages = serializers.SerializerMethodField()

    @extend_schema_field(ResidentMessageOutput(many=True))
    def get_messages(self, thread: Thread) -> list[dict]:
        return ResidentMessageOutput(selectors.thread_messages(thread=thread), many=True).data


class OfficerMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    from_resident = serializers.BooleanField()
    author = PersonRef(help_text="The resident, or the officer who answered.")
    body = serializers.CharField(help_text="Plain text (never markup): escape it before showing it in HTML.")
    urgent = serializers.BooleanField()
    trigger_words = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class OfficerThreadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dispatch = DispatchRef()
    resident = PersonRef()
    status = serializers.ChoiceField(choices=Thread.Status.choices)
    urgent = serializers.BooleanField()
    unread = serializers.BooleanField(help_text="The organisation has not read the resident's latest words.")
    assignee = PersonRef(allow_null=True)
    awaiting_since = serializers.DateTimeField(allow_null=True, help_text="Waiting for an answer since.")
    last_message_at = serializers.DateTimeField()


class OfficerThreadListOutput(OfficerThreadOutput):
    preview = serializers.CharField(help_text="The start of the resident's latest message.")
    ward = serializers.CharField(source="ward_name", allow_null=True, help_text="The ward the resident lives in.")


class OfficerThreadDetailOutput(OfficerThreadOutput):
    messages = OfficerMessageOutput(many=True, source="messages_list")


class RatingOutput(serializers.Serializer):
    dispatch = serializers.IntegerField(source="dispatch_id")
    score = serializers.IntegerField(min_value=1, max_value=5)
    updated_at = serializers.DateTimeField()


# --- residents


class MyThreadListApi(GenericAPIView):
    """Your conversations with the organisations that messaged you, latest first. Paginated."""

    permission_classes = [ResidentsOnly]
    serializer_class = ResidentThreadOutput

    def get_queryset(self):
        return selectors.threads_of_resident(member=self.request.user)

    @extend_schema(summary="Your conversations", responses={200: ResidentThreadOutput(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ResidentThreadOutput(page, many=True).data)


def _my_thread(request, pk: int) -> Thread:
    return get_object_or_404(selectors.threads_of_resident(member=request.user), pk=pk)


class MyThreadDetailApi(APIView):
    permission_classes = [ResidentsOnly]

    @extend_schema(summary="One of your conversations", responses={200: ResidentThreadDetailOutput, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(ResidentThreadDetailOutput(_my_thread(request, pk)).data)


class ReplyInput(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_LENGTH, help_text="Plain text; any markup is removed.")


class ReplyCreateApi(APIView):
    """Reply privately to a message you were sent (an alert); the first reply starts the
    conversation, a reply to a closed one opens it again."""

    permission_classes = [ResidentsOnly]

    @extend_schema(
        summary="Reply to a message",
        request=ReplyInput,
        responses={201: ResidentThreadDetailOutput, 400: INVALID, 404: NOT_FOUND},
    )
    def post(self, request, dispatch_id: int):
        dispatch = get_object_or_404(selectors.dispatches_replyable_by(member=request.user), pk=dispatch_id)
        data = ReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.reply_create(resident=request.user, dispatch=dispatch, body=data.validated_data["body"])
        thread = _my_thread(request, message.thread_id)
        return Response(ResidentThreadDetailOutput(thread).data, status=status.HTTP_201_CREATED)


class RatingInput(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5, help_text="1: not useful … 5: extremely useful.")


class RatingSetApi(APIView):
    """Rate how useful a message you were sent was, or change your rating."""

    permission_classes = [ResidentsOnly]

    @extend_schema(
        summary="Rate a message", request=RatingInput, responses={200: RatingOutput, 400: INVALID, 404: NOT_FOUND}
    )
    def put(self, request, dispatch_id: int):
        dispatch = get_object_or_404(selectors.dispatches_replyable_by(member=request.user), pk=dispatch_id)
        data = RatingInput(data=request.data)
        data.is_valid(raise_exception=True)
        rating = services.rating_set(resident=request.user, dispatch=dispatch, score=data.validated_data["score"])
        return Response(RatingOutput(rating).data)


# --- officers


ID_MAX = 2**63 - 1  # the largest id the database holds


class ThreadFilterInput(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=list(selectors.VIEWS), default="open", required=False, help_text="Which threads (default: open)."
    )
    dispatch = serializers.IntegerField(
        required=False, min_value=1, max_value=ID_MAX, help_text="Only replies to this message."
    )
    area = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="Only residents who live in this area (a ward or district).",
    )


class ThreadListApi(GenericAPIView):
    """Your organisation's reply threads, urgent first, then newest first. Paginated.

    Views: open (the default), urgent, unread (by your organisation), mine (assigned to
    you), unassigned, closed, all. Narrow to one message (`dispatch`) or to residents
    living in one area (`area`).
    """

    permission_classes = [OfficersOnly]
    serializer_class = OfficerThreadListOutput

    @extend_schema(
        summary="Your organisation's reply threads",
        parameters=[ThreadFilterInput],
        responses={200: OfficerThreadListOutput(many=True), 400: INVALID},
    )
    def get(self, request):
        data = ThreadFilterInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        filters = selectors.InboxFilters(
            view=data.validated_data.get("view") or "open",
            dispatch_id=data.validated_data.get("dispatch"),
            area_id=data.validated_data.get("area"),
        )
        page = self.paginate_queryset(selectors.reply_inbox(viewer=request.user, filters=filters))
        return self.get_paginated_response(OfficerThreadListOutput(page, many=True).data)


def _org_thread(request, pk: int) -> Thread:
    try:
        return selectors.thread_of_organisation(viewer=request.user, thread_id=pk)
    except Thread.DoesNotExist:
        raise Http404 from None


def _detail(thread: Thread) -> dict:
    thread.messages_list = list(selectors.thread_messages(thread=thread))
    return OfficerThreadDetailOutput(thread).data


class ThreadDetailApi(APIView):
    permission_classes = [OfficersOnly]

    @extend_schema(
        summary="One reply thread (marks it read)", responses={200: OfficerThreadDetailOutput, 404: NOT_FOUND}
    )
    def get(self, request, pk: int):
        thread = _org_thread(request, pk)
        services.thread_mark_read(officer=request.user, thread=thread)
        return Response(_detail(thread))


class ThreadAnswerApi(APIView):
    """Answer the resident in the thread; they are told there is an answer."""

    permission_classes = [OfficersOnly]

    @extend_schema(
        summary="Answer a reply",
        request=ReplyInput,
        responses={201: OfficerThreadDetailOutput, 400: INVALID, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        thread = _org_thread(request, pk)
        data = ReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.thread_answer(officer=request.user, thread=thread, body=data.validated_data["body"])
        return Response(_detail(_org_thread(request, pk)), status=status.HTTP_201_CREATED)


class AssignInput(serializers.Serializer):
    assignee = serializers.IntegerField(
        allow_null=True, help_text="The id of an officer of your organisation; null: nobody."
    )


class ThreadAssignApi(APIView):
    permission_classes = [OfficersOnly]

    @extend_schema(
        summary="Assign a reply thread",
        request=AssignInput,
        responses={200: OfficerThreadDetailOutput, 400: INVALID, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        thread = _org_thread(request, pk)
        data = AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        assignee = None
        if data.validated_data["assignee"] is not None:
            assignee = (
                selectors.assignable_officers(organisation=thread.organisation_id)
                .filter(pk=data.validated_data["assignee"])
                .first()
            )
            if assignee is None:
                raise serializers.ValidationError({"assignee": ["Choose an officer of your organisation."]})
        services.thread_assign(actor=request.user, thread=thread, assignee=assignee)
        return Response(_detail(_org_thread(request, pk)))


class ThreadCloseApi(APIView):
    """Close a thread: the organisation is done with it (a new reply from the resident opens it again)."""

    permission_classes = [OfficersOnly]

    @extend_schema(
        summary="Close a reply thread", request=None, responses={200: OfficerThreadDetailOutput, 404: NOT_FOUND}
    )
    def post(self, request, pk: int):
        services.thread_close(actor=request.user, thread=_org_thread(request, pk))
        return Response(_detail(_org_thread(request, pk)))


class ThreadReopenApi(APIView):
    permission_classes = [OfficersOnly]

    @extend_schema(
        summary="Reopen a reply thread", request=None, responses={200: OfficerThreadDetailOutput, 404: NOT_FOUND}
    )
    def post(self, request, pk: int):
        services.thread_reopen(actor=request.user, thread=_org_thread(request, pk))
        return Response(_detail(_org_thread(request, pk)))
