"""The verbs of surveys and polls: build, publish, answer, close, moderate, summarise, vote.

Every write is one transaction and checks who is asking. A published survey's
questions are frozen: answers already given must keep meaning what they meant.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from core import personal_data
from core.services import audit_record
from groups.jurisdiction import audience_check_jurisdiction
from groups.models import Area, AreaMember, CommunityGroup
from members.models import Member
from notifications.audience import audience_size_by_channel, audience_spec_clean
from notifications.models import Dispatch
from notifications.services import dispatch_cancel, dispatch_publish

from .models import Answer, Option, Participation, Poll, PollOption, PollVote, Question, Response, Survey
from .permissions import can_manage_poll, can_manage_survey, is_resident
from .selectors import member_is_invited

# Limits that keep a survey answerable on a phone and its results readable.
MAX_QUESTIONS = 60
MAX_OPTIONS = 50
MAX_STATEMENTS = 30
MAX_SCALE_POINTS = 11
MAX_TEXT_LENGTH = 5000
DEFAULT_TEXT_LENGTH = 1000
MAX_LABEL = 300
MAX_SCALE_LABEL = 60
# Invitations are not urgent: they respect quiet hours and daily digests.
INVITATION_PRIORITY = 4


def _require_manager(actor: Member, survey: Survey) -> None:
    if not can_manage_survey(member=actor, survey=survey):
        raise PermissionDenied("Only officers of the survey's organisation can change it.")


def _require_draft(survey: Survey) -> None:
    if not survey.is_draft:
        raise ValidationError(
            "This survey is published, so its questions cannot change: answers already given must keep their meaning."
        )


def site_url(path: str) -> str:
    return urljoin(settings.SITE_URL, path)


# --- building


@transaction.atomic
def survey_create(
    *,
    actor: Member,
    title: str,
    introduction: str = "",
    is_anonymous: bool = False,
    results_visibility: str = Survey.ResultsVisibility.AFTER_CLOSING,
) -> Survey:
    """Start a draft survey for the officer's organisation."""
    if not (actor.is_authenticated and actor.is_officer):
        raise PermissionDenied("Only officers can build surveys.")
    survey = Survey(
        organisation_id=actor.organisation_id,
        title=title.strip(),
        introduction=introduction.strip(),
        is_anonymous=is_anonymous,
        results_visibility=results_visibility,
        created_by=actor,
    )
    survey.full_clean(exclude=["organisation"])
    survey.save()
    audit_record(actor=actor, action="surveys.survey.created", target=survey, organisation=survey.organisation)
    return survey


