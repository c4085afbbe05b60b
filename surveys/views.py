"""Survey pages: officers build, target, publish and read results; residents answer.

Thin: each view reads through a selector scoped to the person asking (anything else
is a 404), calls one service, and renders. Services' ValidationErrors come back as
form errors with the page's error summary; nothing is stored when one is raised.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.ids import id_from, whole_number_from
from core.services import audit_record
from groups.area_views import _collection, _map_settings, _reference_areas
from groups.models import Area
from members.decorators import officer_required
from notifications.audience import audience_size_by_channel, audience_spec_clean
from notifications.selectors import dispatch_reach

from . import results as results_module
from . import selectors, services
from .forms import ClosingTimeForm, PollForm, PublishForm, QuestionForm, SummaryForm, SurveyDetailsForm
from .models import Answer, Poll, Question, Response, Survey
from .permissions import is_resident

SURVEYS_PER_PAGE = 25
ANSWERS_PER_PAGE = 50
EDIT_COOKIE = "mcv_survey_key"
# Exports of more responses than this are streamed rather than built whole.
CSV_STREAM_FROM = 5000


def _apply_errors(form, exc: ValidationError, fields: dict[str, str | None] | None = None) -> None:
    """A service's ValidationError onto the form: by field where it names one, else at the top."""
    fields = fields or {}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = fields.get(name, name)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _managed(request: HttpRequest, pk: int) -> Survey:
    try:
        return selectors.survey_managed_get(viewer=request.user, pk=pk)
    except Survey.DoesNotExist as exc:
        raise Http404("No such survey in your organisation.") from exc


def _question_of(survey: Survey, qid: int) -> Question:
    return get_object_or_404(survey.questions.prefetch_related("options"), pk=qid)


# --- officers: the list and a new survey


@officer_required
@require_safe
def manage_list(request: HttpRequest) -> HttpResponse:
    """The organisation's surveys, newest first, with where each stands and how many answered."""
    page = Paginator(selectors.surveys_managed_by(viewer=request.user), SURVEYS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "surveys/manage_list.html", {"page": page, "now": timezone.now()})


@officer_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    form = SurveyDetailsForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        survey = services.survey_create(
            actor=request.user,
            title=form.cleaned_data["title"],
            introduction=form.cleaned_data["introduction"],
            is_anonymous=form.cleaned_data["is_anonymous"],
            results_visibility=form.cleaned_data["results_visibility"],
        )
        messages.success(request, "The survey is started. Now add its questions.")
        return redirect("surveys:build", pk=survey.pk)
    return render(request, "surveys/create.html", {"form": form}, status=400 if form.errors else 200)


# --- officers: building a draft


@officer_required
@require_http_methods(["GET", "POST"])
def build(request: HttpRequest, pk: int) -> HttpResponse:
    """A survey's page for its officers: its frame, its questions in order, what to do next."""
    survey = _managed(request, pk)
    data = request.POST if request.method == "POST" else None
    form = SurveyDetailsForm(data, instance=survey) if survey.is_draft else None
    if request.method == "POST":
        if form is None:
            return HttpResponse("A published survey's details cannot change.", status=409)
        if form.is_valid():
            try:
                services.survey_update(
                    actor=request.user, survey=survey, **{k: form.cleaned_data[k] for k in form.Meta.fields}
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, "The survey's details are saved.")
                return redirect("surveys:build", pk=survey.pk)
    questions = selectors.survey_questions(survey=survey)
    numbers = {q.pk: n for n, q in enumerate(questions, start=1)}
    for q in questions:
        q.condition_number = numbers.get(q.condition_question_id)
    return render(
        request,
        "surveys/build.html",
        {
            "survey": survey,
            "form": form,
            "questions": questions,
            "kinds": Question.Kind.choices,
            "closing_form": ClosingTimeForm(initial={"closes_at": survey.closes_at}),
            "phase": survey.phase(),
            "response_count": survey.responses.count(),
        },
        status=400 if form is not None and form.errors else 200,
    )


