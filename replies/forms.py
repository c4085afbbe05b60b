"""Forms of the replies pages. They only check shape; services decide what is allowed."""

from __future__ import annotations

from django import forms

from members.models import Member

from .selectors import VIEWS
from .text import MAX_LENGTH

RATING_CHOICES = [
    (1, "1 – Not useful"),
    (2, "2 – A little useful"),
    (3, "3 – Useful"),
    (4, "4 – Very useful"),
    (5, "5 – Extremely useful"),
]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your message",
        widget=forms.Textarea(attrs={"rows": 5, "data-maxlength": MAX_LENGTH}),
        max_length=MAX_LENGTH,
        error_messages={"required": "Write your message."},
    )

    def __init__(self, *args, organisation_name: str = "the organisation", **kwargs):
        kwargs.setdefault("prefix", "reply")
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = (
            f"Only you and officers of {organisation_name} can read this. Do not use it to report an emergency: "
            "call 999. Plain text only."
        )


class AnswerForm(forms.Form):
    body = forms.CharField(
        label="Your answer",
        widget=forms.Textarea(attrs={"rows": 6, "data-maxlength": MAX_LENGTH}),
        max_length=MAX_LENGTH,
        help_text="The resident is told there is an answer and reads it here. Plain text only.",
        error_messages={"required": "Write your answer."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "answer")
        super().__init__(*args, **kwargs)


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label="How useful was this message?",
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how useful it was, from 1 to 5."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "rating")
        super().__init__(*args, **kwargs)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label="Assign to",
        queryset=Member.objects.none(),
        required=False,
        empty_label="Nobody",
    )

    def __init__(self, *args, officers=None, **kwargs):
        kwargs.setdefault("prefix", "assign")
        super().__init__(*args, **kwargs)
        if officers is not None:
            self.fields["assignee"].queryset = officers
        self.fields["assignee"].label_from_instance = lambda m: m.get_full_name() or m.email


class InboxFilterForm(forms.Form):
    """The reply inbox's filters (a GET form): which view, one alert, one area."""

    view = forms.ChoiceField(label="Show", choices=list(VIEWS.items()), required=False, widget=forms.HiddenInput)
    alert = forms.ModelChoiceField(label="Alert", queryset=None, required=False, empty_label="Any alert")
    area = forms.ModelChoiceField(
        label="Where the resident lives", queryset=None, required=False, empty_label="Anywhere"
    )

    def __init__(self, *args, dispatches, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["alert"].queryset = dispatches
        self.fields["alert"].label_from_instance = lambda d: f"{d.subject} ({d.created_at:%-d %b %Y})"
        self.fields["area"].queryset = areas
        self.fields["area"].label_from_instance = lambda a: f"{a.name} ({a.get_level_display().lower()})"


class ReplySettingsForm(forms.Form):
    trigger_words = forms.CharField(
        label="Trigger words and phrases",
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,
        help_text="One word or phrase per line. A reply using any of them (as a whole word, in any case) is "
        "marked urgent and emailed to the duty inbox at once. Leave empty to use the standard list.",
    )
    duty_email = forms.EmailField(
        label="Duty inbox email address",
        required=False,
        help_text="Urgent replies, and reminders of unassigned replies, are emailed here. Leave empty to email "
        "every force admin of your organisation.",
    )

    def clean_trigger_words(self) -> list[str]:
        return [line for line in self.cleaned_data["trigger_words"].splitlines() if line.strip()]
