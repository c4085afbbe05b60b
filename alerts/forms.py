"""The forms of the alert pages: what an officer types, read into what the services take.

Forms only read and shape input; every rule about alerts lives in services.py, whose
ValidationErrors come back to the field they are about.

The audience has two ways in, saying the same thing: shapes drawn on the map (the
page's script writes them into the hidden `shapes` field, each marked sent-to or left
out), and for keyboard and screen-reader users, checkboxes of areas and groups, a
typed list of corners and a typed circle. `audience_spec()` joins them into one spec.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from groups.targeting import (
    TargetingForm,
    area_choices,
    group_choices,
    latitude_field,
    longitude_field,
    polygon_field,
    radius_field,
    shapes_clean,
)
from members.models import Interest

from .models import Alert, AlertUpdate
from .rendering import links_from_text, links_to_text
from .services import poll_clean

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _datetime_field(label: str, help_text: str = "", required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=DATETIME_FORMATS,
        widget=DateTimeInput(),
        error_messages={"invalid": "Enter a date and time, like 2026-05-30 14:00."},
    )


PRIORITY_CHOICES = [
    (1, "1: most urgent (red). A live incident, a missing person. Ignores quiet hours and digests."),
    (2, "2: urgent (orange). Ignores quiet hours and digests."),
    (3, "3: normal (yellow)."),
    (4, "4: low (light green)."),
    (5, "5: least urgent (green). News, an event."),
]


class AudienceForm(TargetingForm):
    """Who a message is for: any union of areas, groups, drawn shapes and a circle, each part sent to or left out."""

    POLYGON = "corners"
    CIRCLE = ("circle_lat", "circle_lon", "circle_metres")
    CIRCLE_INCOMPLETE = "A circle needs its centre's latitude and longitude, and its radius."

    areas = area_choices("Send to these areas", "Wards, districts and your organisation's custom areas.")
    exclude_areas = area_choices(
        "Leave out these areas", "Nobody living in these gets it, even if they are in something you send to."
    )
    groups = group_choices("Send to these groups", "Their active members.")
    exclude_groups = group_choices("Leave out these groups")
    shapes = forms.CharField(required=False, widget=forms.HiddenInput)
    clear_shapes = forms.BooleanField(label="Remove the shapes drawn on the map", required=False)
    corners = polygon_field(
        "An area by its corners (optional)",
        "One “latitude, longitude” per line, in order, at least three (for example 51.2720, 0.5230).",
    )
    corners_exclude = forms.BooleanField(label="Leave this area out instead of sending to it", required=False)
    circle_lat = latitude_field("Circle centre: latitude", "For example 51.2720.")
    circle_lon = longitude_field("Circle centre: longitude", "For example 0.5230 (west of Greenwich is negative).")
    circle_metres = radius_field(
        "Circle radius in metres",
        min_value=1,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "class": "input-short"}),
    )
    circle_exclude = forms.BooleanField(label="Leave this circle out instead of sending to it", required=False)
    interest_only = forms.BooleanField(
        label="Only residents who chose this message's category",
        required=False,
        help_text="Otherwise everyone in the audience gets it, whatever their interests.",
    )

    def audience_spec(self) -> dict[str, Any]:
        """The spec of what was chosen (call after is_valid)."""
        include, exclude = self.audience_parts()
        return {"include": include, "exclude": exclude, "interest_only": bool(self.cleaned_data.get("interest_only"))}

    @staticmethod
    def initial_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
        """Form values for a saved spec: areas and groups ticked, drawn shapes and circles on the map."""
        spec = spec or {}
        include, exclude = spec.get("include") or [], spec.get("exclude") or []
        shapes = [
            {**part, "exclude": excluded}
            for parts, excluded in ((include, False), (exclude, True))
            for part in parts
            if "polygon" in part or "radius" in part
        ]
        return {
            "areas": [p["area"] for p in include if "area" in p],
            "exclude_areas": [p["area"] for p in exclude if "area" in p],
            "groups": [p["group"] for p in include if "group" in p],
            "exclude_groups": [p["group"] for p in exclude if "group" in p],
            "shapes": json.dumps(shapes) if shapes else "",
            "interest_only": bool(spec.get("interest_only")),
        }


class AlertForm(AudienceForm):
    """Everything about an alert: what it says, how urgent, and who it is for."""

    kind = forms.ChoiceField(label="What kind of message is it?", choices=Alert.Kind.choices, widget=forms.RadioSelect)
    category = forms.ChoiceField(
        label="What is it about?", choices=[("", "Choose a category"), *Interest.choices],
        help_text="Residents choose the categories they want to hear about.",
    )  # fmt: skip
    priority = forms.TypedChoiceField(
        label="How urgent is it?", choices=PRIORITY_CHOICES, coerce=int, widget=forms.RadioSelect, initial=3
    )
    title = forms.CharField(label="Title", max_length=200, help_text="Short and clear, like an email subject.")
    body_markdown = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Markdown: **bold**, *italic*, - lists, [link text](https://…). Anything else is shown as text.",
    )
    links = forms.CharField(
        label="Links (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line: a web address, or “Title | https://…”.",
    )
    event_starts_at = _datetime_field("Event starts (events only)")
    event_ends_at = _datetime_field("Event ends (optional)")
    event_place = forms.CharField(label="Where is the event? (events only)", max_length=200, required=False)
    is_public = forms.BooleanField(
        label="Also show it on the public alerts page and feeds",
        required=False,
        help_text="Anyone can read public alerts, signed in or not. Leave it off for anything that names or "
        "locates a person who is not asking for publicity.",
    )

    poll_question = forms.CharField(
        label="Poll question (optional)",
        max_length=300,
        required=False,
        help_text="One question residents answer with one tap, for example “Have you seen this van?”",
    )
    poll_options = forms.CharField(
        label="Poll answers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Two to six, one per line, each at most 120 characters: each becomes a button in the app "
        "and a link in the email.",
    )

    field_order = [
        "kind", "category", "priority", "title", "body_markdown", "links", "event_starts_at", "event_ends_at",
        "event_place", "poll_question", "poll_options", "is_public",
    ]  # fmt: skip

    def __init__(self, *args, check_only: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.check_only = check_only
        if check_only:
            # "Check the audience" before the message is written: only the targeting counts.
            for name in self.MESSAGE_FIELDS:
                self.fields[name].required = False

    MESSAGE_FIELDS = ("kind", "category", "priority", "title", "body_markdown")

    def clean_links(self) -> list[dict[str, str]]:
        return links_from_text(self.cleaned_data.get("links", ""))

    def clean_poll_options(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("poll_options", "").splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.check_only and "poll_question" in cleaned and "poll_options" in cleaned:
            # The same rules the service applies, shown next to the poll's fields.
            try:
                poll_clean(question=cleaned["poll_question"], options=cleaned["poll_options"])
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    self.add_error(name, messages)
        return cleaned

    def alert_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "category": data["category"],
            "priority": data["priority"],
            "title": data["title"],
            "body_markdown": data["body_markdown"],
            "links": data["links"],
            "event_starts_at": data.get("event_starts_at"),
            "event_ends_at": data.get("event_ends_at"),
            "event_place": data.get("event_place", ""),
            "is_public": data.get("is_public", False),
            "audience": self.audience_spec(),
            "poll_question": data.get("poll_question", ""),
            "poll_options": data.get("poll_options") or [],
        }

    @classmethod
    def initial_from_alert(cls, alert: Alert) -> dict[str, Any]:
        return {
            "kind": alert.kind,
            "category": alert.category,
            "priority": alert.priority,
            "title": alert.title,
            "body_markdown": alert.body_markdown,
            "links": links_to_text(alert.links),
            "event_starts_at": alert.event_starts_at,
            "event_ends_at": alert.event_ends_at,
            "event_place": alert.event_place,
            "is_public": alert.is_public,
            "poll_question": alert.poll_question,
            "poll_options": "\n".join(alert.poll_options or []),
            **cls.initial_from_spec(alert.audience),
        }

    # Where a service's error about a field goes on this form.
    SERVICE_FIELDS = {
        "kind": "kind", "category": "category", "priority": "priority", "title": "title",
        "body_markdown": "body_markdown", "links": "links", "event_starts_at": "event_starts_at",
        "event_ends_at": "event_ends_at", "event_place": "event_place", "audience": None,
        "poll_question": "poll_question", "poll_options": "poll_options",
    }  # fmt: skip


class ImageForm(forms.Form):
    file = forms.FileField(
        label="Picture",
        error_messages={"required": "Choose a picture to add.", "empty": "The file you chose is empty."},
        help_text="A JPEG, PNG, WebP or GIF image.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )
    alt_text = forms.CharField(
        label="What the picture shows",
        max_length=250,
        error_messages={"required": "Say what the picture shows, for residents who cannot see it."},
        help_text="For residents who cannot see it, for example “A silver Ford Focus with a dent in the rear door”.",
    )


class ScheduleForm(forms.Form):
    send_at = _datetime_field("Send it at", help_text="UK time. For example 2026-05-30 07:30.", required=True)


class UpdateForm(forms.Form):
    kind = forms.ChoiceField(
        label="What are you sending?",
        choices=[
            (AlertUpdate.Kind.UPDATE, "An update: something new about it"),
            (AlertUpdate.Kind.CANCELLATION, "A cancellation: it is over (for example, the missing person is found)"),
        ],
        widget=forms.RadioSelect,
        initial=AlertUpdate.Kind.UPDATE,
    )
    body = forms.CharField(
        label="What has changed", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000,
        help_text="It goes to exactly the residents who got the alert.",
    )  # fmt: skip


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why is it withdrawn? (optional)",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept with the alert; sent to residents if you tell them below.",
    )
    notify = forms.BooleanField(label="Tell the residents who got it that it is withdrawn", required=False)


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *Alert.Status.choices], required=False)
    kind = forms.ChoiceField(label="Kind", choices=[("", "Any kind"), *Alert.Kind.choices], required=False)
    category = forms.ChoiceField(label="Category", choices=[("", "Any category"), *Interest.choices], required=False)
    q = forms.CharField(label="Title contains", max_length=100, required=False)


class GroupMessageForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=200)
    body = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 8}), max_length=5000,
        help_text="Plain text. It goes to the group's members who agreed to hear from its organisation.",
    )  # fmt: skip


def form_errors_from(form: forms.Form, exc: ValidationError, fields: dict[str, str | None] | None = None) -> None:
    """Put a service's ValidationError on the form: by field where it names one, on the form otherwise."""
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            target = (fields or {}).get(name, name if name in form.fields else None)
            form.add_error(target, messages)
    else:
        form.add_error(None, exc.messages)


__all__ = [
    "AlertFilterForm",
    "AlertForm",
    "AudienceForm",
    "GroupMessageForm",
    "ImageForm",
    "ScheduleForm",
    "UpdateForm",
    "WithdrawForm",
    "form_errors_from",
    "shapes_clean",
]
