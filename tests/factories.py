"""factory_boy factories for the cast of the tests."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP

from members.models import ConsentText, Interest, Member, MemberInterest, Organisation, Preferences
from members.services import consent_text_current, member_signup_complete

PASSWORD = "correct-horse-battery-staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPTESTTEST"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Test Force {n}")
    slug = factory.Sequence(lambda n: f"test-force-{n}")
    kind = Organisation.Kind.POLICE


class MemberFactory(factory.django.DjangoModelFactory):
    """A verified resident with every interest, who opted in to the given organisations."""

    class Meta:
        model = Member
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    address_line1 = factory.Sequence(lambda n: f"{n} Test Street")
    town = "Maidstone"
    postcode = "ME14 1XX"
    role = Member.Role.RESIDENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        opt_in = kwargs.pop("opt_in", ())
        email = kwargs.pop("email")
        member = Member.objects.create_user(email, PASSWORD, **kwargs)
        EmailAddress.objects.create(user=member, email=email, primary=True, verified=True)
        if member.role == Member.Role.RESIDENT:
            member_signup_complete(
                member=member,
                profile={},
                organisations=opt_in,
                service_consent=consent_text_current(purpose=ConsentText.Purpose.SERVICE),
            )
        else:
            Preferences.objects.get_or_create(member=member)
            MemberInterest.objects.bulk_create([MemberInterest(member=member, interest=i) for i in Interest.values])
        return member


class OfficerFactory(MemberFactory):
    """An officer of an organisation, with TOTP and recovery codes already set up."""

    role = Member.Role.OFFICER
    organisation = factory.SubFactory(OrganisationFactory)
    email = factory.Sequence(lambda n: f"officer{n}@police.example")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with_mfa = kwargs.pop("with_mfa", True)
        member = super()._create(model_class, *args, **kwargs)
        if with_mfa:
            TOTP.activate(member, TOTP_SECRET)
            RecoveryCodes.activate(member)
        return member


class ForceAdminFactory(OfficerFactory):
    role = Member.Role.FORCE_ADMIN
    email = factory.Sequence(lambda n: f"admin{n}@police.example")
