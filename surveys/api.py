"""The surveys part of the REST API: build, publish and close surveys; answer them; read results; quick polls.

Officers see only their organisation's surveys; residents only those they were
invited to, and of the results only the published totals. Out of scope is a 404.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.ids import id_from
from members.permissions import IsOfficer, IsResident, is_officer
from notifications.models import Dispatch

from . import results as results_module
from . import selectors, services
from .models import Poll, Question, Survey

# A DELETE refused (the survey is no longer a draft): nothing was changed.
REFUSED = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Refused, and why: {`detail`: [messages]} (e.g. not a draft). Nothing was changed."
)


class IsResidentOnly(IsResident):
    message = "Only residents can do this."


# --- shared shapes


class OptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()


class ShownIfOutput(serializers.Serializer):
    question = serializers.IntegerField(source="condition_question_id", help_text="The id of the earlier question.")
    options = serializers.ListField(
        child=serializers.IntegerField(), source="condition_options", help_text="Its options that show this one."
    )


class QuestionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    text = serializers.CharField()
    help_text = serializers.CharField(allow_blank=True)
    required = serializers.BooleanField()
    options = OptionOutput(many=True, source="options.all", help_text="Choices, ranked options or matrix statements.")
    max_choices = serializers.IntegerField(allow_null=True)
    scale_min = serializers.IntegerField(allow_null=True)
    scale_max = serializers.IntegerField(allow_null=True)
    scale_labels = serializers.ListField(child=serializers.CharField(allow_blank=True))
    max_length = serializers.IntegerField(allow_null=True)
    rank_count = serializers.IntegerField(allow_null=True)
    shown_if = serializers.SerializerMethodField(help_text="Shown only when an earlier answer was chosen.")

    @extend_schema_field(ShownIfOutput(allow_null=True))
    def get_shown_if(self, question: Question) -> dict | None:
        return ShownIfOutput(question).data if question.condition_question_id else None


class SurveyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    introduction = serializers.CharField(allow_blank=True)
    organisation = serializers.CharField(source="organisation.slug")
    is_anonymous = serializers.BooleanField()
    results_visibility = serializers.ChoiceField(choices=Survey.ResultsVisibility.choices)
    status = serializers.ChoiceField(choices=Survey.Status.choices)
    phase = serializers.ChoiceField(choices=["draft", "scheduled", "open", "closed"])
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    audience_description = serializers.CharField(allow_blank=True)
    questions = QuestionOutput(many=True, source="ordered_questions")


class SurveyListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    organisation = serializers.CharField(source="organisation.slug")
    is_anonymous = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Survey.Status.choices)
    phase = serializers.ChoiceField(choices=["draft", "scheduled", "open", "closed"])
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    answered = serializers.BooleanField(
        allow_null=True, default=None, help_text="Residents: whether you have answered. Officers: null."
    )
    responses = serializers.IntegerField(
        source="response_count", allow_null=True, default=None, help_text="Officers: how many have answered."
    )


def _survey_out(survey: Survey) -> dict:
    survey.ordered_questions = selectors.survey_questions(survey=survey)
    return SurveyOutput(survey).data


def _managed(request, pk: int) -> Survey:
    try:
        return selectors.survey_managed_get(viewer=request.user, pk=pk)
    except Survey.DoesNotExist as exc:
        raise Http404 from exc


def _invited(request, pk: int) -> Survey:
    try:
        return selectors.survey_invited_get(member=request.user, pk=pk)
    except Survey.DoesNotExist as exc:
        raise Http404 from exc


def _visible(request, pk: int) -> Survey:
    """A survey the asker may see: an officer's organisation's, or one the resident was invited to."""
    return _managed(request, pk) if is_officer(member=request.user) else _invited(request, pk)


# --- building


class ShownIfInput(serializers.Serializer):
    question = serializers.IntegerField(min_value=0, help_text="The index (from 0) of an earlier question.")
    options = serializers.ListField(
        child=serializers.IntegerField(min_value=0), min_length=1, max_length=50, help_text="Indexes of its options."
    )


class QuestionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    text = serializers.CharField(max_length=500)
    help_text = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    required = serializers.BooleanField(default=True)
    options = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, default=list, max_length=services.MAX_OPTIONS
    )
    max_choices = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=50)
    scale_min = serializers.IntegerField(required=False, allow_null=True, min_value=-10, max_value=10)
    scale_max = serializers.IntegerField(required=False, allow_null=True, min_value=-10, max_value=10)
    scale_labels = serializers.ListField(
        child=serializers.CharField(max_length=60, allow_blank=True), required=False, default=list, max_length=11
    )
    max_length = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5000)
    rank_count = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=50)
    shown_if = ShownIfInput(required=False, allow_null=True)


class SurveyInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    introduction = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    is_anonymous = serializers.BooleanField(default=False)
    results_visibility = serializers.ChoiceField(
        choices=Survey.ResultsVisibility.choices, default=Survey.ResultsVisibility.AFTER_CLOSING
    )
    questions = QuestionInput(many=True, required=False, default=list, max_length=services.MAX_QUESTIONS)


class SurveyListApi(generics.ListAPIView):
    """Officers: their organisation's surveys. Residents: the surveys they were invited to. Paginated."""

    serializer_class = SurveyListOutput

    def get_queryset(self):
        if is_officer(member=self.request.user):
            return selectors.surveys_managed_by(viewer=self.request.user).select_related("organisation")
        return selectors.surveys_invited(member=self.request.user)

    @extend_schema(summary="List surveys")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SurveyInput, responses={201: SurveyOutput}, summary="Build a survey (a draft)")
    def post(self, request):
        if not is_officer(member=request.user):
            raise PermissionDenied("Only officers can build surveys.")
        data = SurveyInput(data=request.data)
        data.is_valid(raise_exception=True)
        survey = services.survey_define(actor=request.user, **data.validated_data)
        return Response(_survey_out(survey), status=status.HTTP_201_CREATED)


