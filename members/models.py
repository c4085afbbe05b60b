"""Members (residents, officers, force admins), their preferences, consents and organisations."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField


class Interest(models.TextChoices):
    """What a message is about. Residents choose the ones they want to hear about."""

    BURGLARY = "burglary", "Burglary"
    VEHICLE_CRIME = "vehicle_crime", "Vehicle crime"
    FRAUD_SCAMS = "fraud_scams", "Fraud and scams"
    ANTI_SOCIAL_BEHAVIOUR = "anti_social_behaviour", "Anti-social behaviour"
    VIOLENCE_WEAPONS = "violence_weapons", "Violence and weapons"
    DRUGS = "drugs", "Drugs"
    ROAD_SAFETY = "road_safety", "Road safety"
    RURAL_CRIME = "rural_crime", "Rural crime"
    MISSING_PERSONS = "missing_persons", "Missing persons"
    BUSINESS_CRIME = "business_crime", "Business and retail crime"
    CYBER_CRIME = "cyber_crime", "Online and cyber crime"
    COMMUNITY_EVENTS = "community_events", "Community events"
    POLICE_NEWS = "police_news", "Police news"


class Organisation(models.Model):
    """An information provider sharing this deployment: a police force, its fire and
    rescue service, the county Neighbourhood Watch association, a council, the Police
    and Crime Commissioner. Officers belong to one; residents opt in to each they want
    to hear from, and an organisation reaches and sees only the members who did."""

    class Kind(models.TextChoices):
        POLICE = "police", "Police force"
        FIRE_RESCUE = "fire_rescue", "Fire and rescue service"
        NEIGHBOURHOOD_WATCH = "neighbourhood_watch", "Neighbourhood Watch association"
        COUNCIL = "council", "Council"
        PCC = "pcc", "Police and Crime Commissioner"

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    areas = models.ManyToManyField(
        "groups.Area",
        blank=True,
        related_name="responsible_organisations",
        help_text="Its area of responsibility (e.g. the force area): its officers target messages, surveys "
        "and camera searches only inside it (see groups.jurisdiction).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberManager(BaseUserManager["Member"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> Member:
        if not email:
            raise ValueError("A member needs an email address.")
        member = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            member.set_password(password)
        else:
            member.set_unusable_password()
        member.save(using=self._db)
        Preferences.objects.create(member=member)
        return member

    def create_superuser(self, email: str, password: str | None = None, **extra) -> Member:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class Member(AbstractBaseUser, PermissionsMixin):
    """Anyone with an account: a resident, an officer or a force admin.

    A resident lives at an address (postcode first: it places them on the map for
    targeting). Officers and force admins belong to one organisation and must use
    MFA. Erasing a member (`member_erase`) blanks every personal field at once and
    keeps the row as a tombstone, so that what the force must keep (replies,
    evidence) stays but no longer identifies anyone.
    """

    class Role(models.TextChoices):
        RESIDENT = "resident", "Resident"
        OFFICER = "officer", "Officer"
        FORCE_ADMIN = "force_admin", "Force admin"

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = PhoneNumberField(blank=True)
    address_line1 = models.CharField("Address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("Address line 2", max_length=200, blank=True)
    town = models.CharField("Town or city", max_length=100, blank=True)
    postcode = models.CharField(max_length=8, blank=True, db_index=True)
    # Where the member lives, from their postcode or a pin they placed: what targeting
    # by area uses. Indexed together for the bounding-box prefilter.
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    location_source = models.CharField(
        max_length=10,
        blank=True,
        choices=[("postcode", "From the postcode"), ("pin", "A pin on the map")],
    )

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RESIDENT)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        help_text="For officers and force admins: the organisation they work for.",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = MemberManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["longitude", "latitude"], name="members_member_location_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role="resident") | models.Q(organisation__isnull=False),
                name="%(app_label)s_%(class)s_staff_has_organisation",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def clean(self) -> None:
        super().clean()
        if self.role != self.Role.RESIDENT and self.organisation_id is None:
            raise ValidationError({"organisation": "Officers and force admins belong to an organisation."})

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def is_officer(self) -> bool:
        """Officers and force admins: the staff of an organisation (force admins are officers too)."""
        return self.role in (self.Role.OFFICER, self.Role.FORCE_ADMIN)

    @property
    def is_force_admin(self) -> bool:
        return self.role == self.Role.FORCE_ADMIN

    @property
    def must_use_mfa(self) -> bool:
        return self.is_officer or self.is_superuser


class Preferences(models.Model):
    """What a member hears about and how: channels, interests, frequency, quiet hours.

    Channels and the SMS threshold are plain columns so that the dispatcher can pick
    a whole audience in one SQL statement.
    """

    class Frequency(models.TextChoices):
        IMMEDIATE = "immediate", "As soon as they are sent"
        DAILY_DIGEST = "daily_digest", "One daily digest"

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="preferences")
    channel_inbox = models.BooleanField("In the app (inbox)", default=True)
    channel_email = models.BooleanField("Email", default=True)
    channel_sms = models.BooleanField("Text message (SMS)", default=False)
    channel_push = models.BooleanField("Web push notifications", default=False)
    frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.IMMEDIATE)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    sms_lowest_priority = models.PositiveSmallIntegerField(
        "Lowest priority worth a text message",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 is the most urgent, 5 the least. Alerts of this priority or more urgent come by SMS.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preferences"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sms_lowest_priority__gte=1, sms_lowest_priority__lte=5),
                name="%(app_label)s_%(class)s_sms_priority_range",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                    | models.Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False)
                ),
                name="%(app_label)s_%(class)s_quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return f"Preferences of member {self.member_id}"

    @property
    def channels(self) -> list[str]:
        return [c for c in CHANNELS if getattr(self, f"channel_{c}")]


CHANNELS = ("inbox", "email", "sms", "push")


class MemberInterest(models.Model):
    """A member wants messages about this category (one row per member and category)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="interests")
    interest = models.CharField(max_length=40, choices=Interest.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "interest"], name="%(app_label)s_%(class)s_unique_interest")
        ]
        indexes = [models.Index(fields=["interest", "member"], name="members_interest_idx")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.interest}"