@transaction.atomic
def survey_update(*, actor: Member, survey: Survey, **fields: Any) -> Survey:
    """Change a draft's title, introduction, anonymity or who sees the results."""
    _require_manager(actor, survey)
    _require_draft(survey)
    allowed = {"title", "introduction", "is_anonymous", "results_visibility"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Cannot change {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(survey, name, value.strip() if isinstance(value, str) else value)
    survey.full_clean(exclude=["organisation"])
    survey.save(update_fields=[*fields])
    return survey


@transaction.atomic
def survey_delete(*, actor: Member, survey: Survey) -> None:
    """Throw away a draft. A published survey stays: residents were invited to it."""
    _require_manager(actor, survey)
    _require_draft(survey)
    audit_record(actor=actor, action="surveys.survey.deleted", target=survey, organisation=survey.organisation)
    survey.delete()


def _labels(values: Iterable[Any], *, field: str, what: str, minimum: int, maximum: int) -> list[str]:
    labels = [str(v).strip() for v in values if str(v).strip()]
    if len(labels) < minimum:
        raise ValidationError({field: f"Give at least {minimum} {what}{'s' if minimum != 1 else ''}."})
    if len(labels) > maximum:
        raise ValidationError({field: f"Give at most {maximum} {what}s."})
    too_long = [label for label in labels if len(label) > MAX_LABEL]
    if too_long:
        raise ValidationError({field: f"Keep each {what} to {MAX_LABEL} characters; “{too_long[0][:40]}…” is longer."})
    seen: set[str] = set()
    for label in labels:
        if label.casefold() in seen:
            raise ValidationError({field: f"“{label}” is there twice: each {what} must be different."})
        seen.add(label.casefold())
    return labels


def question_definition_clean(
    *,
    survey: Survey,
    kind: str,
    text: str,
    help_text: str = "",
    required: bool = True,
    options: Sequence[str] = (),
    max_choices: int | None = None,
    scale_min: int | None = None,
    scale_max: int | None = None,
    scale_labels: Sequence[str] = (),
    max_length: int | None = None,
    rank_count: int | None = None,
    condition_question: Question | None = None,
    condition_options: Sequence[int] = (),
    position: int | None = None,
) -> dict[str, Any]:
    """Check a question as an officer defined it; return the model's fields plus `options`.

    Raises ValidationError keyed by field, in words the officer can act on. Shared by
    the builder pages and the API, so both refuse the same things the same way.
    """
    kind = str(kind)
    if kind not in Question.Kind.values:
        raise ValidationError({"kind": f"Choose a kind of question: {', '.join(Question.Kind.labels)}."})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the question."})
    if len(text) > 500:
        raise ValidationError({"text": "Keep the question to 500 characters."})
    help_text = (help_text or "").strip()
    if len(help_text) > 500:
        raise ValidationError({"help_text": "Keep the hint to 500 characters."})
    fields: dict[str, Any] = {
        "kind": kind,
        "text": text,
        "help_text": help_text,
        "required": bool(required),
        "max_choices": None,
        "scale_min": None,
        "scale_max": None,
        "scale_labels": [],
        "max_length": None,
        "rank_count": None,
        "condition_question": None,
        "condition_options": [],
        "options": [],
    }
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.RANKING):
        fields["options"] = _labels(options, field="options", what="option", minimum=2, maximum=MAX_OPTIONS)
    elif kind == Question.Kind.MATRIX:
        fields["options"] = _labels(options, field="options", what="statement", minimum=1, maximum=MAX_STATEMENTS)
    if kind == Question.Kind.MULTIPLE and max_choices not in (None, ""):
        max_choices = int(max_choices)
        if not 1 <= max_choices <= len(fields["options"]):
            raise ValidationError(
                {"max_choices": f"The most choices allowed is between 1 and {len(fields['options'])}."}
            )
        fields["max_choices"] = max_choices
    if kind in Question.SCALE_KINDS:
        if scale_min in (None, "") or scale_max in (None, ""):
            raise ValidationError({"scale_min": "Give the lowest and highest points of the scale, such as 1 and 5."})
        scale_min, scale_max = int(scale_min), int(scale_max)
        if not -10 <= scale_min <= 10 or not -10 <= scale_max <= 10:
            raise ValidationError({"scale_min": "The scale's points must be between -10 and 10."})
        if scale_max <= scale_min:
            raise ValidationError({"scale_max": "The highest point must be above the lowest."})
        if scale_max - scale_min + 1 > MAX_SCALE_POINTS:
            raise ValidationError({"scale_max": f"A scale has at most {MAX_SCALE_POINTS} points."})
        labels = [str(label).strip() for label in scale_labels]
        while labels and not labels[-1]:
            labels.pop()
        points = scale_max - scale_min + 1
        if labels and len(labels) != points:
            raise ValidationError(
                {"scale_labels": f"Give a label for each of the {points} points, one per line, or none at all."}
            )
        if any(len(label) > MAX_SCALE_LABEL for label in labels):
            raise ValidationError({"scale_labels": f"Keep each label to {MAX_SCALE_LABEL} characters."})
        fields.update(scale_min=scale_min, scale_max=scale_max, scale_labels=labels)
    if kind == Question.Kind.TEXT:
        max_length = DEFAULT_TEXT_LENGTH if max_length in (None, "") else int(max_length)
        if not 1 <= max_length <= MAX_TEXT_LENGTH:
            raise ValidationError({"max_length": f"The longest answer allowed is between 1 and {MAX_TEXT_LENGTH}."})
        fields["max_length"] = max_length
    if kind == Question.Kind.RANKING:
        count = len(fields["options"])
        rank_count = min(3, count) if rank_count in (None, "") else int(rank_count)
        if not 1 <= rank_count <= count:
            raise ValidationError({"rank_count": f"How many to rank must be between 1 and {count}."})
        fields["rank_count"] = rank_count
    if condition_question is not None:
        if condition_question.survey_id != survey.pk or condition_question.kind not in Question.CHOICE_KINDS:
            raise ValidationError(
                {"condition_question": "A question can depend only on a single or multiple choice question before it."}
            )
        if position is not None and condition_question.position >= position:
            raise ValidationError({"condition_question": "A question can depend only on a question before it."})
        own = set(condition_question.options.values_list("pk", flat=True))
        chosen = {int(o) for o in condition_options}
        if not chosen:
            raise ValidationError({"condition_options": "Choose which answers show this question."})
        if chosen - own:
            raise ValidationError({"condition_options": "Those answers are not options of the question it depends on."})
        fields.update(condition_question=condition_question, condition_options=sorted(chosen))
    return fields


def _options_save(question: Question, labels: Sequence[str]) -> None:
    """Keep options whose label stays (their ids are in conditions), add new ones, drop the rest."""
    existing = {o.label.casefold(): o for o in question.options.all()}
    keep = {label.casefold() for label in labels}
    dropped = [o for key, o in existing.items() if key not in keep]
    if dropped:
        dropped_ids = {o.pk for o in dropped}
        for dependant in question.dependants.all():
            if dropped_ids & set(dependant.condition_options):
                raise ValidationError(
                    {"options": f"“{dropped[0].label}” decides whether “{dependant.text}” is shown: change that first."}
                )
        Option.objects.filter(pk__in=dropped_ids).delete()
    for position, label in enumerate(labels):
        option = existing.get(label.casefold())
        if option is None:
            Option.objects.create(question=question, position=position, label=label)
        elif option.position != position or option.label != label:
            option.position, option.label = position, label
            option.save(update_fields=["position", "label"])


@transaction.atomic
def question_save(*, actor: Member, survey: Survey, question: Question | None = None, **definition: Any) -> Question:
    """Add a question to a draft (at the end), or change one of its questions."""
    _require_manager(actor, survey)
    _require_draft(survey)
    if question is None:
        if survey.questions.count() >= MAX_QUESTIONS:
            raise ValidationError(f"A survey has at most {MAX_QUESTIONS} questions.")
        position = (survey.questions.aggregate(m=Max("position"))["m"] or 0) + 1
    else:
        if question.survey_id != survey.pk:
            raise PermissionDenied("That question is not part of this survey.")
        position = question.position
    fields = question_definition_clean(survey=survey, position=position, **definition)
    labels = fields.pop("options")
    if question is None:
        question = Question.objects.create(survey=survey, position=position, **fields)
    else:
        if question.dependants.exists() and fields["kind"] not in Question.CHOICE_KINDS:
            raise ValidationError({"kind": "Later questions depend on this one's answer, so it must stay a choice."})
        for name, value in fields.items():
            setattr(question, name, value)
        question.save()
    _options_save(question, labels)
    return question


@transaction.atomic
def question_delete(*, actor: Member, question: Question) -> None:
    survey = question.survey
    _require_manager(actor, survey)
    _require_draft(survey)
    dependant = question.dependants.first()
    if dependant is not None:
        raise ValidationError(f"“{dependant.text}” is shown depending on this question's answer: change that first.")
    question.delete()


def _order_check(questions: Sequence[Question]) -> None:
    place = {q.pk: i for i, q in enumerate(questions)}
    for q in questions:
        if q.condition_question_id is not None and place.get(q.condition_question_id, -1) >= place[q.pk]:
            raise ValidationError(
                f"“{q.text}” depends on the answer to “{q.condition_question.text}”, which must come before it."
            )


@transaction.atomic
def questions_reorder(*, actor: Member, survey: Survey, order: Sequence[int]) -> list[Question]:
    """Put a draft's questions in this order (every question's id, once)."""
    _require_manager(actor, survey)
    _require_draft(survey)
    questions = {q.pk: q for q in survey.questions.select_related("condition_question").select_for_update(of=("self",))}
    try:
        order = [int(pk) for pk in order]
    except (TypeError, ValueError) as exc:
        raise ValidationError("The order must list the questions by their ids.") from exc
    if sorted(order) != sorted(questions):
        raise ValidationError("The order must list each of the survey's questions once.")
    ordered = [questions[pk] for pk in order]
    _order_check(ordered)
    for position, question in enumerate(ordered, start=1):
        question.position = position
    Question.objects.bulk_update(ordered, ["position"])
    return ordered


def question_move(*, actor: Member, question: Question, direction: str) -> list[Question]:
    """Move a question one place up or down (the keyboard's way to reorder)."""
    ids = list(question.survey.questions.order_by("position", "id").values_list("pk", flat=True))
    i = ids.index(question.pk)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    return questions_reorder(actor=actor, survey=question.survey, order=ids)


@transaction.atomic
def survey_define(
    *,
    actor: Member,
    survey: Survey | None = None,
    title: str,
    introduction: str = "",
    is_anonymous: bool = False,
    results_visibility: str = Survey.ResultsVisibility.AFTER_CLOSING,
    questions: Sequence[dict[str, Any]] = (),
) -> Survey:
    """Create a draft, or replace a draft's whole definition, from one description (the API's way).

    Each question is a dict of `question_save`'s arguments, except that a condition
    is `shown_if: {"question": <index of an earlier question>, "options": [<indexes of
    its options>]}`. All or nothing: the first mistake raises ValidationError
    ("Question 3: …") and nothing is kept.
    """
    if len(questions) > MAX_QUESTIONS:
        raise ValidationError({"questions": f"A survey has at most {MAX_QUESTIONS} questions."})
    fields = {
        "title": title,
        "introduction": introduction,
        "is_anonymous": is_anonymous,
        "results_visibility": results_visibility,
    }
    if survey is None:
        survey = survey_create(actor=actor, **fields)
    else:
        survey_update(actor=actor, survey=survey, **fields)
        survey.questions.all().delete()
    made: list[Question] = []
    for number, definition in enumerate(questions, start=1):
        definition = dict(definition)
        shown_if = definition.pop("shown_if", None)
        if shown_if:
            index = shown_if.get("question")
            if not isinstance(index, int) or not 0 <= index < len(made):
                raise ValidationError({"questions": f"Question {number}: shown_if must name an earlier question."})
            earlier = made[index]
            options = list(earlier.options.order_by("position", "id"))
            try:
                chosen = [options[i].pk for i in shown_if.get("options") or []]
            except (IndexError, TypeError) as exc:
                raise ValidationError(
                    {"questions": f"Question {number}: shown_if names options question {index + 1} does not have."}
                ) from exc
            definition.update(condition_question=earlier, condition_options=chosen)
        try:
            made.append(question_save(actor=actor, survey=survey, **definition))
        except ValidationError as exc:
            detail = "; ".join(
                f"{field.replace('_', ' ')}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                for field, messages in (
                    exc.message_dict.items() if hasattr(exc, "error_dict") else [("__all__", exc.messages)]
                )
            )
            raise ValidationError({"questions": f"Question {number}: {detail}"}) from exc
    return survey