@officer_required
@require_http_methods(["GET", "POST"])
def question_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a question of the kind chosen (?kind=…); without a kind, choose one."""
    survey = _managed(request, pk)
    if not survey.is_draft:
        messages.error(request, "This survey is published, so its questions cannot change.")
        return redirect("surveys:build", pk=survey.pk)
    kind = request.GET.get("kind") or request.POST.get("kind", "")
    if kind not in Question.Kind.values:
        return render(request, "surveys/question_kind.html", {"survey": survey, "kinds": Question.Kind.choices})
    return _question_page(request, survey, kind, None)


@officer_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, pk: int, qid: int) -> HttpResponse:
    survey = _managed(request, pk)
    question = _question_of(survey, qid)
    if not survey.is_draft:
        messages.error(request, "This survey is published, so its questions cannot change.")
        return redirect("surveys:build", pk=survey.pk)
    return _question_page(request, survey, question.kind, question)


_QUESTION_FIELDS = {"condition_question": "condition", "condition_options": "condition", "kind": None}


def _question_page(request: HttpRequest, survey: Survey, kind: str, question: Question | None) -> HttpResponse:
    form = QuestionForm(request.POST if request.method == "POST" else None, kind=kind, survey=survey, question=question)
    if form.is_bound and form.is_valid():
        try:
            saved = services.question_save(actor=request.user, survey=survey, question=question, **form.definition())
        except ValidationError as exc:
            _apply_errors(form, exc, _QUESTION_FIELDS)
        else:
            messages.success(request, f"“{saved.text}” is saved.")
            return redirect(f"{reverse('surveys:build', kwargs={'pk': survey.pk})}#question-{saved.pk}")
    return render(
        request,
        "surveys/question_form.html",
        {"survey": survey, "form": form, "question": question, "kind": kind, "kind_label": Question.Kind(kind).label},
        status=400 if form.errors else 200,
    )


@officer_required
@require_POST
def question_delete(request: HttpRequest, pk: int, qid: int) -> HttpResponse:
    survey = _managed(request, pk)
    question = _question_of(survey, qid)
    try:
        services.question_delete(actor=request.user, question=question)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"“{question.text}” is removed.")
    return redirect("surveys:build", pk=survey.pk)


@officer_required
@require_POST
def question_move(request: HttpRequest, pk: int, qid: int) -> HttpResponse:
    """Move a question up or down one place: the keyboard's (and no-JavaScript) way to reorder."""
    survey = _managed(request, pk)
    question = _question_of(survey, qid)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponse("Say up or down.", status=400)
    try:
        services.question_move(actor=request.user, question=question, direction=direction)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"“{question.text}” moved {direction}.")
    return redirect(f"{reverse('surveys:build', kwargs={'pk': survey.pk})}#question-{question.pk}")


@officer_required
@require_POST
def questions_order(request: HttpRequest, pk: int) -> HttpResponse:
    """The order after a drag (surveys.js sends the ids in their new order)."""
    survey = _managed(request, pk)
    try:
        services.questions_reorder(actor=request.user, survey=survey, order=request.POST.getlist("order"))
    except ValidationError as exc:
        return JsonResponse({"detail": " ".join(exc.messages)}, status=400)
    return JsonResponse({"order": list(survey.questions.order_by("position").values_list("pk", flat=True))})


# --- answering (and previewing) the questions


def answers_from_post(questions: list[Question], data) -> tuple[dict[str, Any], dict[int, str]]:
    """The raw answers in a posted answer form (as services.answers_clean reads them),
    and errors only the form can see (two options given the same rank)."""
    raw: dict[str, Any] = {}
    errors: dict[int, str] = {}
    for q in questions:
        name = f"q{q.pk}"
        if q.kind == Question.Kind.MULTIPLE:
            raw[str(q.pk)] = data.getlist(name)
        elif q.kind == Question.Kind.MATRIX:
            raw[str(q.pk)] = {str(o.pk): data.get(f"{name}_{o.pk}", "") for o in q.options.all()}
            if not any(raw[str(q.pk)].values()):
                raw[str(q.pk)] = {}
        elif q.kind == Question.Kind.RANKING:
            ranks: dict[int, list[int]] = {}
            for o in q.options.all():
                value = data.get(f"{name}_{o.pk}", "")
                if (rank := whole_number_from(value)) is not None:
                    ranks.setdefault(rank, []).append(o.pk)
                elif value:
                    errors[q.pk] = "Choose a rank from the list."
            if any(len(v) > 1 for v in ranks.values()):
                errors[q.pk] = "Give each rank to only one option."
            elif ranks and sorted(ranks) != list(range(1, len(ranks) + 1)):
                errors[q.pk] = (
                    f"Use the ranks in order from 1, without gaps (you used {', '.join(map(str, sorted(ranks)))})."
                )
            raw[str(q.pk)] = [ranks[r][0] for r in sorted(ranks)]
        else:
            raw[str(q.pk)] = data.get(name, "")
    return raw, errors


