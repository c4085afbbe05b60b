"""Build the synthetic demo: organisations sharing the service and one account of each role.

Every name here is made up; pages showing demo data say it is synthetic. Running it
again changes nothing that is already there.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management.base import BaseCommand
from django.db import transaction

from members.models import ConsentText, Member, Organisation
from members.services import consent_text_current, member_signup_complete

DEMO_PASSWORD = "mcv-demo-password"  # noqa: S105 (public, synthetic demo data)
# A fixed, public TOTP secret so that demo officers can add it to an authenticator app.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPMCVDEMO2"  # noqa: S105

ORGANISATIONS = [
    ("kent-police", "Kent Police (demo)", Organisation.Kind.POLICE),
    ("kent-fire-rescue", "Kent Fire and Rescue Service (demo)", Organisation.Kind.FIRE_RESCUE),
    ("kent-nhwa", "Kent Neighbourhood Watch Association (demo)", Organisation.Kind.NEIGHBOURHOOD_WATCH),
    ("kent-county-council", "Kent County Council (demo)", Organisation.Kind.COUNCIL),
    ("kent-pcc", "Kent Police and Crime Commissioner (demo)", Organisation.Kind.PCC),
]

RESIDENTS = [
    ("resident@example.org", "Alex", "Resident", "1 Demo Street", "Maidstone", "ME14 1XX"),
    ("neighbour@example.org", "Sam", "Neighbour", "3 Demo Street", "Maidstone", "ME14 1XY"),
]
STAFF = [
    ("officer@kent-police.example", "Jo", "Officer", Member.Role.OFFICER, "kent-police"),
    ("admin@kent-police.example", "Pat", "Admin", Member.Role.FORCE_ADMIN, "kent-police"),
    ("officer@kent-fire.example", "Chris", "Firefighter", Member.Role.OFFICER, "kent-fire-rescue"),
]


class Command(BaseCommand):
    help = "Create the synthetic demo organisations and accounts (idempotent), and print the logins."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            orgs = self._organisations()
            rows = [self._resident(*r, orgs) for r in RESIDENTS]
            rows += [self._staff(*s, orgs) for s in STAFF]
        self.stdout.write(self.style.SUCCESS("Demo data ready (all of it synthetic). Demo logins:"))
        self.stdout.write(f"  {'email':32} {'role':12} password")
        for email, role, extra in rows:
            self.stdout.write(f"  {email:32} {role:12} {DEMO_PASSWORD}{extra}")
        self.stdout.write(
            f"Officers and admins log in with two-factor authentication: add the secret "
            f"{DEMO_TOTP_SECRET} to an authenticator app, or use one of the recovery codes shown."
        )

    def _organisations(self) -> dict[str, Organisation]:
        orgs = {}
        for slug, name, kind in ORGANISATIONS:
            orgs[slug], _ = Organisation.objects.get_or_create(
                slug=slug, defaults={"name": name, "kind": kind, "description": "Synthetic demo organisation."}
            )
        return orgs

    def _resident(self, email, first, last, line1, town, postcode, orgs):
        member = Member.objects.filter(email=email).first()
        if member is None:
            member = Member.objects.create_user(email, DEMO_PASSWORD, first_name=first, last_name=last)
            EmailAddress.objects.create(user=member, email=email, primary=True, verified=True)
            member_signup_complete(
                member=member,
                profile={
                    "first_name": first,
                    "last_name": last,
                    "address_line1": line1,
                    "town": town,
                    "postcode": postcode,
                },
                organisations=[orgs["kent-police"], orgs["kent-nhwa"]],
                service_consent=consent_text_current(purpose=ConsentText.Purpose.SERVICE),
            )
        return email, member.get_role_display(), ""

    def _staff(self, email, first, last, role, org_slug, orgs):
        member = Member.objects.filter(email=email).first()
        if member is None:
            member = Member.objects.create_user(
                email, DEMO_PASSWORD, first_name=first, last_name=last, role=role, organisation=orgs[org_slug]
            )
            EmailAddress.objects.create(user=member, email=email, primary=True, verified=True)
            TOTP.activate(member, DEMO_TOTP_SECRET)
            RecoveryCodes.activate(member)
        codes = RecoveryCodes(Authenticator.objects.get(user=member, type=Authenticator.Type.RECOVERY_CODES))
        unused = codes.get_unused_codes()
        extra = f"  (recovery code: {unused[0]})" if unused else ""
        return email, member.get_role_display(), extra