# --- publishing


def audience_describe(*, spec: dict[str, Any]) -> str:
    """Who an audience is, in words for the officer's list ("Wards: North, South; a 500 m circle")."""
    parts = spec.get("include", [])
    area_ids = [p["area"] for p in parts if "area" in p]
    group_ids = [p["group"] for p in parts if "group" in p]
    words = []
    if area_ids:
        names = Area.objects.filter(pk__in=area_ids).order_by("level", "name").values_list("name", "level")
        words.append("; ".join(f"{name} ({Area.Level(level).label.lower()})" for name, level in names))
    if group_ids:
        words.append("; ".join(CommunityGroup.objects.filter(pk__in=group_ids).values_list("name", flat=True)))
    shapes = sum(1 for p in parts if "polygon" in p)
    if shapes:
        words.append(f"{shapes} area{'s' if shapes > 1 else ''} drawn on the map")
    for part in parts:
        if "radius" in part:
            words.append(f"{part['radius']['metres']:,.0f} m around a point")
    return "; ".join(words)[:500]


def _invitation_text(survey: Survey) -> str:
    closes = date_format(timezone.localtime(survey.closes_at), "j F Y, H:i")
    lines = [survey.introduction] if survey.introduction else []
    lines.append(f"{survey.organisation.name} would like to know what matters most to you. Please answer by {closes}.")
    if survey.is_anonymous:
        lines.append("Your answers are anonymous: they are never linked to you.")
    return "\n\n".join(lines)