def question_views(questions: list[Question], raw: dict[str, Any], errors: dict[str, list[str]]) -> list[dict]:
    """What the answer template needs per question: its number, current answer, error, condition."""
    numbers = {q.pk: n for n, q in enumerate(questions, start=1)}
    labels = {o.pk: o.label for q in questions for o in q.options.all()}
    views = []
    for q in questions:
        value = raw.get(str(q.pk))
        view: dict[str, Any] = {"q": q, "number": numbers[q.pk], "error": " ".join(errors.get(f"q{q.pk}", []))}
        if q.kind in (Question.Kind.SINGLE, Question.Kind.RATING, Question.Kind.TEXT):
            view["value"] = "" if value is None else str(value)
        elif q.kind == Question.Kind.MULTIPLE:
            view["values"] = {str(v) for v in (value or [])}
        elif q.kind == Question.Kind.MATRIX:
            given = value if isinstance(value, dict) else {}
            view["rows"] = [(o, str(given.get(str(o.pk), "") or "")) for o in q.options.all()]
        elif q.kind == Question.Kind.RANKING:
            order = [str(v) for v in (value or [])]
            depth = min(q.rank_count or 1, q.options.count())
            view["ranks"] = list(range(1, depth + 1))
            view["rows"] = [(o, str(order.index(str(o.pk)) + 1) if str(o.pk) in order else "") for o in q.options.all()]
        if q.condition_question_id:
            view["condition"] = {
                "question": q.condition_question_id,
                "number": numbers.get(q.condition_question_id),
                "options": ",".join(map(str, q.condition_options)),
                "labels": " or ".join(f"“{labels[o]}”" for o in q.condition_options if o in labels),
            }
        views.append(view)
    return views


