"""Camera registrations, footage requests and evidence: the force's register of residents'
doorbell, CCTV and dash cameras, and the loop from "who has a camera near this incident?"
to footage safely in the force's hands, with its chain of custody.

Who sees what (enforced in selectors.py):

* a camera is its owner's: no other resident ever sees it; an officer finds it only
  through a recorded search inside their organisation's areas, as a point with what it
  covers, never with its owner's name or address;
* a footage request and the answers to it belong to the requesting organisation's
  officers; each owner sees only what was asked of them;
* evidence is seen by the requesting organisation's officers and its uploader; every
  download is a custody entry.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Cast, Floor
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty

# How long an owner may say their camera keeps footage: a day to a year.
RETENTION_MAX_DAYS = 365
# Which strip of the map a camera is in: floor(longitude * LONGITUDE_CELLS), strips 0.01°
# wide (about 700 m in Kent). The search's index leads with it, so a search reads the few
# strips its box crosses instead of the county's whole width at that latitude
# (bench/cameras.py, 1M cameras: p95 6.2-7.7 -> 5.8-6.3 ms; the statement alone p50 5.4 ->
# 3.5 ms). An expression in the index, not a column: adding a stored column would rewrite
# the camera table under an exclusive lock; the index is built concurrently (migration 0002).
LONGITUDE_CELLS = 100
LONGITUDE_STRIP = Cast(Floor(F("longitude") * LONGITUDE_CELLS), models.IntegerField())


class EvidenceStorage(LazyObject):
    """The "evidence" storage of settings.STORAGES (local files, or S3), looked up on first
    use, and again after STORAGES changes (tests point it at a folder of their own)."""

    def _setup(self) -> None:
        self._wrapped = storages["evidence"]


EVIDENCE_STORAGE = EvidenceStorage()


def evidence_storage() -> EvidenceStorage:
    """A callable for the FileField, so that no storage is frozen into a migration."""
    return EVIDENCE_STORAGE


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        EVIDENCE_STORAGE._wrapped = empty


def evidence_path(instance: Evidence, filename: str) -> str:
    """Evidence is stored under a name we make, never the uploader's (which is kept apart)."""
    return f"requests/{instance.ask.request_id}/{instance.uuid}.{instance.extension}"


class Camera(models.Model):
    """A camera a resident registered: their doorbell, a fixed CCTV camera, or a dashcam.

    `latitude`/`longitude` is where officers' searches find it: the pin the owner put,
    or their home. A camera "at my home", and every dashcam (which has no fixed place
    and is found by where its owner lives), follows the owner's home when they move
    (`cameras_follow_homes`). Only cameras whose owners are willing to be asked, who
    hear from the searching organisation, and who confirmed the camera within the last
    year (plus a grace period) are found.
    """

    class Kind(models.TextChoices):
        DOORBELL = "doorbell", "Doorbell camera"
        CCTV = "cctv", "Fixed CCTV camera"
        DASHCAM = "dashcam", "Dashcam (in a vehicle)"

    class Placement(models.TextChoices):
        HOME = "home", "At my home"
        PIN = "pin", "Somewhere else (a pin on the map)"

    class Facing(models.TextChoices):
        NORTH = "N", "North"
        NORTH_EAST = "NE", "North-east"
        EAST = "E", "East"
        SOUTH_EAST = "SE", "South-east"
        SOUTH = "S", "South"
        SOUTH_WEST = "SW", "South-west"
        WEST = "W", "West"
        NORTH_WEST = "NW", "North-west"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameras")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(
        max_length=80, blank=True, help_text="Your own name for it (only you see this), e.g. “Front door”."
    )
    placement = models.CharField(max_length=8, choices=Placement.choices, default=Placement.HOME)
    latitude = models.FloatField()
    longitude = models.FloatField()
    facing = models.CharField(max_length=2, choices=Facing.choices, blank=True)
    covers = models.CharField(
        max_length=300, blank=True, help_text="What it sees, e.g. “the street and the pavement opposite”."
    )
    retention_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(RETENTION_MAX_DAYS)],
        help_text="How many days it keeps footage before recording over it.",
    )
    willing = models.BooleanField(
        default=True, help_text="The owner is willing to be asked for footage after an incident nearby."
    )
    confirmed_at = models.DateTimeField(
        default=timezone.now, help_text="When the owner last said they still have it (or registered it)."
    )
    confirmation_asked_at = models.DateTimeField(
        null=True, blank=True, help_text="When we last asked the owner to confirm they still have it."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The officer's search: the strips of longitude its box crosses (LONGITUDE_STRIP),
            # a latitude band within each, then longitude (bench/cameras.py). Fixed cameras
            # and dashcams apart, because a dashcam is found over a wider circle: each side
            # of the search's OR reads only its own.
            models.Index(
                LONGITUDE_STRIP,
                F("latitude"),
                F("longitude"),
                name="cameras_fixed_strip_idx",
                condition=~models.Q(kind="dashcam"),
            ),
            models.Index(
                LONGITUDE_STRIP,
                F("latitude"),
                F("longitude"),
                name="cameras_dashcam_strip_idx",
                condition=models.Q(kind="dashcam"),
            ),
            # The yearly question: cameras whose confirmation is due.
            models.Index(fields=["confirmed_at"], name="cameras_confirmed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retention_days__gte=1, retention_days__lte=RETENTION_MAX_DAYS),
                name="%(app_label)s_%(class)s_retention_range",
            ),
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="%(app_label)s_%(class)s_on_the_map",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="dashcam", placement="pin"),
                name="%(app_label)s_%(class)s_dashcam_at_home",
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.get_kind_display()

    def footage_kept_until(self, moment: datetime) -> date:
        """The last day footage recorded at `moment` is still on the camera."""
        return (timezone.localtime(moment) + timedelta(days=self.retention_days)).date()