@transaction.atomic
def survey_publish(
    *,
    actor: Member,
    survey: Survey,
    audience: dict[str, Any],
    closes_at: datetime,
    opens_at: datetime | None = None,
    now: datetime | None = None,
) -> Dispatch:
    """Publish a draft to an audience: freeze it, and queue the invitation in the same transaction.

    The audience must lie inside the organisation's area of responsibility. If it
    opens later, the invitation waits for `opens_at` (the dispatch's `send_at`): nobody
    is invited, so nobody can answer, before then.
    """
    _require_manager(actor, survey)
    survey = Survey.objects.select_for_update().select_related("organisation").get(pk=survey.pk)
    _require_draft(survey)
    now = now or timezone.now()
    questions = list(survey.questions.prefetch_related("options"))
    if not questions:
        raise ValidationError("Add at least one question before publishing.")
    opens_at = opens_at or now
    if closes_at <= now:
        raise ValidationError({"closes_at": "The closing time has already passed: choose a time in the future."})
    if closes_at <= opens_at:
        raise ValidationError({"closes_at": "The survey must close after it opens."})
    spec = audience_spec_clean(spec=audience)
    audience_check_jurisdiction(organisation=survey.organisation_id, spec=spec)
    if (
        audience_size_by_channel(spec=spec, organisation=survey.organisation_id, priority=INVITATION_PRIORITY)[
            "members"
        ]
        == 0
        and opens_at <= now
    ):
        raise ValidationError(
            f"Nobody would be invited: no resident who hears from {survey.organisation.name} lives in, or "
            "belongs to, what you chose."
        )
    survey.status = Survey.Status.PUBLISHED
    survey.opens_at, survey.closes_at = opens_at, closes_at
    survey.audience, survey.audience_description = spec, audience_describe(spec=spec)
    survey.published_at = now
    dispatch = dispatch_publish(
        organisation=survey.organisation,
        source=survey,
        subject=f"Survey: {survey.title}"[:200],
        body_text=_invitation_text(survey),
        url=site_url(reverse("surveys:answer", kwargs={"pk": survey.pk})),
        audience=spec,
        priority=INVITATION_PRIORITY,
        created_by=actor,
        send_at=opens_at if opens_at > now else None,
    )
    survey.invitation_dispatch = dispatch
    survey.save()
    audit_record(
        actor=actor,
        action="surveys.survey.published",
        target=survey,
        organisation=survey.organisation,
        data={"dispatch": dispatch.pk, "anonymous": survey.is_anonymous},
    )
    return dispatch


