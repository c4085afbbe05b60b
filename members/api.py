"""The members part of the REST API: `me`, organisations and opt-ins, consents, data export."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import ConsentRecord, Interest, Member, Preferences
from .permissions import IsResident
from .validators import validate_postcode


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$",
        "example": "22:00",
        "description": "A wall-clock time in the UK (HH:MM), no time zone.",
    }
)
class LocalTimeField(serializers.TimeField):
    """Quiet hours are UK wall-clock times: 22:00 means 22:00 whether it is GMT or BST."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class PreferencesSerializer(serializers.ModelSerializer):
    quiet_hours_start = LocalTimeField(required=False, allow_null=True)
    quiet_hours_end = LocalTimeField(required=False, allow_null=True)
    interests = serializers.ListField(
        child=serializers.ChoiceField(choices=Interest.choices),
        help_text="The categories the member wants to hear about.",
    )
    sms_lowest_priority = serializers.IntegerField(
        min_value=1,
        max_value=5,
        help_text="Alerts of this priority or more urgent (1 is the most urgent) also come by SMS.",
    )

    class Meta:
        model = Preferences
        fields = [*services.PREFERENCE_FIELDS, "interests"]

    def to_representation(self, instance: Preferences) -> dict:
        # `interests` lives in its own table, not on Preferences.
        data = {}
        for name, field in self.fields.items():
            if name != "interests":
                value = getattr(instance, name)
                data[name] = None if value is None else field.to_representation(value)
        data["interests"] = sorted(instance.member.interests.values_list("interest", flat=True))
        return data


class MeSerializer(serializers.ModelSerializer):
    phone = PhoneNumberField(region="GB", required=False, allow_blank=True)
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    preferences = PreferencesSerializer(required=False)

    class Meta:
        model = Member
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "address_line1",
            "address_line2",
            "town",
            "postcode",
            "role",
            "organisation",
            "date_joined",
            "preferences",
        ]
        read_only_fields = ["id", "email", "role", "organisation", "date_joined"]
        extra_kwargs = {
            "first_name": {"allow_blank": False},
            "last_name": {"allow_blank": False},
        }

    def validate_postcode(self, value: str) -> str:
        return validate_postcode(value)

    def validate(self, attrs: dict) -> dict:
        prefs = attrs.get("preferences") or {}
        start = prefs.get("quiet_hours_start", self.instance.preferences.quiet_hours_start)
        end = prefs.get("quiet_hours_end", self.instance.preferences.quiet_hours_end)
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"preferences": {"quiet_hours_end": "Give both a start and an end for quiet hours, or neither."}}
            )
        phone = attrs.get("phone", self.instance.phone)
        if prefs.get("channel_sms") and not phone:
            raise serializers.ValidationError(
                {"preferences": {"channel_sms": "Add a mobile phone number to get text messages."}}
            )
        return attrs


class MeApi(APIView):
    """The member who is asking: their profile and what they hear about, and how."""

    @extend_schema(responses=MeSerializer, summary="Your profile and preferences")
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer, summary="Change your profile or preferences")
    def patch(self, request):
        member = request.user
        serializer = MeSerializer(member, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        prefs = data.pop("preferences", None)
        if data:
            services.profile_update(member=member, actor=member, data=data)
        if prefs is not None:
            interests = prefs.pop("interests", None)
            services.preferences_update(
                member=member, actor=member, data=prefs, interests=interests, source=ConsentRecord.Source.API
            )
        member.refresh_from_db()
        return Response(MeSerializer(member).data)


class OrganisationOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    opted_in = serializers.BooleanField(help_text="Whether you let this organisation see your details and message you.")


class MyOrganisationsApi(APIView):
    """The organisations sharing this service, and which of them may reach you."""

    @extend_schema(responses=OrganisationOutput(many=True), summary="Organisations and your opt-ins")
    def get(self, request):
        orgs = selectors.organisations_with_opt_in(member=request.user)
        return Response(OrganisationOutput(orgs, many=True).data)


class MyOrganisationOptInApi(APIView):
    """Opt in to one organisation (PUT) or withdraw (DELETE). Residents only."""

    permission_classes = [IsResident]

    def _set(self, request, slug: str, opted_in: bool):
        organisation = get_object_or_404(selectors.organisations_active(), slug=slug)
        services.organisation_opt_in_set(
            member=request.user, organisation=organisation, opted_in=opted_in, source=ConsentRecord.Source.API
        )
        org = selectors.organisations_with_opt_in(member=request.user).get(pk=organisation.pk)
        return Response(OrganisationOutput(org).data)

    @extend_schema(request=None, responses=OrganisationOutput, summary="Opt in to an organisation")
    def put(self, request, slug: str):
        return self._set(request, slug, True)

    @extend_schema(request=None, responses={200: OrganisationOutput}, summary="Withdraw from an organisation")
    def delete(self, request, slug: str):
        return self._set(request, slug, False)


class ConsentOutput(serializers.Serializer):
    purpose = serializers.CharField(source="consent_text.purpose")
    version = serializers.IntegerField(source="consent_text.version")
    text = serializers.SerializerMethodField()
    organisation = serializers.CharField(source="organisation.slug", allow_null=True, default=None)
    given = serializers.BooleanField()
    source = serializers.CharField()
    at = serializers.DateTimeField()

    def get_text(self, record: ConsentRecord) -> str:
        return record.consent_text.render(record.organisation)


class MyConsentsApi(APIView):
    """Every consent you gave or withdrew: what text, which version, when."""

    @extend_schema(responses=ConsentOutput(many=True), summary="Your consent history")
    def get(self, request):
        return Response(ConsentOutput(selectors.consent_history(member=request.user)[:500], many=True).data)


class MyDataExportApi(APIView):
    """All data held about you, as one JSON document."""

    @extend_schema(
        responses=inline_serializer(
            "PersonalDataExport", {"format": serializers.CharField(), "exported_at": serializers.DateTimeField()}
        ),
        summary="Download all your data",
    )
    def get(self, request):
        return Response(services.member_export(member=request.user, actor=request.user), status=status.HTTP_200_OK)