class ConsentText(models.Model):
    """The exact words a member agreed to, versioned: changing the words is a new version.

    `purpose` "service" is the privacy notice every member accepts at signup;
    "organisation" is the opt-in to one information provider, whose name fills
    `{organisation}` in the text.
    """

    class Purpose(models.TextChoices):
        SERVICE = "service", "Using the service (privacy notice)"
        ORGANISATION = "organisation", "Hearing from an organisation"

    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    version = models.PositiveIntegerField()
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["purpose", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "version"], name="%(app_label)s_%(class)s_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} v{self.version}"

    def render(self, organisation: Organisation | None = None) -> str:
        return self.text.replace("{organisation}", organisation.name if organisation else "the organisation")


class ConsentRecord(models.Model):
    """One explicit choice: a member gave or withdrew a consent, at a time, seeing a text.

    Records are only ever added; the current state of an organisation opt-in is the
    `OrganisationOptIn` row, kept in step by the services that add records.
    """

    class Source(models.TextChoices):
        SIGNUP = "signup", "Sign-up form"
        SETTINGS = "settings", "Settings page"
        SIGNED_LINK = "signed_link", "Link in a message"
        ONE_CLICK = "one_click", "One-click unsubscribe from a mail client"
        API = "api", "API"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consent_records")
    consent_text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="records")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="consent_records"
    )
    given = models.BooleanField()
    source = models.CharField(max_length=20, choices=Source.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "at"], name="members_consent_member_idx")]

    def __str__(self) -> str:
        verb = "gave" if self.given else "withdrew"
        return f"Member {self.member_id} {verb} {self.consent_text} at {self.at:%Y-%m-%d %H:%M}"


class OrganisationOptIn(models.Model):
    """The member lets this organisation see their details and message them.

    Present means opted in; withdrawing deletes the row (the ConsentRecord keeps the
    history). Every organisation-scoped read of members joins through this table.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="organisation_opt_ins")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="opt_ins")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "organisation"], name="%(app_label)s_%(class)s_unique_opt_in")
        ]
        indexes = [models.Index(fields=["organisation", "member"], name="members_optin_org_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.organisation_id}"


def erased_email(member_id: int) -> str:
    """The placeholder address of an erased member (unique, undeliverable: .invalid)."""
    return f"erased-{member_id}@erased.invalid"


__all__ = [
    "CHANNELS",
    "ConsentRecord",
    "ConsentText",
    "Interest",
    "Member",
    "MemberInterest",
    "Organisation",
    "OrganisationOptIn",
    "Preferences",
    "erased_email",
]