@transaction.atomic
def survey_close(*, actor: Member, survey: Survey, now: datetime | None = None) -> Survey:
    """Close a published survey now. One that has not opened yet also has its invitation stopped."""
    _require_manager(actor, survey)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    now = now or timezone.now()
    if survey.is_draft:
        raise ValidationError("A draft is not open: there is nothing to close.")
    if survey.has_closed(now):
        raise ValidationError("This survey has already closed.")
    if survey.opens_at > now and survey.invitation_dispatch_id:
        dispatch_cancel(dispatch_id=survey.invitation_dispatch_id, now=now)
    survey.status, survey.closed_at = Survey.Status.CLOSED, now
    survey.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="surveys.survey.closed", target=survey, organisation=survey.organisation)
    return survey


@transaction.atomic
def survey_closes_at_set(*, actor: Member, survey: Survey, closes_at: datetime, now: datetime | None = None) -> Survey:
    """Extend (or shorten) an open survey's closing time."""
    _require_manager(actor, survey)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    now = now or timezone.now()
    if survey.is_draft or survey.has_closed(now):
        raise ValidationError("Only a survey that has not closed yet can have its closing time changed.")
    if closes_at <= max(now, survey.opens_at):
        raise ValidationError({"closes_at": "Choose a closing time in the future, after the survey opens."})
    survey.closes_at = closes_at
    survey.save(update_fields=["closes_at"])
    audit_record(actor=actor, action="surveys.survey.closing_changed", target=survey, organisation=survey.organisation)
    return survey


# --- answering