class CameraSearch(models.Model):
    """An officer looked for cameras around an incident: who, when, where, and for which incident.

    Kept as the record officers' searches are audited by (and in the audit log); the
    footage requests sent from it name it. The results are not stored: they are worked
    out again from the cameras registered now, each time they are shown.
    """

    organisation = models.ForeignKey("members.Organisation", on_delete=models.PROTECT, related_name="camera_searches")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="camera_searches"
    )
    incident_reference = models.CharField(max_length=60)
    incident_at = models.DateTimeField(help_text="When the incident happened.")
    latitude = models.FloatField()
    longitude = models.FloatField()
    radius_m = models.PositiveIntegerField()
    result_count = models.PositiveIntegerField(default=0, help_text="How many cameras it found when it was made.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "camera searches"
        indexes = [models.Index(fields=["organisation", "-created_at"], name="cameras_search_org_idx")]

    def __str__(self) -> str:
        return f"Search for {self.incident_reference} ({self.created_at:%Y-%m-%d %H:%M})"


class FootageRequest(models.Model):
    """An officer asked the owners of chosen cameras for footage of an incident.

    Each camera asked is a `FootageAsk`, answered by its owner. The request reaches
    each owner through the dispatch pipeline (one message per owner, listing their
    cameras and the date to save footage by), on the channels they chose.
    """

    organisation = models.ForeignKey("members.Organisation", on_delete=models.PROTECT, related_name="footage_requests")
    search = models.ForeignKey(CameraSearch, on_delete=models.PROTECT, related_name="requests")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="footage_requests_sent"
    )
    incident_reference = models.CharField(max_length=60)
    window_start = models.DateTimeField(help_text="Footage wanted from this time…")
    window_end = models.DateTimeField(help_text="…to this time.")
    location = models.CharField(max_length=200, help_text="Where it happened, in words the owner will know.")
    latitude = models.FloatField()
    longitude = models.FloatField()
    message = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="cameras_request_org_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_start__lt=models.F("window_end")),
                name="%(app_label)s_%(class)s_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Footage request {self.incident_reference} ({self.pk})"


class FootageAsk(models.Model):
    """One camera's owner asked for its footage, and their answer.

    What the officer saw of the camera is copied here (kind, point, retention), so the
    request still reads right after the owner edits or removes the camera. The owner's
    contact details reach the officer only if the owner chose to share them when
    answering (`shared_*`).
    """

    class Status(models.TextChoices):
        AWAITING = "awaiting", "Waiting for an answer"
        FOOTAGE = "footage", "Has footage"
        NOTHING = "nothing", "Nothing relevant"
        NO_CAMERA = "no_camera", "No longer has this camera"
        ERASED = "erased", "The owner deleted their account"

    request = models.ForeignKey(FootageRequest, on_delete=models.CASCADE, related_name="asks")
    camera = models.ForeignKey(Camera, null=True, blank=True, on_delete=models.SET_NULL, related_name="asks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="footage_asks")
    camera_kind = models.CharField(max_length=16, choices=Camera.Kind.choices)
    camera_covers = models.CharField(max_length=300, blank=True)
    camera_facing = models.CharField(max_length=2, choices=Camera.Facing.choices, blank=True)
    latitude = models.FloatField()
    longitude = models.FloatField()
    retention_days = models.PositiveSmallIntegerField()
    preserve_by = models.DateField(help_text="Save the footage before this day ends: after it, it is recorded over.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AWAITING)
    answered_at = models.DateTimeField(null=True, blank=True)
    owner_note = models.TextField(max_length=2000, blank=True)
    shared_name = models.CharField(max_length=200, blank=True)
    shared_email = models.EmailField(blank=True)
    shared_phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="cameras_ask_owner_idx")]
        constraints = [
            models.UniqueConstraint(fields=["request", "camera"], name="%(app_label)s_%(class)s_unique_camera"),
        ]

    def __str__(self) -> str:
        return f"Ask {self.pk} of request {self.request_id}: {self.status}"

    @property
    def shared_contact(self) -> bool:
        return bool(self.shared_name or self.shared_email or self.shared_phone)


class Evidence(models.Model):
    """A file an owner handed over: footage or a still, with its fingerprint.

    The SHA-256 hash, size, uploader and time are recorded as the file arrives (the
    hash is worked out from the bytes as they are written), so anyone can show later
    that the file is the one received. The file stays with the force if its uploader
    deletes their account (`from_erased_member`).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ask = models.ForeignKey(FootageAsk, on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(storage=evidence_storage, upload_to=evidence_path, max_length=300)
    original_name = models.CharField(max_length=255, help_text="The file's name on the uploader's device.")
    content_type = models.CharField(max_length=100, help_text="The type found in the file's content.")
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="evidence_uploaded"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    from_erased_member = models.BooleanField(default=False)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return f"Evidence {self.uuid} ({self.content_type}, {self.size} bytes)"

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


class CustodyEntry(models.Model):
    """One link in a piece of evidence's chain of custody: who received or took it, and when.

    Written when the file arrives (`received`) and at every download; never changed or
    deleted. The actor's name is copied as it was then, as a custody log must keep it.
    """

    class Action(models.TextChoices):
        RECEIVED = "received", "Received from the owner"
        DOWNLOADED = "downloaded", "Downloaded"

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=200)
    actor_role = models.CharField(max_length=20)
    organisation = models.ForeignKey(
        "members.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "custody entries"
        indexes = [models.Index(fields=["evidence", "at"], name="cameras_custody_evidence_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_name} at {self.at:%Y-%m-%d %H:%M:%S}"