def _all_errors(questions: list[Question], raw: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The form's own errors plus every other mistake the service finds: all at once."""
    try:
        services.answers_clean(questions=questions, answers=raw)
    except ValidationError as exc:
        found = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        for key, value in found.items():
            errors.setdefault(key, value)
    return errors


def _first_input_id(view: dict) -> str:
    q = view["q"]
    if q.kind in (Question.Kind.TEXT,):
        return f"q{q.pk}"
    if q.kind in (Question.Kind.MATRIX, Question.Kind.RANKING):
        return f"q{q.pk}_{q.options.all()[0].pk}" + ("_0" if q.kind == Question.Kind.MATRIX else "")
    return f"q{q.pk}_0"


def _render_answer_form(request, survey, questions, raw, errors, *, preview=False, status=200, extra=None):
    views = question_views(questions, raw, errors)
    summary = [(f"Question {v['number']}: {v['error']}", _first_input_id(v)) for v in views if v["error"]]
    summary += [(message, "") for message in errors.get("__all__", [])]
    context = {
        "survey": survey,
        "questions": views,
        "errors": summary,
        "preview": preview,
        "has_errors": bool(summary),
        **(extra or {}),
    }
    return render(request, "surveys/answer.html", context, status=status)


@officer_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The survey as a resident will see it. Sending it checks the answers, stores nothing."""
    survey = _managed(request, pk)
    questions = selectors.survey_questions(survey=survey)
    raw: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    checked = False
    if request.method == "POST":
        raw, form_errors = answers_from_post(questions, request.POST)
        errors = _all_errors(questions, raw, {f"q{k}": [v] for k, v in form_errors.items()})
        checked = not errors
    return _render_answer_form(
        request, survey, questions, raw, errors, preview=True, status=400 if errors else 200, extra={"checked": checked}
    )


def _edit_key(request: HttpRequest, survey: Survey) -> str:
    if not survey.is_anonymous:
        return ""
    return request.COOKIES.get(f"{EDIT_COOKIE}_{survey.pk}", "")


def _set_edit_cookie(response: HttpResponse, survey: Survey, key: str) -> None:
    """The anonymous edit key lives only with the resident: a cookie for this survey's pages.
    Never in the server's session, which would link it to the member."""
    seconds = max(60, int((survey.closes_at - timezone.now()).total_seconds()))
    response.set_cookie(
        f"{EDIT_COOKIE}_{survey.pk}",
        key,
        max_age=seconds,
        path=reverse("surveys:answer", kwargs={"pk": survey.pk}),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _invited_survey(request: HttpRequest, pk: int) -> Survey:
    try:
        return selectors.survey_invited_get(member=request.user, pk=pk)
    except Survey.DoesNotExist as exc:
        raise Http404("No such survey among those you were invited to.") from exc


@login_required
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    """A resident answers, or changes their answers, until the survey closes."""
    survey = _invited_survey(request, pk)
    key = _edit_key(request, survey)
    mine = selectors.response_of(
        member=request.user, survey=survey, edit_key_hash=services.edit_key_hash(key) if key else ""
    )
    if mine is None and key:
        key = ""  # a stale cookie: not this survey's response any more
    answered = survey.answered
    if not survey.is_open():
        return render(
            request,
            "surveys/answer_closed.html",
            {"survey": survey, "answered": answered, "results_link": _results_link(survey, answered)},
        )
    questions = selectors.survey_questions(survey=survey)
    if request.method == "POST":
        raw, form_errors = answers_from_post(questions, request.POST)
        errors = {f"q{k}": [v] for k, v in form_errors.items()}
        if errors:
            errors = _all_errors(questions, raw, errors)
        else:
            try:
                _response, new_key = services.survey_response_submit(
                    member=request.user, survey=survey, answers=raw, edit_key=key
                )
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            else:
                reply = redirect("surveys:thanks", pk=survey.pk)
                if new_key:
                    _set_edit_cookie(reply, survey, new_key)
                return reply
        return _render_answer_form(
            request, survey, questions, raw, errors, status=400, extra={"answered": answered, "locked": False}
        )
    locked = survey.is_anonymous and answered and mine is None
    return _render_answer_form(
        request,
        survey,
        questions,
        selectors.response_answers(response=mine),
        {},
        extra={"answered": answered, "locked": locked},
    )


def _results_link(survey: Survey, answered: bool) -> str:
    if results_module.charts_visible_to_resident(survey=survey) or survey.summary_published_at:
        return reverse("surveys:published_results", kwargs={"pk": survey.pk})
    return ""


@login_required
@require_safe
def thanks(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _invited_survey(request, pk)
    if not survey.answered:
        return redirect("surveys:answer", pk=survey.pk)
    key = _edit_key(request, survey)
    private_link = ""
    if key:
        private_link = request.build_absolute_uri(reverse("surveys:private_link", kwargs={"pk": survey.pk, "key": key}))
    return render(
        request,
        "surveys/thanks.html",
        {
            "survey": survey,
            "results_link": _results_link(survey, True),
            "results_now": results_module.results_visible_to_resident(survey=survey, answered=True),
            "private_link": private_link,
        },
    )


@login_required
@require_safe
def private_link(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """An anonymous respondent's private link back to their answers (on another device too)."""
    survey = _invited_survey(request, pk)
    if (
        not survey.is_anonymous
        or selectors.response_of(member=request.user, survey=survey, edit_key_hash=services.edit_key_hash(key)) is None
        or not survey.answered
    ):
        raise Http404("This private link is not valid.")
    reply = redirect("surveys:answer", pk=survey.pk)
    if survey.is_open():
        _set_edit_cookie(reply, survey, key)
    return reply


@login_required
@require_safe
def resident_list(request: HttpRequest) -> HttpResponse:
    """The surveys a resident was invited to: open ones first, then those that closed."""
    if request.user.is_officer:
        return redirect("surveys:manage_list")
    page = Paginator(selectors.surveys_invited(member=request.user), SURVEYS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        {
            "survey": s,
            "open": s.is_open(now),
            "results": results_module.results_visible_to_resident(survey=s, answered=s.answered, now=now),
        }
        for s in page
    ]
    return render(request, "surveys/resident_list.html", {"page": page, "rows": rows})


@login_required
@require_safe
def published_results(request: HttpRequest, pk: int) -> HttpResponse:
    """The results as residents see them: totals only, once the officer's choice allows."""
    member = request.user
    if member.is_officer:
        survey = _managed(request, pk)
        visible, answered = True, False
    else:
        survey = _invited_survey(request, pk)
        answered = survey.answered
        visible = results_module.results_visible_to_resident(survey=survey, answered=answered)
    charts = visible and results_module.charts_visible_to_resident(survey=survey)
    summary = results_module.published_summary(survey=survey) if charts else None
    return render(
        request,
        "surveys/published_results.html",
        {
            "survey": survey,
            "visible": visible,
            "summary": summary,
            "charts": _charts(summary) if summary else [],
            "answered": answered,
        },
    )


def _charts(results) -> list[tuple[Any, str]]:
    return [
        (q, mark_safe(results_module.chart_svg(q, element_id=f"chart-{q.question.pk}")) if q.has_chart else "")  # noqa: S308 - built with escape()
        for q in results.questions
    ]


# --- officers: publishing and closing


@officer_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Target the survey (areas, groups, a drawn area, a circle) and publish it, after
    seeing how many residents it reaches."""
    survey = _managed(request, pk)
    if not survey.is_draft:
        messages.info(request, "This survey is already published.")
        return redirect("surveys:build", pk=survey.pk)
    form = PublishForm(request.POST if request.method == "POST" else None, viewer=request.user)
    reach = None
    action = request.POST.get("action", "count")
    if form.is_bound and form.is_valid():
        spec = form.audience()
        try:
            if action == "publish":
                dispatch = services.survey_publish(
                    actor=request.user,
                    survey=survey,
                    audience=spec,
                    opens_at=form.cleaned_data.get("opens_at"),
                    closes_at=form.cleaned_data["closes_at"],
                )
                when = "now" if dispatch.send_at is None else "when it opens"
                messages.success(request, f"“{survey.title}” is published. Invitations go {when}.")
                return redirect("surveys:build", pk=survey.pk)
            cleaned = audience_spec_clean(spec=spec)
            from groups.jurisdiction import audience_check_jurisdiction

            audience_check_jurisdiction(organisation=request.user.organisation_id, spec=cleaned)
            reach = audience_size_by_channel(
                spec=cleaned, organisation=request.user.organisation_id, priority=services.INVITATION_PRIORITY
            )
        except ValidationError as exc:
            _apply_errors(form, exc, {"closes_at": "closes_at", "opens_at": "opens_at"})
    template = "surveys/_reach.html" if request.htmx and action == "count" else "surveys/publish.html"
    return render(
        request,
        template,
        {
            "survey": survey,
            "form": form,
            "reach": reach,
            "reference_geojson": _collection(_reference_areas(request.user), tolerance=0.0005),
            "map": _map_settings(),
        },
        status=400 if form.errors else 200,
    )


@officer_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _managed(request, pk)
    try:
        services.survey_close(actor=request.user, survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The survey is closed. It takes no more answers.")
    return redirect("surveys:build", pk=survey.pk)


@officer_required
@require_POST
def closing_time(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _managed(request, pk)
    form = ClosingTimeForm(request.POST)
    if form.is_valid():
        try:
            services.survey_closes_at_set(actor=request.user, survey=survey, closes_at=form.cleaned_data["closes_at"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "The closing time is changed.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("surveys:build", pk=survey.pk)


@officer_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _managed(request, pk)
    try:
        services.survey_delete(actor=request.user, survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("surveys:build", pk=survey.pk)
    messages.success(request, f"The draft “{survey.title}” is deleted.")
    return redirect("surveys:manage_list")


# --- officers: results


def _area_choice(request: HttpRequest) -> int | None:
    return id_from(request.GET.get("area", ""))


@officer_required
@require_safe
def results(request: HttpRequest, pk: int) -> HttpResponse:
    """Live results: every question's figures and chart, the response rate, and all of it
    by ward or district. Refreshed by htmx while the page is open (only when new
    answers came: an unchanged count answers 204 and nothing moves)."""
    survey = _managed(request, pk)
    by = request.GET.get("by") or None
    area_id = _area_choice(request)
    since = request.GET.get("since", "")
    if request.htmx and whole_number_from(since) == survey.responses.count():
        return HttpResponse(status=204)
    data = results_module.survey_results(survey=survey, by=by, area_id=area_id)
    areas = Area.objects.filter(
        Q(pk__in=Response.objects.filter(survey=survey).values("ward_id"))
        | Q(pk__in=Response.objects.filter(survey=survey).values("district_id"))
    ).order_by("level", "name")
    context = {
        "survey": survey,
        "results": data,
        "charts": _charts(data),
        "by": data.by or "",
        "area_id": area_id,
        "areas": areas,
        "phase": survey.phase(),
    }
    template = "surveys/_results_live.html" if request.htmx else "surveys/results.html"
    return render(request, template, context)


@officer_required
@require_safe
def results_csv(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    """Every response, one row each. A big export is streamed: 100,000 responses never sit in memory."""
    survey = _managed(request, pk)
    audit_record(actor=request.user, action="surveys.results.exported", target=survey, organisation=survey.organisation)
    lines = results_module.survey_csv_lines(survey=survey)
    if survey.responses.count() > CSV_STREAM_FROM:
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-responses.csv"'
    return response


@officer_required
@require_safe
def chart_svg(request: HttpRequest, pk: int, qid: int) -> HttpResponse:
    """One question's chart as an SVG file (surveys.js turns it into a PNG in the browser)."""
    survey = _managed(request, pk)
    question = _question_of(survey, qid)
    area_id = _area_choice(request)
    data = results_module.survey_results(survey=survey, area_id=area_id, text_samples=0)
    result = next(r for r in data.questions if r.question.pk == question.pk)
    if not result.has_chart:
        raise Http404("This question has no chart: free text, or no answers yet.")
    svg = results_module.chart_svg(result, standalone=True, element_id=f"chart-{question.pk}")
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    if request.GET.get("download") != "0":
        response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-question-{result.number}.svg"'
    return response


@officer_required
@require_safe
def text_answers(request: HttpRequest, pk: int, qid: int) -> HttpResponse:
    """A free-text question's answers, to read and moderate (hide what should not be kept in view)."""
    survey = _managed(request, pk)
    question = _question_of(survey, qid)
    if question.kind != Question.Kind.TEXT:
        raise Http404("Only free-text questions have answers to read one by one.")
    answers = selectors.text_answers(survey=survey, question=question).select_related("hidden_by")
    if not survey.is_anonymous:
        answers = answers.select_related("response__member")
    page = Paginator(answers, ANSWERS_PER_PAGE).get_page(request.GET.get("page"))
    number = list(survey.questions.order_by("position", "id").values_list("pk", flat=True)).index(question.pk) + 1
    return render(
        request,
        "surveys/text_answers.html",
        {"survey": survey, "question": question, "number": number, "page": page},
    )


@officer_required
@require_POST
def moderate(request: HttpRequest, pk: int, aid: int) -> HttpResponse:
    survey = _managed(request, pk)
    answer_row = get_object_or_404(Answer.objects.select_related("survey"), pk=aid, survey=survey)
    hide = request.POST.get("action") == "hide"
    try:
        services.answer_moderate(actor=request.user, answer=answer_row, hide=hide)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    messages.success(request, "The answer is hidden." if hide else "The answer is shown again.")
    target = reverse("surveys:text_answers", kwargs={"pk": survey.pk, "qid": answer_row.question_id})
    page = request.POST.get("page", "")
    return redirect(f"{target}?page={page}#answer-{aid}" if page.isdigit() else f"{target}#answer-{aid}")


@officer_required
@require_http_methods(["GET", "POST"])
def summary(request: HttpRequest, pk: int) -> HttpResponse:
    """ "You said, we did": write it and send it to everyone the survey went to."""
    survey = _managed(request, pk)
    form = SummaryForm(request.POST if request.method == "POST" else None)
    if survey.summary_dispatch_id is None and form.is_bound and form.is_valid():
        try:
            services.survey_summary_publish(actor=request.user, survey=survey, text=form.cleaned_data["summary_text"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Your summary is on its way to everyone the survey went to.")
            return redirect("surveys:summary", pk=survey.pk)
    reach = (
        dispatch_reach(dispatch_ids=[survey.summary_dispatch_id]).get(survey.summary_dispatch_id)
        if (survey.summary_dispatch_id)
        else None
    )
    return render(
        request,
        "surveys/summary.html",
        {"survey": survey, "form": form, "reach": reach},
        status=400 if form.errors else 200,
    )


# --- quick polls


_POLL_LINK_SALT = "surveys.poll-link"


def poll_link_token(*, delivery_id: int, option_id: int) -> str:
    """The signed token of an email's one-tap link: this delivery's member chose this option."""
    return signing.dumps({"d": delivery_id, "o": option_id}, salt=_POLL_LINK_SALT, compress=True)


def _poll_link_read(token: str):
    from notifications.models import Delivery

    try:
        payload = signing.loads(token, salt=_POLL_LINK_SALT, max_age=settings.PREFERENCES_LINK_MAX_AGE)
    except signing.BadSignature as exc:
        raise Http404("This link is not valid.") from exc
    delivery = Delivery.objects.select_related("member").filter(pk=payload.get("d")).first()
    poll = selectors.poll_for_dispatch(dispatch_id=delivery.dispatch_id) if delivery else None
    if poll is None or not delivery.member.is_active or delivery.member.erased_at is not None:
        raise Http404("This link is not valid.")
    return delivery, poll, payload.get("o")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@login_required
@require_POST
def poll_vote(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap on a poll's button in the app."""
    try:
        poll = selectors.poll_visible_get(member=request.user, pk=pk)
    except Poll.DoesNotExist as exc:
        raise Http404("No such poll.") from exc
    try:
        services.poll_vote(member=request.user, poll=poll, option_id=request.POST.get("option"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Thank you: your answer is counted.")
    return redirect(_safe_next(request, reverse("surveys:poll", kwargs={"pk": poll.pk})))


@require_http_methods(["GET", "POST"])
def poll_link(request: HttpRequest, token: str) -> HttpResponse:
    """An email's one-tap link. It asks to confirm before counting: mail scanners open
    every link in a message, and must not vote for every option in turn."""
    delivery, poll, option_id = _poll_link_read(token)
    option = poll.options.filter(pk=option_id).first()
    if option is None:
        raise Http404("This link is not valid.")
    done = False
    error = ""
    if request.method == "POST":
        try:
            services.poll_vote(member=delivery.member, poll=poll, option_id=option.pk)
        except (ValidationError, PermissionDenied) as exc:
            error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        else:
            done = True
    return render(
        request,
        "surveys/poll_link.html",
        {"poll": poll, "option": option, "done": done, "error": error, "counts": selectors.poll_counts(poll=poll)},
        status=400 if error else 200,
    )


@login_required
@require_safe
def poll(request: HttpRequest, pk: int) -> HttpResponse:
    """A poll and its live results: the officers who ran it, and residents who received it."""
    try:
        found = selectors.poll_visible_get(member=request.user, pk=pk)
    except Poll.DoesNotExist as exc:
        raise Http404("No such poll.") from exc
    context = {
        "poll": found,
        "counts": selectors.poll_counts(poll=found),
        "vote": selectors.poll_vote_of(member=request.user, poll=found),
        "can_vote": is_resident(member=request.user) and found.is_open(),
    }
    template = "surveys/_poll_results.html" if request.htmx else "surveys/poll.html"
    return render(request, template, context)


@officer_required
@require_http_methods(["GET", "POST"])
def poll_manage(request: HttpRequest) -> HttpResponse:
    """The organisation's quick polls, and a form to put one on a recent alert."""
    form = PollForm(
        request.POST if request.method == "POST" else None,
        dispatches=selectors.dispatches_open_to_polls(viewer=request.user),
    )
    if form.is_bound and form.is_valid():
        try:
            with transaction.atomic():
                created = services.poll_create(
                    actor=request.user,
                    question=form.cleaned_data["question"],
                    options=form.cleaned_data["options"],
                    dispatch=form.cleaned_data["dispatch"],
                )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "The poll is on the message: residents can answer it from their inbox.")
            return redirect("surveys:poll", pk=created.pk)
    page = Paginator(selectors.polls_managed_by(viewer=request.user).order_by("-created_at"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "surveys/poll_manage.html", {"form": form, "page": page}, status=400 if form.errors else 200)