def edit_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _choice_id(value: Any, valid: set[int], message: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(message)
    try:
        option = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(message) from exc
    if option not in valid:
        raise ValidationError(message)
    return option


def _id_list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _clean_one(question: Question, value: Any) -> list[dict[str, Any]]:
    """One question's answer as Answer rows, or ValidationError saying what is wrong with it."""
    kind = question.kind
    options = {o.pk: o for o in question.options.all()}
    unknown = "That is not one of this question's options."
    if kind == Question.Kind.SINGLE:
        return [{"option_id": _choice_id(value, set(options), unknown)}]
    if kind == Question.Kind.MULTIPLE:
        chosen = [_choice_id(v, set(options), unknown) for v in _id_list(value)]
        if len(set(chosen)) != len(chosen):
            raise ValidationError("Choose each option only once.")
        if question.max_choices and len(chosen) > question.max_choices:
            raise ValidationError(f"Choose at most {question.max_choices} options (you chose {len(chosen)}).")
        return [{"option_id": o} for o in sorted(chosen, key=lambda pk: options[pk].position)]
    if kind == Question.Kind.RATING:
        return [{"value": _scale_value(question, value)}]
    if kind == Question.Kind.MATRIX:
        if not isinstance(value, dict):
            raise ValidationError("Rate each statement.")
        rows = []
        for key, rating in value.items():
            if rating in (None, ""):
                continue
            statement = _choice_id(key, set(options), "That is not one of this question's statements.")
            rows.append({"option_id": statement, "value": _scale_value(question, rating, options[statement].label)})
        missing = [o.label for pk, o in options.items() if pk not in {r["option_id"] for r in rows}]
        if rows and missing and question.required:
            raise ValidationError(f"Rate every statement: “{missing[0]}” has no rating.")
        return sorted(rows, key=lambda r: options[r["option_id"]].position)
    if kind == Question.Kind.TEXT:
        if not isinstance(value, str):
            raise ValidationError("Write your answer as text.")
        # PostgreSQL cannot store NUL; nothing a person types contains one.
        text = value.replace("\x00", "").strip()
        limit = question.max_length or DEFAULT_TEXT_LENGTH
        if len(text) > limit:
            raise ValidationError(f"Keep your answer to {limit:,} characters or fewer (it has {len(text):,}).")
        return [{"text": text}] if text else []
    if kind == Question.Kind.RANKING:
        ranked = [_choice_id(v, set(options), unknown) for v in _id_list(value)]
        if len(set(ranked)) != len(ranked):
            raise ValidationError("Give each option only one rank, and each rank to only one option.")
        wanted = min(question.rank_count or 1, len(options))
        if len(ranked) > wanted:
            raise ValidationError(f"Rank at most {wanted} (you ranked {len(ranked)}).")
        if ranked and question.required and len(ranked) < wanted:
            raise ValidationError(f"Rank your top {wanted}: you ranked {len(ranked)}.")
        return [{"option_id": o, "value": rank} for rank, o in enumerate(ranked, start=1)]
    raise ValidationError("This question cannot be answered.")


def _scale_value(question: Question, value: Any, statement: str = "") -> int:
    low, high = question.scale_min, question.scale_max
    where = f" for “{statement}”" if statement else ""
    message = f"Choose a rating from {low} to {high}{where}."
    if isinstance(value, bool):
        raise ValidationError(message)
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(message) from exc
    if str(value).strip() not in (str(number), f"+{number}") and not isinstance(value, int):
        raise ValidationError(message)
    if not low <= number <= high:
        raise ValidationError(message)
    return number


REQUIRED_MESSAGES = {
    Question.Kind.SINGLE: "Choose an answer.",
    Question.Kind.MULTIPLE: "Choose at least one answer.",
    Question.Kind.RATING: "Choose a rating.",
    Question.Kind.MATRIX: "Rate each statement.",
    Question.Kind.TEXT: "Write an answer.",
    Question.Kind.RANKING: "Rank the options.",
}


def answers_clean(*, questions: Sequence[Question], answers: dict[str, Any]) -> list[tuple[Question, list[dict]]]:
    """Check a whole response against the questions; return each shown question's Answer rows.

    `answers` maps a question's id (as a string) to its raw answer: an option id
    (single), a list of option ids (multiple), a number (rating), {statement id:
    number} (matrix), a string (text), option ids in rank order (ranking). A question
    shown only after some earlier answer is skipped, and whatever was sent for it
    ignored, when that answer was not given. Raises ValidationError mapping "q<id>" to
    what is wrong, having checked every question: the resident sees all their
    mistakes at once.
    """
    if not isinstance(answers, dict):
        raise ValidationError("Answers must map each question's id to its answer.")
    known = {str(q.pk) for q in questions}
    stray = sorted(set(map(str, answers)) - known)
    if stray:
        raise ValidationError({"answers": f"No such question in this survey: {', '.join(stray[:5])}."})
    chosen: dict[int, set[int]] = {}
    errors: dict[str, list[str]] = {}
    cleaned = []
    for question in questions:
        if question.condition_question_id is not None and not (
            chosen.get(question.condition_question_id, set()) & set(question.condition_options)
        ):
            continue
        value = answers.get(str(question.pk))
        try:
            rows = [] if value in (None, "", [], {}) else _clean_one(question, value)
        except ValidationError as exc:
            errors[f"q{question.pk}"] = exc.messages
            continue
        if not rows:
            if question.required:
                errors[f"q{question.pk}"] = [REQUIRED_MESSAGES[question.kind]]
            continue
        if question.kind in Question.CHOICE_KINDS:
            chosen[question.pk] = {r["option_id"] for r in rows}
        cleaned.append((question, rows))
    if errors:
        raise ValidationError(errors)
    return cleaned


def member_ward_and_district(*, member: Member) -> tuple[int | None, int | None]:
    """Where a resident lives now, as the ids of their ward and district (one query)."""
    ward = district = None
    rows = (
        AreaMember.objects.filter(member=member, area__level__in=Area.TILING_LEVELS)
        .order_by("area_id")
        .values_list("area_id", "area__level")
    )
    for area_id, level in rows:
        if level == Area.Level.WARD and ward is None:
            ward = area_id
        elif level == Area.Level.DISTRICT and district is None:
            district = area_id
    return ward, district


def survey_response_submit(
    *,
    member: Member,
    survey: Survey,
    answers: dict[str, Any],
    edit_key: str = "",
    now: datetime | None = None,
) -> tuple[Response, str]:
    """Record (or change) a resident's answers; return the response and, for a first
    anonymous answer, the new edit key (shown to the resident once, kept only hashed).

    Only invited residents, only while the survey is open, only answers that fit the
    questions: otherwise PermissionDenied or ValidationError, and nothing is stored.
    One response per member is the database's rule (`Participation`, and for an
    identified survey `Response` too), so a double submission cannot make two.
    """
    now = now or timezone.now()
    if not is_resident(member=member):
        raise PermissionDenied("Only residents answer surveys.")
    if not member_is_invited(member=member, survey=survey):
        raise PermissionDenied("Only residents invited to this survey can answer it.")
    survey.refresh_from_db(fields=["status", "opens_at", "closes_at"])
    if not survey.is_open(now):
        if survey.has_closed(now):
            raise ValidationError("This survey has closed, so it takes no more answers.")
        raise ValidationError("This survey is not open yet.")
    from .selectors import survey_questions

    cleaned = answers_clean(questions=survey_questions(survey=survey), answers=answers)
    ward, district = member_ward_and_district(member=member)
    new_key = ""
    with transaction.atomic():
        if survey.is_anonymous:
            response, new_key = _anonymous_response(member=member, survey=survey, edit_key=edit_key, now=now)
        else:
            response = _identified_response(member=member, survey=survey, now=now)
        # Anonymous: times to the hour only (see _anonymous_response).
        stamp = now.replace(minute=0, second=0, microsecond=0) if survey.is_anonymous else now
        response.ward_id, response.district_id, response.updated_at = ward, district, stamp
        response.save(update_fields=["ward", "district", "updated_at"])
        Answer.objects.filter(response=response).delete()
        Answer.objects.bulk_create(
            Answer(
                response=response,
                survey_id=survey.pk,
                question=question,
                first=i == 0,
                ward_id=ward,
                district_id=district,
                **row,
            )
            for question, rows in cleaned
            for i, row in enumerate(rows)
        )
    return response, new_key


def _identified_response(*, member: Member, survey: Survey, now: datetime) -> Response:
    Participation.objects.get_or_create(survey=survey, member=member)
    response = Response.objects.select_for_update().filter(survey=survey, member=member).first()
    if response is None:
        try:
            with transaction.atomic():
                response = Response.objects.create(survey=survey, member=member, submitted_at=now, updated_at=now)
        except IntegrityError:  # a second submission got there first: change that one
            response = Response.objects.select_for_update().get(survey=survey, member=member)
    return response


def _anonymous_response(*, member: Member, survey: Survey, edit_key: str, now: datetime) -> tuple[Response, str]:
    if edit_key:
        response = (
            Response.objects.select_for_update()
            .filter(survey=survey, member__isnull=True, edit_key_hash=edit_key_hash(edit_key))
            .first()
        )
        if response is None or not Participation.objects.filter(survey=survey, member=member).exists():
            raise ValidationError("This private link to your answers is not valid for this survey.")
        return response, ""
    try:
        with transaction.atomic():
            Participation.objects.create(survey=survey, member=member)
    except IntegrityError as exc:
        raise ValidationError(
            "You have already answered this survey. It is anonymous, so your answers can only be changed "
            "through the private link you were given when you answered."
        ) from exc
    key = secrets.token_urlsafe(24)
    # The submitted time is kept to the hour: exact times could be matched against
    # other records of when a resident was using the site.
    hour = now.replace(minute=0, second=0, microsecond=0)
    response = Response.objects.create(
        survey=survey, edit_key_hash=edit_key_hash(key), submitted_at=hour, updated_at=hour
    )
    return response, key


# --- after the answers


@transaction.atomic
def answer_moderate(*, actor: Member, answer: Answer, hide: bool, now: datetime | None = None) -> Answer:
    """Hide a free-text answer (abuse, or personal details about someone) from results and
    exports, or show it again. Nothing is deleted: the decision can be reversed."""
    survey = answer.survey
    _require_manager(actor, survey)
    if answer.value is not None or answer.option_id is not None:
        raise ValidationError("Only free-text answers are moderated.")
    answer.hidden_at = (now or timezone.now()) if hide else None
    answer.hidden_by = actor if hide else None
    answer.save(update_fields=["hidden_at", "hidden_by"])
    audit_record(
        actor=actor,
        action="surveys.answer.hidden" if hide else "surveys.answer.shown",
        target=answer,
        organisation=survey.organisation,
    )
    return answer


SUMMARY_CATEGORY = "police_news"


@transaction.atomic
def survey_summary_publish(*, actor: Member, survey: Survey, text: str, now: datetime | None = None) -> Dispatch:
    """Send "You said, we did" to everyone the survey was sent to, as an alert, and show it with the results.

    The alert (news, not urgent) goes to exactly the invitation's recipients (audience
    `{"dispatch": id}`), on their own channels, through alerts.services: so it has an
    alert's page, where residents can reply to it, and links to the results.
    """
    from alerts.services import alert_create, alert_publish

    _require_manager(actor, survey)
    survey = Survey.objects.select_for_update().select_related("organisation").get(pk=survey.pk)
    if survey.is_draft or survey.invitation_dispatch_id is None:
        raise ValidationError("Publish the survey before sending a summary of its results.")
    if survey.summary_dispatch_id is not None:
        raise ValidationError("The summary has already been sent.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"summary_text": "Write what you heard and what you will do about it."})
    if len(text) > 5000:
        raise ValidationError({"summary_text": "Keep the summary to 5,000 characters."})
    results_url = site_url(reverse("surveys:published_results", kwargs={"pk": survey.pk}))
    alert = alert_create(
        actor=actor,
        kind="news",
        category=SUMMARY_CATEGORY,
        priority=INVITATION_PRIORITY,
        title=f"You said, we did: {survey.title}"[:200],
        body_markdown=f"{text}\n\n[See the results of the survey]({results_url})",
        audience={"include": [{"dispatch": survey.invitation_dispatch_id}]},
    )
    dispatch = alert_publish(actor=actor, alert=alert)
    survey.summary_text, survey.summary_dispatch = text, dispatch
    survey.summary_published_at = now or timezone.now()
    survey.save(update_fields=["summary_text", "summary_dispatch", "summary_published_at"])
    audit_record(
        actor=actor,
        action="surveys.summary.published",
        target=survey,
        organisation=survey.organisation,
        data={"alert": alert.pk, "dispatch": dispatch.pk},
    )
    return dispatch


def invited_by_area(*, survey: Survey) -> dict[str, int]:
    """How many were invited per ward and district ({area id: members}), worked out once.

    The invitation's recipients never change after its fan-out, so the figure is kept
    on the survey the first time a results page needs it (a join of a million
    deliveries with where their members live is worth doing once, not per page view).
    """
    if survey.invited_by_area is not None:
        return survey.invited_by_area
    dispatch = survey.invitation_dispatch
    if dispatch is None or dispatch.fanned_out_at is None:
        return {}
    from django.db.models import Count

    from notifications.models import Delivery

    invited = Delivery.objects.filter(dispatch_id=dispatch.pk).values("member_id")
    counts = {
        str(area_id): n
        for area_id, n in AreaMember.objects.filter(area__level__in=Area.TILING_LEVELS, member_id__in=invited)
        .values_list("area_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    Survey.objects.filter(pk=survey.pk).update(invited_by_area=counts)
    survey.invited_by_area = counts
    return counts


# --- quick polls


@transaction.atomic
def poll_create(
    *,
    actor: Member,
    question: str,
    options: Sequence[str],
    dispatch: Dispatch | None = None,
    closes_at: datetime | None = None,
) -> Poll:
    """Attach a one-question poll to a message (call it in the transaction that publishes
    the message, so the poll is there before anyone reads it)."""
    if not (actor.is_authenticated and actor.is_officer):
        raise PermissionDenied("Only officers can run polls.")
    if dispatch is not None and dispatch.organisation_id != actor.organisation_id:
        raise PermissionDenied("You can attach a poll only to your organisation's messages.")
    question = (question or "").strip()
    if not question or len(question) > 300:
        raise ValidationError({"question": "Write the poll's question (at most 300 characters)."})
    labels = _labels(options, field="options", what="option", minimum=2, maximum=6)
    if any(len(label) > 120 for label in labels):
        raise ValidationError({"options": "Keep each option to 120 characters: they are buttons."})
    if dispatch is not None and Poll.objects.filter(dispatch=dispatch).exists():
        raise ValidationError("That message already has a poll.")
    poll = Poll.objects.create(
        organisation_id=actor.organisation_id,
        question=question,
        dispatch=dispatch,
        closes_at=closes_at,
        created_by=actor,
    )
    PollOption.objects.bulk_create(PollOption(poll=poll, position=i, label=label) for i, label in enumerate(labels))
    audit_record(actor=actor, action="surveys.poll.created", target=poll, organisation=poll.organisation)
    return poll


def poll_vote(*, member: Member, poll: Poll, option_id: Any, now: datetime | None = None) -> PollVote:
    """A resident's one tap: their answer to the poll (tapping another option changes it)."""
    if not is_resident(member=member):
        raise PermissionDenied("Only residents answer polls.")
    from notifications.models import Delivery

    if poll.dispatch_id is None or not Delivery.objects.filter(dispatch_id=poll.dispatch_id, member=member).exists():
        raise PermissionDenied("Only residents who received this message can answer its poll.")
    if not poll.is_open(now):
        raise ValidationError("This poll has closed.")
    option = _choice_id(
        option_id, set(poll.options.values_list("pk", flat=True)), "That is not one of the poll's options."
    )
    vote, _ = PollVote.objects.update_or_create(
        poll=poll, member=member, defaults={"option_id": option, "voted_at": now or timezone.now()}
    )
    return vote


def poll_for_alert(*, actor: Member, dispatch: Dispatch, question: str, options: Sequence[str]) -> Poll:
    """For the alerts app: the poll of an alert being published (same transaction)."""
    if not can_manage_poll(member=actor, poll=Poll(organisation_id=dispatch.organisation_id)):
        raise PermissionDenied("You can attach a poll only to your organisation's messages.")
    return poll_create(actor=actor, question=question, options=options, dispatch=dispatch)


# --- personal data


def _export(member: Member) -> dict[str, Any]:
    identified = (
        Response.objects.filter(member=member)
        .select_related("survey__organisation")
        .prefetch_related("answers__question", "answers__option")
        .order_by("submitted_at", "pk")
    )
    anonymous = Participation.objects.filter(member=member, survey__is_anonymous=True).select_related("survey")
    return {
        "responses": [
            {
                "survey": r.survey.title,
                "organisation": r.survey.organisation.name,
                "submitted_at": r.submitted_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "answers": [
                    {
                        "question": a.question.text,
                        "option": a.option.label if a.option_id else None,
                        "value": a.value,
                        "text": a.text or None,
                    }
                    for a in r.answers.all()
                ],
            }
            for r in identified
        ],
        # Anonymous answers are not linked to anyone, so they cannot be exported (or erased) per member.
        "anonymous_surveys_answered": [p.survey.title for p in anonymous],
        "poll_votes": [
            {"poll": v.poll.question, "answer": v.option.label, "at": v.voted_at.isoformat()}
            for v in PollVote.objects.filter(member=member).select_related("poll", "option").order_by("voted_at")
        ],
    }


def _erase(member: Member) -> None:
    # Identified answers stay in the results, but no longer say whose they were; free
    # text may name the resident, so it goes.
    responses = Response.objects.filter(member=member)
    Answer.objects.filter(response__in=responses).exclude(text="").delete()
    responses.update(member=None)
    Participation.objects.filter(member=member).delete()
    PollVote.objects.filter(member=member).delete()


personal_data.register("surveys", export=_export, erase=_erase)
