"""The verbs of membership: sign up, choose what to hear, consent, export, erase, staff."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import personal_data
from core.services import audit_record

from . import tasks
from .models import (
    ConsentRecord,
    ConsentText,
    Interest,
    Member,
    MemberInterest,
    Organisation,
    OrganisationOptIn,
    Preferences,
    erased_email,
)
from .permissions import can_manage_officer
from .validators import validate_postcode

PROFILE_FIELDS = ("first_name", "last_name", "phone", "address_line1", "address_line2", "town", "postcode")
PREFERENCE_FIELDS = (
    "channel_inbox",
    "channel_email",
    "channel_sms",
    "channel_push",
    "frequency",
    "quiet_hours_start",
    "quiet_hours_end",
    "sms_lowest_priority",
)


def consent_text_current(*, purpose: str) -> ConsentText:
    """The version of the words members agree to now (the newest one published)."""
    text = ConsentText.objects.filter(purpose=purpose, published_at__lte=timezone.now()).order_by("-version").first()
    if text is None:
        raise ConsentText.DoesNotExist(f"No consent text is published for {purpose!r}.")
    return text


def _preferences(member: Member) -> Preferences:
    prefs, _ = Preferences.objects.get_or_create(member=member)
    return prefs


@transaction.atomic
def member_signup_complete(
    *,
    member: Member,
    profile: dict[str, Any],
    organisations: Iterable[Organisation],
    service_consent: ConsentText,
) -> Member:
    """Finish a resident's sign-up: their address, the consent they gave, who may reach them.

    New residents hear about every category until they choose otherwise: an empty
    interest list would mean signing up to hear nothing.
    """
    for field in PROFILE_FIELDS:
        if field in profile:
            setattr(member, field, profile[field] or "")
    member.save(update_fields=list(PROFILE_FIELDS))
    _place(member)
    _preferences(member)
    MemberInterest.objects.bulk_create(
        [MemberInterest(member=member, interest=i) for i in Interest.values], ignore_conflicts=True
    )
    ConsentRecord.objects.create(
        member=member, consent_text=service_consent, given=True, source=ConsentRecord.Source.SIGNUP
    )
    for organisation in organisations:
        organisation_opt_in_set(
            member=member, organisation=organisation, opted_in=True, source=ConsentRecord.Source.SIGNUP
        )
    audit_record(actor=member, action="members.member.signed_up", target=member)
    return member


@transaction.atomic
def profile_update(*, member: Member, actor: Member, data: dict[str, Any]) -> list[str]:
    """Change a member's name, phone or address. Returns the names of the fields changed."""
    if "postcode" in data:
        data = {**data, "postcode": validate_postcode(data["postcode"])}
    changed = [f for f in PROFILE_FIELDS if f in data and getattr(member, f) != (data[f] or "")]
    for field in changed:
        setattr(member, field, data[field] or "")
    if changed:
        member.full_clean(exclude=["password", "email"])
        member.save(update_fields=changed)
        if "postcode" in changed:
            _place(member)
        audit_record(actor=actor, action="members.profile.changed", target=member, data={"fields": changed})
    return changed


def _place(member: Member) -> None:
    """Put the member on the map from their postcode (their areas follow)."""
    from groups.services import member_location_set

    member_location_set(member=member, postcode=member.postcode)


