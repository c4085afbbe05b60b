"""Geography (areas and who lives in them) and community groups (Neighbourhood Watch and others)."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Area(models.Model):
    """A place officers target: the force area, a district, a ward, or a custom area.

    Districts and wards come from ONS boundary files (`import_boundaries`); custom
    areas are drawn on the map by officers (a hotspot of streets, a town centre) or
    cover a Neighbourhood Watch scheme's streets. The shape is GeoJSON in WGS84; its
    bounding box sits in indexed columns so that "who lives here" starts with a cheap
    range scan before the exact point-in-polygon test. Who lives in each area is
    materialised in `AreaMember`.
    """

    class Level(models.TextChoices):
        FORCE = "force", "Force area"
        DISTRICT = "district", "District"
        WARD = "ward", "Ward"
        CUSTOM = "custom", "Custom area"

    # Levels whose areas tile the map: a member lives in exactly one area of each.
    TILING_LEVELS = (Level.DISTRICT, Level.WARD)

    code = models.CharField(max_length=64, unique=True, help_text="ONS code (e.g. E05005004) or a generated one.")
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=16, choices=Level.choices, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    organisation = models.ForeignKey(
        "members.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custom_areas",
        help_text="For custom areas: the organisation that drew it (only it sees and targets it).",
    )
    geometry = models.JSONField(help_text="GeoJSON Polygon or MultiPolygon, WGS84 (longitude, latitude).")
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    member_count = models.PositiveIntegerField(default=0)
    is_synthetic = models.BooleanField(default=False, help_text="Made up for the demo, not a real boundary.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    members_computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["level", "name"]
        indexes = [
            models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"], name="groups_area_bbox_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_lon__lte=models.F("max_lon"), min_lat__lte=models.F("max_lat")),
                name="%(app_label)s_%(class)s_bbox_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display()})"

    def clean(self) -> None:
        super().clean()
        seen = {self.pk} if self.pk else set()
        node = self.parent
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": "An area cannot be inside itself."})
            seen.add(node.pk)
            node = node.parent

    @cached_property
    def shape(self):
        from .geometry import geometry_from_geojson

        return geometry_from_geojson(self.geometry)

    def ancestors(self) -> list[Area]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class AreaMember(models.Model):
    """A member lives in this area (materialised: kept right when either side changes).

    Rows come and go a million at a time when a district is recomputed, so the table
    carries only what that needs: no database-level foreign-key checks (Django still
    cascades deletes, and a recompute drops any orphan) and no single-column indexes
    that the two composite ones below already cover. Measured in bench/geo.py: from
    36 s to 4.5 s for a 1M-member district from empty.
    """

    area = models.ForeignKey(
        Area, on_delete=models.CASCADE, related_name="memberships", db_constraint=False, db_index=False
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="area_memberships",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "member"], name="%(app_label)s_%(class)s_unique"),
        ]
        indexes = [models.Index(fields=["member", "area"], name="groups_areamember_member_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.area_id}"


class Postcode(models.Model):
    """One postcode and where it is (from the ONS postcode directory, or synthetic for the demo)."""

    postcode = models.CharField(max_length=8, primary_key=True, help_text="Normalised: upper case, one space.")
    latitude = models.FloatField()
    longitude = models.FloatField()
    is_synthetic = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.postcode


class CommunityGroup(models.Model):
    """A group residents belong to: a place, an interest, or a Neighbourhood Watch scheme.

    * geographic: everyone may join who lives in `area` (e.g. "Tunbridge Wells town centre");
    * interest: open to anyone the join policy lets in (Rural Watch, Business Watch, Retail,
      Licensed Premises, Universities, Horse Watch, ...);
    * scheme: a Neighbourhood Watch scheme covering some streets (`area`, usually custom),
      run by its coordinators.
    """

    class Kind(models.TextChoices):
        GEOGRAPHIC = "geographic", "Area group"
        INTEREST = "interest", "Interest group"
        SCHEME = "scheme", "Neighbourhood Watch scheme"

    class JoinPolicy(models.TextChoices):
        OPEN = "open", "Anyone it is open to can join"
        APPROVAL = "approval", "A coordinator approves each joiner"
        INVITATION = "invitation", "By invitation only"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.TextField(blank=True)
    organisation = models.ForeignKey(
        "members.Organisation",
        on_delete=models.PROTECT,
        related_name="community_groups",
        help_text="The organisation the group belongs to: its officers manage it.",
    )
    area = models.ForeignKey(
        Area,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="community_groups",
        help_text="For area groups and schemes: where members must live.",
    )
    join_policy = models.CharField(max_length=16, choices=JoinPolicy.choices, default=JoinPolicy.OPEN)
    is_synthetic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="interest") | models.Q(area__isnull=False),
                name="%(app_label)s_%(class)s_place_groups_have_area",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A member's place in a group: a member or a coordinator, asked, invited or in."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        COORDINATOR = "coordinator", "Coordinator"

    class Status(models.TextChoices):
        PENDING = "pending", "Asked to join"
        ACTIVE = "active", "Member"

    group = models.ForeignKey(CommunityGroup, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    share_contact = models.BooleanField(
        default=False,
        help_text="The member lets the group's coordinators see their name and contact details.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "member"], name="%(app_label)s_%(class)s_unique"),
            models.CheckConstraint(
                condition=~models.Q(role="coordinator", status="pending"),
                name="%(app_label)s_%(class)s_coordinators_active",
            ),
        ]
        indexes = [models.Index(fields=["member", "status"], name="groups_membership_member_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.group_id} ({self.role}, {self.status})"


class GroupInvitation(models.Model):
    """A coordinator invited someone by email; the link in the email lets them join."""

    group = models.ForeignKey(CommunityGroup, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.group_id} ({self.pk})"
