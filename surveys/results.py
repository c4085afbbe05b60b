"""A survey's results: counts, percentages, distributions, heat maps, ranking scores,
response rates, and all of it by ward and by district; the CSV export; the charts.

The whole results page comes from ONE grouped scan of the answers (by question,
option, value, ward and district) and one of the responses (by ward and district),
folded in Python over the groups (thousands of rows, never one per answer). Measured
in bench/survey_results.py against a bare aggregate over the same answers.

Small numbers identify people: a ward where two residents answered an anonymous
survey all but names them. Any breakdown cell, area filter or exported ward with
fewer than SURVEY_MIN_CELL responses is shown as "fewer than N" instead.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import escape

from groups.models import Area

from .models import Answer, Question, Response, Survey
from .selectors import survey_questions, text_answers
from .services import invited_by_area


def min_cell() -> int:
    return int(getattr(settings, "SURVEY_MIN_CELL", 5))


def _percent(part: int | float, whole: int | float) -> int:
    return round(100 * part / whole) if whole else 0


@dataclass
class Bar:
    """One bar of a chart: a choice, a point of a scale, or a ranked option."""

    label: str
    count: int
    percent: int
    score: int | None = None  # ranking: its Borda score
    firsts: int | None = None  # ranking: how many put it first
    heat: int = 0  # 0-9: the shade of a heat-map cell


@dataclass
class Statement:
    """One row of a matrix: its ratings across the scale, and their mean."""

    label: str
    answered: int
    cells: list[Bar]
    mean: float | None


@dataclass
class AreaRow:
    """One ward or district of a breakdown; `suppressed` when too few answered to show."""

    area_id: int | None
    name: str
    answered: int
    suppressed: bool
    values: list[str] = field(default_factory=list)


@dataclass
class QuestionResult:
    question: Question
    number: int
    answered: int
    bars: list[Bar] = field(default_factory=list)
    mean: float | None = None
    statements: list[Statement] = field(default_factory=list)
    scale: list[tuple[int, str]] = field(default_factory=list)
    recent_text: list[Answer] = field(default_factory=list)
    breakdown_columns: list[str] = field(default_factory=list)
    breakdown: list[AreaRow] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def has_chart(self) -> bool:
        return self.kind != Question.Kind.TEXT and self.answered > 0


@dataclass
class AreaRate:
    area_id: int | None
    name: str
    level: str
    responses: int
    invited: int | None
    rate: int | None
    suppressed: bool


@dataclass
class SurveyResults:
    survey: Survey
    responses: int
    invited: int | None
    rate: int | None
    questions: list[QuestionResult]
    by: str | None
    area: Area | None
    area_suppressed: bool
    rates: list[AreaRate]
    min_cell: int
    computed_at: Any


# --- the two aggregates


def _answer_groups(survey: Survey) -> list[tuple]:
    """(question, option, value, ward, district, rows, answerers) per group: the one scan."""
    return list(
        Answer.objects.filter(survey_id=survey.pk)
        .values_list("question_id", "option_id", "value", "ward_id", "district_id")
        # COUNT(*), not COUNT(id): the id is not in the covering index, `first` is.
        .annotate(n=Count("*"), firsts=Count("first", filter=Q(first=True)))
        .order_by()
    )


def _response_groups(survey: Survey) -> list[tuple]:
    return list(
        Response.objects.filter(survey_id=survey.pk)
        .values_list("ward_id", "district_id")
        .annotate(n=Count("*"))
        .order_by()
    )


def survey_results(
    *, survey: Survey, by: str | None = None, area_id: int | None = None, text_samples: int = 3
) -> SurveyResults:
    """Everything the officer's results page shows, optionally for one ward or district
    (`area_id`) and broken down `by` "ward" or "district"."""
    by = by if by in ("ward", "district") else None
    floor = min_cell()
    groups = _answer_groups(survey)
    response_groups = _response_groups(survey)
    questions = survey_questions(survey=survey)

    area = None
    if area_id:
        area = Area.objects.filter(pk=area_id, level__in=Area.TILING_LEVELS).first()
    area_responses = None
    if area is not None:
        key = 0 if area.level == Area.Level.WARD else 1
        area_responses = sum(n for *where, n in response_groups if where[key] == area.pk)
        groups = [g for g in groups if g[3 + key] == area.pk]
    area_suppressed = area is not None and area_responses < floor
    if area_suppressed:
        groups = []

    # Fold the groups: per question, totals per (option, value), and per area if asked.
    totals: dict[int, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    answered: dict[int, int] = defaultdict(int)
    split: dict[int, dict[int | None, dict[tuple, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    split_answered: dict[int, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    for question_id, option_id, value, ward_id, district_id, n, firsts in groups:
        totals[question_id][(option_id, value)] += n
        answered[question_id] += firsts
        if by:
            where = ward_id if by == "ward" else district_id
            split[question_id][where][(option_id, value)] += n
            split_answered[question_id][where] += firsts

    rates = _rates(survey, response_groups, by, floor) if by else []
    names = {r.area_id: r.name for r in rates}

    results = []
    for number, question in enumerate(questions, start=1):
        result = _question_result(question, number, totals[question.pk], answered[question.pk])
        if question.kind == Question.Kind.TEXT and not area_suppressed:
            result.recent_text = list(
                text_answers(survey=survey, question=question, area_id=area.pk if area else None).filter(
                    hidden_at__isnull=True
                )[:text_samples]
            )
        if by:
            _breakdown(result, split[question.pk], split_answered[question.pk], names, floor)
        results.append(result)

    responses = area_responses if area is not None else sum(n for *_, n in response_groups)
    invited = _invited_total(survey, area)
    return SurveyResults(
        survey=survey,
        responses=responses,
        invited=invited,
        rate=_percent(responses, invited) if invited else None,
        questions=results,
        by=by,
        area=area,
        area_suppressed=area_suppressed,
        rates=rates,
        min_cell=floor,
        computed_at=timezone.now(),
    )


def _invited_total(survey: Survey, area: Area | None) -> int | None:
    dispatch = survey.invitation_dispatch
    if dispatch is None or dispatch.fanned_out_at is None:
        return None
    if area is None:
        return dispatch.audience_size
    return invited_by_area(survey=survey).get(str(area.pk), 0)


def _rates(survey: Survey, response_groups: list[tuple], by: str, floor: int) -> list[AreaRate]:
    """Responses and response rate per ward (or district), smallest areas suppressed."""
    key = 0 if by == "ward" else 1
    counts: dict[int | None, int] = defaultdict(int)
    for *where, n in response_groups:
        counts[where[key]] += n
    invited = invited_by_area(survey=survey)
    level = Area.Level.WARD if by == "ward" else Area.Level.DISTRICT
    ids = {int(k) for k in invited} | {k for k in counts if k is not None}
    areas = {a.pk: a for a in Area.objects.filter(pk__in=ids, level=level).only("pk", "name", "level")}
    rows = []
    for area_id, area in sorted(areas.items(), key=lambda kv: kv[1].name):
        n = counts.get(area_id, 0)
        asked = invited.get(str(area_id)) if invited else None
        rows.append(AreaRate(area_id, area.name, level, n, asked, _percent(n, asked) if asked else None, 0 < n < floor))
    if counts.get(None):
        n = counts[None]
        rows.append(AreaRate(None, f"Not in any {level}", level, n, None, None, n < floor))
    return rows


def _question_result(question: Question, number: int, totals: dict[tuple, int], answered: int) -> QuestionResult:
    result = QuestionResult(question=question, number=number, answered=answered)
    options = list(question.options.all())
    if question.kind in Question.CHOICE_KINDS:
        counts = defaultdict(int)
        for (option_id, _), n in totals.items():
            counts[option_id] += n
        result.bars = [Bar(o.label, counts[o.pk], _percent(counts[o.pk], answered)) for o in options]
    elif question.kind == Question.Kind.RATING:
        result.scale = question.scale
        counts = {value: n for (_, value), n in totals.items()}
        total = sum(counts.values())
        result.bars = [
            Bar(f"{v}" + (f" – {label}" if label else ""), counts.get(v, 0), _percent(counts.get(v, 0), total))
            for v, label in result.scale
        ]
        result.mean = round(sum(v * n for v, n in counts.items()) / total, 2) if total else None
    elif question.kind == Question.Kind.MATRIX:
        result.scale = question.scale
        for o in options:
            cells = {value: n for (option_id, value), n in totals.items() if option_id == o.pk}
            total = sum(cells.values())
            row = [Bar(label or str(v), cells.get(v, 0), _percent(cells.get(v, 0), total)) for v, label in result.scale]
            for bar in row:
                bar.heat = min(9, bar.percent // 10)
            mean = round(sum(v * n for v, n in cells.items()) / total, 2) if total else None
            result.statements.append(Statement(o.label, total, row, mean))
    elif question.kind == Question.Kind.RANKING:
        result.bars = _ranking_bars(options, totals, question.rank_count or 1)
    return result


def _ranking_bars(options: list, totals: dict[tuple, int], depth: int) -> list[Bar]:
    """Borda scores: a first place is worth `depth` points, a last counted place 1."""
    score, firsts, ranked = defaultdict(int), defaultdict(int), defaultdict(int)
    for (option_id, rank), n in totals.items():
        if rank is None or rank > depth:
            continue
        score[option_id] += n * (depth - rank + 1)
        ranked[option_id] += n
        if rank == 1:
            firsts[option_id] += n
    top = max(score.values(), default=0)
    bars = [
        Bar(o.label, ranked[o.pk], _percent(score[o.pk], top), score=score[o.pk], firsts=firsts[o.pk]) for o in options
    ]
    return sorted(bars, key=lambda b: (-b.score, b.label))


def _breakdown(
    result: QuestionResult,
    per_area: dict[int | None, dict[tuple, int]],
    answered: dict[int | None, int],
    names: dict[int | None, str],
    floor: int,
) -> None:
    """The question's figures per ward or district, as a table's columns and rows."""
    question = result.question
    options = list(question.options.all())
    if question.kind in Question.CHOICE_KINDS:
        result.breakdown_columns = [f"{o.label} (%)" for o in options]
    elif question.kind == Question.Kind.RATING:
        result.breakdown_columns = ["Mean rating"]
    elif question.kind == Question.Kind.MATRIX:
        result.breakdown_columns = [f"{o.label} (mean)" for o in options]
    elif question.kind == Question.Kind.RANKING:
        result.breakdown_columns = ["Top priority (Borda)"]
    rows = []
    for area_id in sorted(answered, key=lambda a: (names.get(a) is None, names.get(a, ""))):
        n = answered[area_id]
        row = AreaRow(area_id, names.get(area_id, "Not in any area"), n, n < floor)
        if not row.suppressed:
            cells = per_area[area_id]
            if question.kind in Question.CHOICE_KINDS:
                counts = defaultdict(int)
                for (option_id, _), k in cells.items():
                    counts[option_id] += k
                row.values = [f"{_percent(counts[o.pk], n)}%" for o in options]
            elif question.kind == Question.Kind.RATING:
                total = sum(cells.values())
                row.values = [f"{sum(v * k for (_, v), k in cells.items()) / total:.2f}" if total else "–"]
            elif question.kind == Question.Kind.MATRIX:
                for o in options:
                    mine = [(v, k) for (option_id, v), k in cells.items() if option_id == o.pk]
                    total = sum(k for _, k in mine)
                    row.values.append(f"{sum(v * k for v, k in mine) / total:.2f}" if total else "–")
            elif question.kind == Question.Kind.RANKING:
                bars = _ranking_bars(options, cells, question.rank_count or 1)
                row.values = [f"{bars[0].label} ({bars[0].score})" if bars and bars[0].score else "–"]
        rows.append(row)
    result.breakdown = rows


# --- what residents see


def published_summary(*, survey: Survey) -> SurveyResults:
    """The results as residents may see them: overall figures only, no free text, no
    breakdown (a resident's own ward of a few neighbours would say too much)."""
    results = survey_results(survey=survey, text_samples=0)
    results.questions = [q for q in results.questions if q.kind != Question.Kind.TEXT]
    return results


def results_visible_to_resident(*, survey: Survey, answered: bool, now=None) -> bool:
    if survey.summary_published_at is not None:
        return True
    visibility = survey.results_visibility
    if visibility == Survey.ResultsVisibility.AFTER_ANSWERING:
        return answered or survey.has_closed(now)
    if visibility == Survey.ResultsVisibility.AFTER_CLOSING:
        return survey.has_closed(now)
    return False


def charts_visible_to_resident(*, survey: Survey) -> bool:
    return survey.results_visibility != Survey.ResultsVisibility.HIDDEN


# --- the CSV export: one row per response


def _safe(value: Any) -> Any:
    """Spreadsheets run a cell starting with = + - @ as a formula: such text is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_header(survey: Survey, questions: list[Question]) -> list[str]:
    header = ["response", "submitted", "ward", "district"]
    if not survey.is_anonymous:
        header += ["name", "email"]
    for number, q in enumerate(questions, start=1):
        if q.kind == Question.Kind.MATRIX:
            header += [f"Q{number} {q.text} – {o.label}" for o in q.options.all()]
        else:
            header.append(f"Q{number} {q.text}")
    return header


def survey_csv_rows(*, survey: Survey) -> Iterator[list[Any]]:
    """The header, then one row per response (answers in question order). Streams: two
    cursors walked side by side in response order, never the whole survey in memory."""
    questions = survey_questions(survey=survey)
    yield csv_header(survey, questions)
    columns: dict[tuple[int, int | None], int] = {}
    width = 0
    labels: dict[int, str] = {}
    for q in questions:
        for o in q.options.all():
            labels[o.pk] = o.label
        if q.kind == Question.Kind.MATRIX:
            for o in q.options.all():
                columns[(q.pk, o.pk)] = width
                width += 1
        else:
            columns[(q.pk, None)] = width
            width += 1
    kinds = {q.pk: q.kind for q in questions}

    floor = min_cell()
    responses = Response.objects.filter(survey_id=survey.pk).order_by("pk")
    area_counts: dict[int, int] = defaultdict(int)
    for ward_id, district_id, n in _response_groups(survey):
        area_counts[ward_id] += n
        area_counts[district_id] += n
    area_ids = {a for a in area_counts if a is not None}
    names = dict(Area.objects.filter(pk__in=area_ids).values_list("pk", "name"))

    def where(area_id: int | None) -> str:
        if area_id is None:
            return ""
        if survey.is_anonymous and area_counts[area_id] < floor:
            return f"(fewer than {floor} in this area)"
        return names.get(area_id, "")

    fields = ["pk", "submitted_at", "ward_id", "district_id"]
    if not survey.is_anonymous:
        fields += ["member__first_name", "member__last_name", "member__email"]
    answers = (
        Answer.objects.filter(survey_id=survey.pk)
        .order_by("response_id", "pk")
        .values_list("response_id", "question_id", "option_id", "value", "text", "hidden_at")
        .iterator(chunk_size=5000)
    )
    pending = next(answers, None)
    for row in responses.values_list(*fields).iterator(chunk_size=2000):
        pk, submitted, ward_id, district_id = row[:4]
        local = timezone.localtime(submitted)
        out: list[Any] = [pk, local.date().isoformat() if survey.is_anonymous else local.isoformat(timespec="seconds")]
        out += [where(ward_id), where(district_id)]
        if not survey.is_anonymous:
            out += [f"{row[4]} {row[5]}".strip(), row[6] or ""]
        cells: list[list[str]] = [[] for _ in range(width)]
        while pending is not None and pending[0] == pk:
            _, question_id, option_id, value, text, hidden_at = pending
            kind = kinds.get(question_id)
            if kind == Question.Kind.MATRIX:
                cells[columns[(question_id, option_id)]].append(str(value))
            elif kind == Question.Kind.RATING:
                cells[columns[(question_id, None)]].append(str(value))
            elif kind == Question.Kind.TEXT:
                cells[columns[(question_id, None)]].append("[hidden by a moderator]" if hidden_at else text)
            elif kind == Question.Kind.RANKING:
                cells[columns[(question_id, None)]].append(f"{value}. {labels.get(option_id, '')}")
            elif kind is not None:
                cells[columns[(question_id, None)]].append(labels.get(option_id, ""))
            pending = next(answers, None)
        yield out + [_safe("; ".join(c)) for c in cells]


class _Echo:
    def write(self, value: str) -> str:
        return value


def survey_csv_lines(*, survey: Survey) -> Iterator[str]:
    """The export as CSV text, line by line (for a streaming response)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheet programs read it as UTF-8
    for row in survey_csv_rows(survey=survey):
        yield writer.writerow(row)


def survey_csv_text(*, survey: Survey) -> str:
    buffer = io.StringIO()
    buffer.writelines(survey_csv_lines(survey=survey))
    return buffer.getvalue()


# --- charts: server-drawn SVG, with the data table beside them as the text alternative

CHART_WIDTH = 640
ROW_HEIGHT = 34
LABEL_WIDTH = 220
BAR_COLOUR = "#1d4f91"
TEXT_COLOUR = "#0b0c0c"
# Heat-map shades, lightest to darkest; text turns white from shade 6 (contrast >= 5:1 either way).
HEAT = ["#f3f6fa", "#dde7f2", "#c3d4e8", "#a6bfdc", "#86a7cf", "#5c87bb", "#3f6ea8", "#2a5a96", "#1d4f91", "#0f3566"]


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chart_svg(result: QuestionResult, *, standalone: bool = False, element_id: str = "") -> str:
    """The question's chart as SVG: bars for choices, ratings and rankings, a grid for a matrix.

    Inline in the page it is an image described by its title (the data table follows
    it); `standalone` adds what a downloaded file needs (namespace, white background).
    """
    if result.kind == Question.Kind.MATRIX:
        return _heatmap_svg(result, standalone=standalone, element_id=element_id)
    bars = result.bars
    height = ROW_HEIGHT * max(1, len(bars)) + 16
    title = f"Chart of answers to question {result.number}: {result.question.text}"
    parts = [_svg_open(height, title, standalone, element_id)]
    track = CHART_WIDTH - LABEL_WIDTH - 120
    for i, bar in enumerate(bars):
        y = 8 + i * ROW_HEIGHT
        width = round(track * bar.percent / 100)
        figure = f"{bar.score} pts" if bar.score is not None else f"{bar.count} ({bar.percent}%)"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 21}" text-anchor="end" fill="{TEXT_COLOUR}" '
            f'font-size="14">{escape(_short(bar.label))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 6}" width="{track}" height="20" fill="#f3f2f1"/>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 6}" width="{width}" height="20" fill="{BAR_COLOUR}"/>'
            f'<text x="{LABEL_WIDTH + track + 8}" y="{y + 21}" fill="{TEXT_COLOUR}" '
            f'font-size="14">{escape(figure)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(height: int, title: str, standalone: bool, element_id: str) -> str:
    ident = element_id or "chart"
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    xmlns = ' xmlns="http://www.w3.org/2000/svg"'
    background = f'<rect width="{CHART_WIDTH}" height="{height}" fill="#ffffff"/>' if standalone else ""
    font = ' font-family="Arial, Helvetica, sans-serif"'
    return (
        f'{head}<svg{xmlns} class="chart" viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="{ident}-title"{font}>'
        f'<title id="{ident}-title">{escape(title)}</title>{background}'
    )