@transaction.atomic
def preferences_update(
    *,
    member: Member,
    actor: Member | None,
    data: dict[str, Any],
    interests: Iterable[str] | None = None,
    source: str = ConsentRecord.Source.SETTINGS,
) -> list[str]:
    """Change how and about what a member hears. Returns the names of what changed.

    A change made through the signed link in a message (nobody logged in) is
    confirmed to the member by email, so a forwarded link cannot change their
    settings behind their back.
    """
    prefs = _preferences(member)
    changed = [f for f in PREFERENCE_FIELDS if f in data and getattr(prefs, f) != data[f]]
    for field in changed:
        setattr(prefs, field, data[field])
    if changed:
        prefs.full_clean(exclude=["member"])
        prefs.save()
    if interests is not None:
        wanted = set(interests)
        unknown = wanted - set(Interest.values)
        if unknown:
            raise ValidationError({"interests": f"Unknown interests: {', '.join(sorted(unknown))}."})
        held = set(member.interests.values_list("interest", flat=True))
        if wanted != held:
            member.interests.filter(interest__in=held - wanted).delete()
            MemberInterest.objects.bulk_create(
                [MemberInterest(member=member, interest=i) for i in wanted - held], ignore_conflicts=True
            )
            changed.append("interests")
    if changed:
        audit_record(
            actor=actor,
            action="members.preferences.changed",
            target=member,
            data={"fields": changed, "source": source},
        )
        if source == ConsentRecord.Source.SIGNED_LINK:
            tasks.send_preferences_confirmation.delay_on_commit(member_id=member.pk, changed=changed)
    return changed


@transaction.atomic
def organisation_opt_in_set(*, member: Member, organisation: Organisation, opted_in: bool, source: str) -> bool:
    """Let an organisation see the member's details and message them, or stop it.

    Every choice is recorded with the exact consent text shown. Returns whether
    anything changed (choosing what is already chosen records nothing).
    """
    exists = OrganisationOptIn.objects.filter(member=member, organisation=organisation).exists()
    if exists == opted_in:
        return False
    if opted_in:
        OrganisationOptIn.objects.create(member=member, organisation=organisation)
    else:
        OrganisationOptIn.objects.filter(member=member, organisation=organisation).delete()
    ConsentRecord.objects.create(
        member=member,
        consent_text=consent_text_current(purpose=ConsentText.Purpose.ORGANISATION),
        organisation=organisation,
        given=opted_in,
        source=source,
    )
    audit_record(
        actor=member,
        action="members.opt_in.given" if opted_in else "members.opt_in.withdrawn",
        target=member,
        organisation=organisation,
    )
    return True


def member_export(*, member: Member, actor: Member) -> dict[str, Any]:
    """Everything held about a member, as one JSON-ready document (their right of access)."""
    document: dict[str, Any] = {
        "format": "mcv-personal-data/1",
        "exported_at": timezone.now().isoformat(),
    }
    for section in personal_data.sections():
        document[section.name] = section.export(member)
    audit_record(actor=actor, action="members.member.exported", target=member)
    return document


@transaction.atomic
def member_erase(*, member: Member, actor: Member) -> None:
    """Erase a member's personal data now (their right to erasure).

    Every app's registered eraser runs first (deleting what identifies the member,
    detaching what the force must keep), then the member row itself becomes a
    tombstone: no name, no address, no email, no way to log in. The audit log keeps
    that it happened, when and on whose request, and nothing of what was erased.
    """
    if member.erased_at is not None:
        raise ValidationError("This account has already been deleted.")
    if actor.pk != member.pk and not actor.is_superuser:
        raise PermissionDenied("Only the member themselves can delete their account.")
    by_self = actor.pk == member.pk
    for section in personal_data.sections():
        section.erase(member)
    member.email = erased_email(member.pk)
    for field in PROFILE_FIELDS:
        setattr(member, field, "")
    member.is_active = False
    member.erased_at = timezone.now()
    member.set_unusable_password()  # also ends every other session: their auth hash changes
    member.save()
    audit_record(
        actor=actor,
        action="members.member.erased",
        target=member,
        data={"requested_by": "self" if by_self else "administrator"},
    )


# --- what the members app itself holds, registered with the personal-data registry


