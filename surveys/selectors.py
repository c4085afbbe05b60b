"""Reads of surveys and polls, always scoped to the member asking (out of scope is DoesNotExist: a 404)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from members.models import Member, OrganisationOptIn
from members.permissions import is_officer
from notifications.models import Delivery

from .models import Answer, Participation, Poll, PollVote, Question, Response, Survey


def surveys_managed_by(*, viewer: Member) -> QuerySet[Survey]:
    """An officer's organisation's surveys, newest first, each with how many have answered."""
    if not is_officer(member=viewer):
        return Survey.objects.none()
    return (
        Survey.objects.filter(organisation_id=viewer.organisation_id)
        .select_related("invitation_dispatch")
        .annotate(response_count=Count("responses", distinct=True), question_count=Count("questions", distinct=True))
        .order_by("-created_at", "-id")
    )


def survey_managed_get(*, viewer: Member, pk: int) -> Survey:
    """One survey of the officer's organisation (Survey.DoesNotExist otherwise)."""
    if not is_officer(member=viewer):
        raise Survey.DoesNotExist
    return Survey.objects.select_related("organisation", "invitation_dispatch").get(
        pk=pk, organisation_id=viewer.organisation_id
    )


def _invited(member: Member) -> Exists:
    # The unique (dispatch, member, channel) index answers this with one index probe.
    return Exists(Delivery.objects.filter(dispatch_id=OuterRef("invitation_dispatch_id"), member=member))


def surveys_invited(*, member: Member) -> QuerySet[Survey]:
    """The surveys a resident was invited to (has a delivery of the invitation), from
    organisations they still hear from, each annotated `answered`."""
    if not member.is_authenticated or member.is_officer:
        return Survey.objects.none()
    opted_in = Exists(OrganisationOptIn.objects.filter(member=member, organisation_id=OuterRef("organisation_id")))
    return (
        Survey.objects.exclude(status=Survey.Status.DRAFT)
        .filter(invitation_dispatch__isnull=False)
        .filter(_invited(member), opted_in)
        .annotate(answered=Exists(Participation.objects.filter(survey=OuterRef("pk"), member=member)))
        .select_related("organisation")
        .order_by("-opens_at", "-id")
    )


def survey_invited_get(*, member: Member, pk: int) -> Survey:
    """One survey the resident was invited to (Survey.DoesNotExist otherwise: a 404)."""
    return surveys_invited(member=member).get(pk=pk)


def member_is_invited(*, member: Member, survey: Survey) -> bool:
    return survey.invitation_dispatch_id is not None and surveys_invited(member=member).filter(pk=survey.pk).exists()


def survey_questions(*, survey: Survey) -> list[Question]:
    """The questions in order, each with its options (two queries)."""
    return list(survey.questions.prefetch_related("options").order_by("position", "id"))


def response_of(*, member: Member, survey: Survey, edit_key_hash: str = "") -> Response | None:
    """The member's own response: by member (identified), or by the edit key they hold (anonymous)."""
    if survey.is_anonymous:
        if not edit_key_hash:
            return None
        return Response.objects.filter(survey=survey, edit_key_hash=edit_key_hash, member__isnull=True).first()
    return Response.objects.filter(survey=survey, member=member).first()


def response_answers(*, response: Response | None) -> dict[str, Any]:
    """A stored response as raw answers (the shape services.answers_clean takes): to fill the
    form in again, or to give back through the API."""
    if response is None:
        return {}
    raw: dict[str, Any] = {}
    for a in response.answers.select_related("question").order_by("pk"):
        key, kind = str(a.question_id), a.question.kind
        if kind in (Question.Kind.MULTIPLE, Question.Kind.RANKING):
            raw.setdefault(key, []).append(a.option_id)
        elif kind == Question.Kind.MATRIX:
            raw.setdefault(key, {})[str(a.option_id)] = a.value
        elif kind == Question.Kind.RATING:
            raw[key] = a.value
        elif kind == Question.Kind.TEXT:
            raw[key] = a.text
        else:
            raw[key] = a.option_id
    return raw


def has_answered(*, member: Member, survey: Survey) -> bool:
    return Participation.objects.filter(survey=survey, member=member).exists()


def text_answers(*, survey: Survey, question: Question, area_id: int | None = None) -> QuerySet[Answer]:
    """A free-text question's answers, newest first (officers read and moderate them)."""
    answers = Answer.objects.filter(survey=survey, question=question, option__isnull=True, value__isnull=True).exclude(
        text=""
    )
    if area_id:
        answers = answers.filter(Q(ward_id=area_id) | Q(district_id=area_id))
    # Newest first by id: changing a response writes its answers anew, so a higher id is a
    # later answer, and the primary key gives the order without joining the responses.
    return answers.order_by("-pk")


def polls_managed_by(*, viewer: Member) -> QuerySet[Poll]:
    if not is_officer(member=viewer):
        return Poll.objects.none()
    return Poll.objects.filter(organisation_id=viewer.organisation_id).select_related("dispatch")


def dispatches_open_to_polls(*, viewer: Member) -> QuerySet:
    """An officer's organisation's alerts of the last 30 days that have no poll yet."""
    from datetime import timedelta

    from django.utils import timezone

    from notifications.models import Dispatch

    if not is_officer(member=viewer):
        return Dispatch.objects.none()
    return (
        Dispatch.objects.filter(
            organisation_id=viewer.organisation_id,
            source_type="alerts.alert",
            created_at__gte=timezone.now() - timedelta(days=30),
            poll__isnull=True,
        )
        .exclude(status=Dispatch.Status.CANCELLED)
        .order_by("-created_at")
    )


def poll_visible_get(*, member: Member, pk: int) -> Poll:
    """A poll an officer's organisation ran, or one attached to a message the resident received."""
    if is_officer(member=member):
        return polls_managed_by(viewer=member).get(pk=pk)
    if not member.is_authenticated:
        raise Poll.DoesNotExist
    received = Exists(Delivery.objects.filter(dispatch_id=OuterRef("dispatch_id"), member=member))
    return Poll.objects.filter(received, dispatch__isnull=False).get(pk=pk)


def poll_for_dispatch(*, dispatch_id: int) -> Poll | None:
    return Poll.objects.filter(dispatch_id=dispatch_id).prefetch_related("options").first()


def poll_counts(*, poll: Poll) -> dict:
    """{"total": n, "options": [(option, count, percent)]}: one grouped query."""
    counts = dict(PollVote.objects.filter(poll=poll).values_list("option_id").annotate(n=Count("pk")).order_by())
    total = sum(counts.values())
    options = [
        (option, counts.get(option.pk, 0), round(100 * counts.get(option.pk, 0) / total) if total else 0)
        for option in poll.options.all()
    ]
    return {"total": total, "options": options}


def poll_vote_of(*, member: Member, poll: Poll) -> PollVote | None:
    if not member.is_authenticated:
        return None
    return PollVote.objects.filter(poll=poll, member=member).first()