def _heatmap_svg(result: QuestionResult, *, standalone: bool, element_id: str) -> str:
    scale = result.scale
    cell_width = max(40, (CHART_WIDTH - LABEL_WIDTH) // max(1, len(scale)))
    height = ROW_HEIGHT * (len(result.statements) + 1) + 8
    title = f"Heat map of answers to question {result.number}: {result.question.text}"
    parts = [_svg_open(height, title, standalone, element_id)]
    for j, (value, label) in enumerate(scale):
        x = LABEL_WIDTH + j * cell_width + cell_width // 2
        parts.append(
            f'<text x="{x}" y="22" text-anchor="middle" fill="{TEXT_COLOUR}" font-size="13">'
            f"{escape(_short(label or str(value), 10))}</text>"
        )
    for i, statement in enumerate(result.statements):
        y = ROW_HEIGHT * (i + 1)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 21}" text-anchor="end" fill="{TEXT_COLOUR}" '
            f'font-size="14">{escape(_short(statement.label))}</text>'
        )
        for j, cell in enumerate(statement.cells):
            x = LABEL_WIDTH + j * cell_width
            ink = "#ffffff" if cell.heat >= 6 else TEXT_COLOUR
            parts.append(
                f'<rect x="{x}" y="{y + 2}" width="{cell_width - 2}" height="{ROW_HEIGHT - 4}" '
                f'fill="{HEAT[cell.heat]}"/>'
                f'<text x="{x + cell_width // 2}" y="{y + 21}" text-anchor="middle" fill="{ink}" '
                f'font-size="13">{cell.percent}%</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