def _export_member(member: Member) -> dict[str, Any]:
    prefs = _preferences(member)
    return {
        "account": {
            "email": member.email,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "phone": str(member.phone) if member.phone else "",
            "address_line1": member.address_line1,
            "address_line2": member.address_line2,
            "town": member.town,
            "postcode": member.postcode,
            "role": member.role,
            "organisation": member.organisation.name if member.organisation else None,
            "date_joined": member.date_joined.isoformat(),
            "last_login": member.last_login.isoformat() if member.last_login else None,
        },
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=member)
        ],
        "two_factor_methods": [
            {"type": a.type, "created_at": a.created_at.isoformat()} for a in Authenticator.objects.filter(user=member)
        ],
        "preferences": {
            **{f: _jsonable(getattr(prefs, f)) for f in PREFERENCE_FIELDS},
            "interests": sorted(member.interests.values_list("interest", flat=True)),
        },
        "organisations_opted_in": [
            {"organisation": o.organisation.name, "since": o.created_at.isoformat()}
            for o in member.organisation_opt_ins.select_related("organisation")
        ],
        "consents": [
            {
                "purpose": r.consent_text.purpose,
                "version": r.consent_text.version,
                "text": r.consent_text.render(r.organisation),
                "organisation": r.organisation.name if r.organisation else None,
                "given": r.given,
                "source": r.source,
                "at": r.at.isoformat(),
            }
            for r in member.consent_records.select_related("consent_text", "organisation")
        ],
        "api_token": {"exists": Token.objects.filter(user=member).exists()},
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _erase_member(member: Member) -> None:
    EmailAddress.objects.filter(user=member).delete()
    Authenticator.objects.filter(user=member).delete()
    Token.objects.filter(user=member).delete()
    member.interests.all().delete()
    member.organisation_opt_ins.all().delete()
    # Consent records only prove what this person agreed to; with the person gone
    # they identify them and prove nothing to anyone.
    member.consent_records.all().delete()
    Preferences.objects.filter(member=member).delete()


personal_data.register("member", export=_export_member, erase=_erase_member)


# --- organisation staff, managed by force admins


@transaction.atomic
def officer_create(
    *, actor: Member, email: str, first_name: str, last_name: str, role: str = Member.Role.OFFICER
) -> Member:
    """A force admin adds an officer (or another admin) to their own organisation.

    The new officer gets an email with a link to choose a password; at their first
    login they must set up two-factor authentication before anything else works.
    """
    if not actor.is_force_admin:
        raise PermissionDenied("Only force admins add officers.")
    if role not in (Member.Role.OFFICER, Member.Role.FORCE_ADMIN):
        raise ValidationError({"role": "Choose officer or force admin."})
    email = email.strip().lower()
    if Member.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A member with this email address already exists."})
    officer = Member.objects.create_user(
        email, None, first_name=first_name, last_name=last_name, role=role, organisation=actor.organisation
    )
    EmailAddress.objects.create(user=officer, email=email, primary=True, verified=True)
    audit_record(
        actor=actor,
        action="members.officer.created",
        target=officer,
        organisation=actor.organisation,
        data={"role": role},
    )
    tasks.send_officer_invitation.delay_on_commit(member_id=officer.pk)
    return officer


@transaction.atomic
def officer_set_active(*, actor: Member, officer: Member, active: bool) -> None:
    """Suspend an officer's access (leaving, moved on) or give it back."""
    if not can_manage_officer(member=actor, officer=officer):
        raise PermissionDenied("You can only manage officers of your own organisation.")
    if officer.pk == actor.pk:
        raise ValidationError("You cannot suspend your own account.")
    if officer.is_active == active:
        return
    officer.is_active = active
    officer.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="members.officer.reactivated" if active else "members.officer.suspended",
        target=officer,
        organisation=actor.organisation,
    )


def api_token_rotate(*, member: Member) -> Token:
    """A new API token for the member; any previous one stops working at once."""
    Token.objects.filter(user=member).delete()
    token = Token.objects.create(user=member)
    audit_record(actor=member, action="members.api_token.created", target=member)
    return token


def api_token_revoke(*, member: Member) -> None:
    if Token.objects.filter(user=member).delete()[0]:
        audit_record(actor=member, action="members.api_token.revoked", target=member)
