"""The forms of the survey pages: building, targeting, answering, summarising.

They read and check what a person typed; the rules of surveys live in services.py,
whose ValidationErrors come back onto the right field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from groups.targeting import (
    TargetingForm,
    area_choices,
    group_choices,
    latitude_field,
    longitude_field,
    polygon_field,
    radius_field,
)
from members.models import Member

from .models import Question, Survey


class SurveyDetailsForm(forms.ModelForm):
    """Title, introduction, anonymity and who sees the results: the survey's frame."""

    is_anonymous = forms.TypedChoiceField(
        label="Will answers say who gave them?",
        choices=[
            ("0", "Identified: you see who gave each answer, and can follow up"),
            ("1", "Anonymous: answers are never linked to anyone"),
        ],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="0",
        help_text="Anonymous surveys get more honest answers about sensitive things. Residents are told which it is.",
    )
    results_visibility = forms.ChoiceField(
        label="Who sees the results?",
        choices=Survey.ResultsVisibility.choices,
        widget=forms.RadioSelect,
        initial=Survey.ResultsVisibility.AFTER_CLOSING,
        help_text="Residents only ever see totals, never anyone's own answers or free text.",
    )

    class Meta:
        model = Survey
        fields = ["title", "introduction", "is_anonymous", "results_visibility"]
        labels = {"title": "Title", "introduction": "Introduction (optional)"}
        help_texts = {
            "title": "What residents see first, for example “Feeling safe in Maidstone town centre”.",
            "introduction": "Why you are asking and what you will do with the answers.",
        }
        widgets = {"introduction": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["is_anonymous"] = "1" if self.instance.is_anonymous else "0"

    def clean_title(self) -> str:
        return self.cleaned_data["title"].strip()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class QuestionForm(forms.Form):
    """One question; which fields show depends on its kind (see FIELDS_BY_KIND)."""

    text = forms.CharField(label="Question", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    help_text = forms.CharField(
        label="Hint (optional)", max_length=500, required=False, help_text="Shown under the question, in grey."
    )
    required = forms.BooleanField(label="Residents must answer this question", required=False, initial=True)
    options = forms.CharField(
        label="Options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line, in the order residents will see them.",
    )
    max_choices = forms.IntegerField(
        label="Most options a resident may choose (optional)",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": "input-short"}),
    )
    scale_min = forms.IntegerField(
        label="Lowest point", required=False, initial=1, widget=forms.NumberInput(attrs={"class": "input-short"})
    )
    scale_max = forms.IntegerField(
        label="Highest point", required=False, initial=5, widget=forms.NumberInput(attrs={"class": "input-short"})
    )
    scale_labels = forms.CharField(
        label="Labels of the points (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line from lowest to highest, for example “Very unsafe” to “Very safe”.",
    )
    max_length = forms.IntegerField(
        label="Longest answer, in characters",
        required=False,
        initial=1000,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": "input-short"}),
    )
    rank_count = forms.IntegerField(
        label="How many to rank",
        required=False,
        initial=3,
        min_value=1,
        help_text="“Rank your top 3”: residents put this many in order.",
        widget=forms.NumberInput(attrs={"class": "input-short"}),
    )
    condition = forms.MultipleChoiceField(
        label="Show this question only if (optional)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick answers of one earlier question: this question is shown when any of them is chosen.",
    )

    FIELDS_BY_KIND = {
        Question.Kind.SINGLE: ["options"],
        Question.Kind.MULTIPLE: ["options", "max_choices"],
        Question.Kind.RATING: ["scale_min", "scale_max", "scale_labels"],
        Question.Kind.MATRIX: ["options", "scale_min", "scale_max", "scale_labels"],
        Question.Kind.TEXT: ["max_length"],
        Question.Kind.RANKING: ["options", "rank_count"],
    }
    OPTIONAL_FIELDS = ("options", "max_choices", "scale_min", "scale_max", "scale_labels", "max_length", "rank_count")

    def __init__(self, *args, kind: str, survey: Survey, question: Question | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind, self.survey, self.question = kind, survey, question
        for name in self.OPTIONAL_FIELDS:
            if name not in self.FIELDS_BY_KIND[kind]:
                del self.fields[name]
        if kind == Question.Kind.MATRIX:
            self.fields["options"].label = "Statements"
            self.fields[
                "options"
            ].help_text = "One per line, each rated on the same scale, for example “The town centre after dark”."
        earlier = survey.questions.filter(kind__in=Question.CHOICE_KINDS).prefetch_related("options")
        if question is not None:
            earlier = earlier.filter(position__lt=question.position)
        numbers = {pk: n for n, pk in enumerate(survey.questions.values_list("pk", flat=True), start=1)}
        self.condition_choices = {f"{q.pk}:{o.pk}": (q, o) for q in earlier for o in q.options.all()}
        self.fields["condition"].choices = [
            (key, f"Q{numbers[q.pk]} “{q.text}” is answered “{o.label}”")
            for key, (q, o) in self.condition_choices.items()
        ]
        if not self.condition_choices:
            del self.fields["condition"]
        if question is not None and not self.is_bound:
            self.initial.update(
                text=question.text,
                help_text=question.help_text,
                required=question.required,
                options="\n".join(o.label for o in question.options.all()),
                max_choices=question.max_choices,
                scale_min=question.scale_min,
                scale_max=question.scale_max,
                scale_labels="\n".join(question.scale_labels or []),
                max_length=question.max_length,
                rank_count=question.rank_count,
                condition=[f"{question.condition_question_id}:{o}" for o in question.condition_options],
            )

    def clean_condition(self) -> list[str]:
        keys = self.cleaned_data.get("condition") or []
        questions = {self.condition_choices[k][0].pk for k in keys}
        if len(questions) > 1:
            raise ValidationError("Tick answers of one question only.")
        return keys

    def definition(self) -> dict[str, Any]:
        """The question as services.question_save takes it."""
        data = self.cleaned_data
        keys = data.get("condition") or []
        return {
            "kind": self.kind,
            "text": data["text"],
            "help_text": data.get("help_text", ""),
            "required": data.get("required", False),
            "options": _lines(data.get("options", "")),
            "max_choices": data.get("max_choices"),
            "scale_min": data.get("scale_min"),
            "scale_max": data.get("scale_max"),
            "scale_labels": [line.strip() for line in (data.get("scale_labels") or "").splitlines()],
            "max_length": data.get("max_length"),
            "rank_count": data.get("rank_count"),
            "condition_question": self.condition_choices[keys[0]][0] if keys else None,
            "condition_options": [self.condition_choices[k][1].pk for k in keys],
        }


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class PublishForm(TargetingForm):
    """Who the survey is for, and when it takes answers."""

    POLYGON = "shape"
    CIRCLE = ("latitude", "longitude", "metres")
    CIRCLE_INCOMPLETE = "For a circle, give its centre's latitude and longitude and its radius."
    CIRCLE_INCOMPLETE_ON_FORM = True
    WITH_FORCE_AREA = False

    areas = area_choices(
        "Wards, districts and custom areas", "Everyone who lives in any area you tick.", member_counts=False
    )
    groups = group_choices("Groups", "Everyone in any group you tick.", kinds=False)
    shape = polygon_field(
        "An area drawn on the map (optional)",
        "Draw it on the map, or type its corners in order, one “latitude, longitude” per line "
        "(at least three), or paste a GeoJSON Polygon.",
    )
    latitude = latitude_field(
        "Circle's centre: latitude", "For a street-level survey: everyone within the radius of this point."
    )
    longitude = longitude_field("Circle's centre: longitude")
    metres = radius_field("Radius in metres", min_value=10, widget=forms.NumberInput(attrs={"class": "input-short"}))
    opens_at = forms.DateTimeField(
        label="Opens (optional)",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
        help_text="UK time. Leave it empty to open now; invitations go when it opens.",
    )
    closes_at = forms.DateTimeField(
        label="Closes",
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
        help_text="UK time. No answers are taken after this.",
        error_messages={"required": "Choose when the survey closes.", "invalid": "Enter a date and time."},
    )

    def __init__(self, *args, viewer: Member, **kwargs) -> None:
        super().__init__(*args, organisation_id=viewer.organisation_id, **kwargs)

    def audience(self) -> dict[str, Any]:
        """The spec of what was chosen (call after is_valid): surveys only send to, never leave out."""
        include, _ = self.audience_parts()
        return {"include": include}

    def areas_by_level(self) -> list[tuple[str, list]]:
        """The area checkboxes grouped by level, for the template."""
        field = self["areas"]
        levels: dict[str, list] = {}
        areas = {str(a.pk): a for a in self.fields["areas"].queryset}
        for choice in field:
            area = areas.get(str(choice.data["value"]))
            if area is not None:
                levels.setdefault(area.get_level_display(), []).append(choice)
        return list(levels.items())


class ClosingTimeForm(forms.Form):
    closes_at = forms.DateTimeField(
        label="New closing time",
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
        help_text="UK time.",
        error_messages={"required": "Choose the new closing time."},
    )

    def clean_closes_at(self):
        value = self.cleaned_data["closes_at"]
        if value <= timezone.now():
            raise ValidationError("Choose a time in the future.")
        return value


class SummaryForm(forms.Form):
    summary_text = forms.CharField(
        label="You said, we did",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=(
            "What residents told you and what you will do about it, for example “You said the park feels unsafe "
            "after dark: we will patrol it on Friday and Saturday nights”. It goes to everyone the survey was sent to."
        ),
        error_messages={"required": "Write what you heard and what you will do about it."},
    )


class PollForm(forms.Form):
    """A quick poll on one of the organisation's recent messages."""

    dispatch = forms.ModelChoiceField(
        label="Which message?",
        queryset=None,
        empty_label=None,
        help_text="Your organisation's alerts from the last 30 days that have no poll yet.",
    )
    question = forms.CharField(label="Question", max_length=300, help_text="For example “Have you seen this van?”")
    options = forms.CharField(
        label="Answers",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Two to six, one per line: each becomes a button residents tap.",
    )

    def __init__(self, *args, dispatches, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dispatch"].queryset = dispatches
        self.fields["dispatch"].label_from_instance = lambda d: f"{d.subject} ({d.created_at:%d %b %Y})"

    def clean_options(self) -> list[str]:
        return _lines(self.cleaned_data["options"])
