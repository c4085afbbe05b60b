"""The forms of the camera pages. They only read and check input; the services decide."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from .models import RETENTION_MAX_DAYS, Camera, FootageAsk


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's own date-and-time picker, in UK local time."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class CameraForm(forms.Form):
    kind = forms.ChoiceField(label="What kind of camera is it?", choices=Camera.Kind.choices, widget=forms.RadioSelect)
    label = forms.CharField(
        label="Your name for it (optional)",
        max_length=80,
        required=False,
        help_text="Only you see this, e.g. “Front door” or “Garage”.",
    )
    placement = forms.ChoiceField(
        label="Where is it?",
        choices=Camera.Placement.choices,
        widget=forms.RadioSelect,
        initial=Camera.Placement.HOME,
        help_text="A dashcam is always found by where you live: it moves with your vehicle.",
    )
    latitude = forms.FloatField(
        label="Latitude", required=False, min_value=-90, max_value=90, widget=forms.NumberInput(attrs={"step": "any"})
    )
    longitude = forms.FloatField(
        label="Longitude",
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    facing = forms.ChoiceField(
        label="Which way does it face? (optional)",
        choices=[("", "Not sure, or several ways"), *Camera.Facing.choices],
        required=False,
    )
    covers = forms.CharField(
        label="What does it cover? (optional)",
        max_length=300,
        required=False,
        help_text="What an officer would see on it, e.g. “my drive, the pavement and the road to the bus stop”.",
    )
    retention_days = forms.IntegerField(
        label="How many days does it keep footage?",
        min_value=1,
        max_value=RETENTION_MAX_DAYS,
        help_text="Before it records over old footage. Look in the camera's app or settings; 30 is common.",
        widget=forms.NumberInput(attrs={"class": "input-short", "inputmode": "numeric"}),
    )
    willing = forms.BooleanField(
        label="I am willing to be asked for footage when something happens nearby",
        required=False,
        initial=True,
        help_text="Officers never see your name or address. They see where the camera is and what it covers, "
        "and can ask you for footage through this service; you decide each time whether to share it.",
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == Camera.Kind.DASHCAM:
            data["placement"] = Camera.Placement.HOME
        if data.get("placement") == Camera.Placement.PIN and (
            data.get("latitude") is None or data.get("longitude") is None
        ):
            self.add_error("latitude", "Put a pin on the map where the camera is, or type its latitude and longitude.")
        return data


class SearchForm(forms.Form):
    incident_reference = forms.CharField(
        label="Incident reference",
        max_length=60,
        help_text="The crime or incident number. Every search is recorded with it.",
    )
    incident_at = forms.DateTimeField(
        label="When did it happen?",
        input_formats=LOCAL_FORMATS,
        widget=DateTimeLocalInput(),
        help_text="Cameras that have already recorded over footage from then are marked.",
    )
    latitude = forms.FloatField(
        label="Latitude", min_value=-90, max_value=90, widget=forms.NumberInput(attrs={"step": "any"})
    )
    longitude = forms.FloatField(
        label="Longitude", min_value=-180, max_value=180, widget=forms.NumberInput(attrs={"step": "any"})
    )
    radius_m = forms.IntegerField(label="Radius in metres")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built here, not above: the limit is a setting, which tests may change.
        limit = settings.CAMERA_SEARCH_MAX_METRES
        self.fields["radius_m"] = forms.IntegerField(
            label="Radius in metres",
            min_value=25,
            max_value=limit,
            initial=500,
            help_text=f"From 25 to {limit:,} metres.",
            widget=forms.NumberInput(attrs={"class": "input-short", "inputmode": "numeric", "step": "25"}),
        )


class RequestForm(forms.Form):
    cameras = forms.TypedMultipleChoiceField(
        label="Cameras to ask",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one camera to ask for footage.",
        },
    )
    window_start = forms.DateTimeField(label="Footage from", input_formats=LOCAL_FORMATS, widget=DateTimeLocalInput())
    window_end = forms.DateTimeField(label="Footage until", input_formats=LOCAL_FORMATS, widget=DateTimeLocalInput())
    location = forms.CharField(
        label="Where it happened",
        max_length=200,
        help_text="In words the owners will know: a street, a junction, a landmark.",
    )
    message = forms.CharField(
        label="Message to the owners",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What happened and what you are looking for. Owners never see each other.",
    )

    def __init__(self, *args, hits=(), search=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cameras"].choices = [(h.id, f"{h.kind_label}, {h.distance_m} m away") for h in hits]
        if search is not None and not self.is_bound:
            start = timezone.localtime(search.incident_at) - timedelta(minutes=30)
            self.initial.update(
                window_start=start.replace(second=0, microsecond=0),
                window_end=(start + timedelta(hours=1)).replace(second=0, microsecond=0),
            )


ANSWER_CHOICES = [
    (FootageAsk.Status.FOOTAGE, "I have footage: I am uploading it"),
    (FootageAsk.Status.NOTHING, "I have looked: nothing relevant"),
    (FootageAsk.Status.NO_CAMERA, "I no longer have this camera (it is removed from your cameras)"),
]


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(label="Your answer", choices=ANSWER_CHOICES, widget=forms.RadioSelect)
    file = forms.FileField(
        label="The footage or photo",
        required=False,
        help_text="A video or a photo straight from the camera's app, at most {limit}. One file at a time; "
        "you can add more afterwards.",
    )
    note = forms.CharField(
        label="Anything to add? (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example the time on the recording where something happens.",
    )
    share_contact = forms.BooleanField(
        label="Share my name, email address and phone number with the officers dealing with this",
        required=False,
        help_text="Only if you are happy for them to contact you directly. Otherwise they see your answer only.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.template.defaultfilters import filesizeformat

        field = self.fields["file"]
        field.help_text = field.help_text.format(limit=filesizeformat(settings.CAMERA_UPLOAD_MAX_BYTES))
        field.widget.attrs.update(
            {"accept": "video/*,image/*", "data-max-bytes": str(settings.CAMERA_UPLOAD_MAX_BYTES)}
        )