class SurveyDetailApi(APIView):
    @extend_schema(responses=SurveyOutput, summary="One survey, with its questions")
    def get(self, request, pk: int):
        return Response(_survey_out(_visible(request, pk)))

    @extend_schema(request=SurveyInput, responses=SurveyOutput, summary="Replace a draft's definition")
    def put(self, request, pk: int):
        survey = _visible(request, pk)
        if not is_officer(member=request.user):
            raise PermissionDenied("Only officers can change surveys.")
        data = SurveyInput(data=request.data)
        data.is_valid(raise_exception=True)
        survey = services.survey_define(actor=request.user, survey=survey, **data.validated_data)
        return Response(_survey_out(survey))

    @extend_schema(request=None, responses={204: None, 400: REFUSED}, summary="Delete a draft")
    def delete(self, request, pk: int):
        survey = _visible(request, pk)
        if not is_officer(member=request.user):
            raise PermissionDenied("Only officers can delete surveys.")
        services.survey_delete(actor=request.user, survey=survey)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SurveyPublishApi(APIView):
    """Publish a draft to an audience; invitations go through the dispatch pipeline."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SurveyPublishInput"

        audience = serializers.JSONField(
            help_text='An audience spec: {"include": [{"area": id} | {"group": id} | {"polygon": GeoJSON} | '
            '{"radius": {"lon", "lat", "metres"}} …], "exclude": […]}.'
        )
        opens_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        closes_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses=SurveyOutput, summary="Publish a survey")
    def post(self, request, pk: int):
        survey = _managed(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.survey_publish(actor=request.user, survey=survey, **data.validated_data)
        return Response(_survey_out(_managed(request, pk)))


class SurveyCloseApi(APIView):
    permission_classes = [IsOfficer]

    @extend_schema(request=None, responses=SurveyOutput, summary="Close a survey now")
    def post(self, request, pk: int):
        survey = _managed(request, pk)
        services.survey_close(actor=request.user, survey=survey)
        return Response(_survey_out(_managed(request, pk)))


# --- answering

EDIT_KEY_HEADER = OpenApiParameter(
    "X-Edit-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Anonymous surveys: the edit key given when you first answered (nothing else links you to it).",
)


class SurveyResponseApi(APIView):
    """A resident's own answers to a survey they were invited to."""

    permission_classes = [IsResidentOnly]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SurveyAnswersInput"

        answers = serializers.DictField(
            help_text="Question id → answer: an option id (single), a list of option ids (multiple), a number "
            "(rating), {statement id: number} (matrix), text (free text), option ids in rank order (ranking)."
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SurveyAnswersOutput"

        answers = serializers.DictField()
        submitted_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        edit_key = serializers.CharField(
            allow_null=True,
            help_text="Anonymous surveys, first answer only: keep it to change your answers later. Never shown again.",
        )

    def _out(self, response, key: str | None = None) -> dict:
        return self.OutputSerializer(
            {
                "answers": selectors.response_answers(response=response),
                "submitted_at": response.submitted_at,
                "updated_at": response.updated_at,
                "edit_key": key or None,
            }
        ).data

    @extend_schema(parameters=[EDIT_KEY_HEADER], responses=OutputSerializer, summary="Your answers")
    def get(self, request, pk: int):
        survey = _invited(request, pk)
        key = request.headers.get("X-Edit-Key", "")
        mine = selectors.response_of(
            member=request.user, survey=survey, edit_key_hash=services.edit_key_hash(key) if key else ""
        )
        if mine is None:
            raise Http404("You have not answered this survey (or, if it is anonymous, give your edit key).")
        return Response(self._out(mine))

    @extend_schema(
        parameters=[EDIT_KEY_HEADER],
        request=InputSerializer,
        responses={200: OutputSerializer, 201: OutputSerializer},
        summary="Answer, or change your answers",
    )
    def put(self, request, pk: int):
        survey = _invited(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        first = not survey.answered
        response, key = services.survey_response_submit(
            member=request.user,
            survey=survey,
            answers=data.validated_data["answers"],
            edit_key=request.headers.get("X-Edit-Key", ""),
        )
        return Response(self._out(response, key), status=status.HTTP_201_CREATED if first else status.HTTP_200_OK)


# --- results


class BarOutput(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.IntegerField()
    score = serializers.IntegerField(allow_null=True, help_text="Ranking: the Borda score.")
    firsts = serializers.IntegerField(allow_null=True, help_text="Ranking: how many ranked it first.")


class StatementOutput(serializers.Serializer):
    label = serializers.CharField()
    answered = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    cells = BarOutput(many=True)


class AreaRowOutput(serializers.Serializer):
    area = serializers.IntegerField(source="area_id", allow_null=True)
    name = serializers.CharField()
    answered = serializers.IntegerField()
    suppressed = serializers.BooleanField(help_text="Too few answered to show without identifying people.")
    values = serializers.ListField(child=serializers.CharField())


class QuestionResultOutput(serializers.Serializer):
    id = serializers.IntegerField(source="question.pk")
    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    text = serializers.CharField(source="question.text")
    answered = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    options = BarOutput(many=True, source="bars")
    statements = StatementOutput(many=True)
    breakdown_columns = serializers.ListField(child=serializers.CharField())
    breakdown = AreaRowOutput(many=True)


class AreaRateOutput(serializers.Serializer):
    area = serializers.IntegerField(source="area_id", allow_null=True)
    name = serializers.CharField()
    responses = serializers.IntegerField()
    invited = serializers.IntegerField(allow_null=True)
    rate = serializers.IntegerField(allow_null=True)
    suppressed = serializers.BooleanField()


class ResultsOutput(serializers.Serializer):
    responses = serializers.IntegerField()
    invited = serializers.IntegerField(allow_null=True)
    response_rate = serializers.IntegerField(source="rate", allow_null=True)
    by = serializers.CharField(allow_null=True)
    area = serializers.IntegerField(source="area.pk", allow_null=True, default=None)
    area_suppressed = serializers.BooleanField()
    min_cell = serializers.IntegerField()
    rates = AreaRateOutput(many=True)
    questions = QuestionResultOutput(many=True)


class SurveyResultsApi(APIView):
    """Officers: everything, `?by=ward|district`, `?area=<ward or district id>`. Residents: the
    published totals, once the officer's choice allows (otherwise 403 saying when)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=["ward", "district"], required=False),
            OpenApiParameter("area", OpenApiTypes.INT, required=False),
        ],
        responses=ResultsOutput,
        summary="A survey's results",
    )
    def get(self, request, pk: int):
        survey = _visible(request, pk)
        if is_officer(member=request.user):
            area = request.query_params.get("area", "")
            data = results_module.survey_results(
                survey=survey,
                by=request.query_params.get("by"),
                area_id=id_from(area),
                text_samples=0,
            )
        else:
            visible = results_module.results_visible_to_resident(survey=survey, answered=survey.answered)
            if not (visible and results_module.charts_visible_to_resident(survey=survey)):
                raise PermissionDenied("The results of this survey are not published (yet).")
            data = results_module.published_summary(survey=survey)
        return Response(ResultsOutput(data).data)


# --- quick polls


class PollOptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    votes = serializers.IntegerField()
    percent = serializers.IntegerField()


class PollOutput(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    is_open = serializers.BooleanField()
    dispatch = serializers.IntegerField(allow_null=True, help_text="The message the poll is attached to.")
    total = serializers.IntegerField()
    options = PollOptionOutput(many=True)
    my_vote = serializers.IntegerField(allow_null=True, help_text="Residents: the option you chose.")


def _poll_out(poll: Poll, member) -> dict:
    counts = selectors.poll_counts(poll=poll)
    vote = selectors.poll_vote_of(member=member, poll=poll)
    return PollOutput(
        {
            "id": poll.pk,
            "question": poll.question,
            "is_open": poll.is_open(),
            "dispatch": poll.dispatch_id,
            "total": counts["total"],
            "options": [
                {"id": o.pk, "label": o.label, "votes": n, "percent": percent} for o, n, percent in counts["options"]
            ],
            "my_vote": vote.option_id if vote else None,
        }
    ).data


class PollCreateApi(APIView):
    """Attach a quick poll to one of your organisation's messages (an alert's dispatch)."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PollCreateInput"

        question = serializers.CharField(max_length=300)
        options = serializers.ListField(child=serializers.CharField(max_length=120), min_length=2, max_length=6)
        dispatch = serializers.IntegerField(help_text="The id of the message's dispatch.", min_value=1)
        closes_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={201: PollOutput}, summary="Attach a quick poll to a message")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dispatch = Dispatch.objects.filter(pk=values["dispatch"], organisation_id=request.user.organisation_id).first()
        if dispatch is None:
            raise Http404("No such message of your organisation.")
        with transaction.atomic():
            poll = services.poll_create(
                actor=request.user,
                question=values["question"],
                options=values["options"],
                dispatch=dispatch,
                closes_at=values["closes_at"],
            )
        return Response(_poll_out(poll, request.user), status=status.HTTP_201_CREATED)


def _poll(request, pk: int) -> Poll:
    try:
        return selectors.poll_visible_get(member=request.user, pk=pk)
    except Poll.DoesNotExist as exc:
        raise Http404 from exc


class PollDetailApi(APIView):
    @extend_schema(responses=PollOutput, summary="A quick poll and its live results")
    def get(self, request, pk: int):
        return Response(_poll_out(_poll(request, pk), request.user))


class PollVoteApi(APIView):
    permission_classes = [IsResidentOnly]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PollVoteInput"

        option = serializers.IntegerField(min_value=1)

    @extend_schema(request=InputSerializer, responses=PollOutput, summary="Answer a quick poll (again to change it)")
    def post(self, request, pk: int):
        poll = _poll(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.poll_vote(member=request.user, poll=poll, option_id=data.validated_data["option"])
        return Response(_poll_out(poll, request.user))
