"""Build the synthetic demo: organisations, one account of each role, and a made-up Kent and Medway.

Every name, boundary, postcode and person here is made up; pages showing demo data
say it is synthetic. Running it again changes nothing that is already there, and
does so quickly: `bin/start` runs it every time.

The county (`groups.demo`): 13 districts where the real ones roughly are, a few
wards each, a few postcodes per ward. Then `--members` synthetic residents, each at
a random point in a ward (resident0001@demo.invalid, …, no usable password),
opted in to Kent Police (demo) with the consent recorded; Neighbourhood Watch
schemes, interest groups and area groups, each with a coordinator and members.
Who lives in which area is computed once at the end, in bulk.

Then the product's features get content (members/demo_content.py), once: Kent Police
(demo)'s first week in the demo resident's ward, through the apps' own services, so that
inboxes, reach figures and emails are what the real app makes. Alerts of each kind (some
public, for the feeds; one with a quick poll, one with an update), one scheduled and one
draft; the demo resident's reply answered by the officer and the neighbour's waiting; an
open survey with answers (the demo resident can still answer it) and a closed one;
residents' cameras around the demo resident's home and a footage request. A line per step.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import numpy as np
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from groups import demo
from groups.models import Area, CommunityGroup, Membership, Postcode
from groups.services import area_members_recompute, member_location_set
from members.demo_content import demo_content_seed
from members.models import (
    ConsentRecord,
    ConsentText,
    Interest,
    Member,
    MemberInterest,
    Organisation,
    OrganisationOptIn,
    Preferences,
)
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
DEMO_COORDINATOR = "resident@example.org"

# --- the synthetic residents
SYNTHETIC_DOMAIN = "demo.invalid"  # .invalid: no message can ever be delivered there
SEED = 1842  # fixed, so that the same people turn up in the same places every time
PER_SCHEME = 6  # synthetic residents living inside each scheme's streets (the first coordinates it)
FIRST_NAMES = [
    *("Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Sophie", "Ella", "Emily", "Poppy"),
    *("Ruby", "Evie", "Chloe", "Harriet", "Priya", "Aisha", "Zofia", "Niamh", "Oliver", "George", "Harry"),
    *("Noah", "Jack", "Leo", "Arthur", "Oscar", "Charlie", "Jacob", "Thomas", "Alfie", "James", "William"),
    *("Mohammed", "Ravi", "Tomasz", "Kwame", "Daniel", "Samuel"),
]
LAST_NAMES = [
    *("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright"),
    *("Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke"),
    *("Patel", "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell", "Rose", "Cox", "Morris", "Ward"),
    *("Hughes", "Nowak", "Okafor", "Singh", "Turner", "Baker", "Fletcher", "Hopkins", "Kowalski"),
]
STREETS = (
    "High Street",
    "Church Lane",
    "Station Road",
    "London Road",
    "Mill Lane",
    "The Street",
    "Park Road",
    "Victoria Road",
    "School Lane",
    "Chalk Pit Lane",
    "Marsh Road",
    "Cherry Tree Avenue",
    "Bramley Close",
    "Kingfisher Way",
)

# --- the groups: (slug, name, join policy)
INTEREST_GROUPS = [
    ("syn-rural-watch", "Rural Watch", CommunityGroup.JoinPolicy.OPEN),
    ("syn-business-watch", "Business Watch", CommunityGroup.JoinPolicy.APPROVAL),
    ("syn-retail", "Retail", CommunityGroup.JoinPolicy.APPROVAL),
    ("syn-licensed-premises", "Licensed Premises", CommunityGroup.JoinPolicy.INVITATION),
    ("syn-universities", "Universities", CommunityGroup.JoinPolicy.INVITATION),
    ("syn-horse-watch", "Horse Watch", CommunityGroup.JoinPolicy.OPEN),
]
DEMO_INTEREST_GROUP = "syn-rural-watch"  # the demo resident is a member of it
GEOGRAPHIC_DISTRICT = "Thanet"  # an area group for a whole district; another for the demo residents' ward
# Who else is in a scheme, after its coordinator: (status, shares contact details).
SCHEME_PATTERN = [
    (Membership.Status.ACTIVE, True),
    (Membership.Status.ACTIVE, True),
    (Membership.Status.ACTIVE, False),
    (Membership.Status.PENDING, True),
    (Membership.Status.PENDING, False),
]


@dataclass
class Resident:
    """One synthetic resident as planned: where they live and what they are in."""

    index: int
    ward_code: str
    district_code: str
    longitude: float
    latitude: float
    postcode: str
    street: str
    scheme: int | None = None  # index into geography.schemes

    @property
    def email(self) -> str:
        return _email(self.index)


class Command(BaseCommand):
    help = (
        "Create the synthetic demo: organisations, accounts (their logins are printed), a made-up "
        "Kent and Medway with residents and groups, and a first week of alerts, replies, surveys and cameras. "
        "Idempotent: running it again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--members",
            type=int,
            default=200,
            help="How many synthetic residents to spread over the wards (default 200). Existing ones are kept.",
        )

    def handle(self, *args, **options) -> None:
        count = options["members"]
        if count < 0:
            raise CommandError("--members cannot be negative.")
        with transaction.atomic():
            orgs = self._organisations()
            geography = demo.geography_build()
            seeded = demo.geography_seed(geography=geography, scheme_organisation=orgs["kent-nhwa"])
            force_area = seeded.areas[demo.FORCE_CODE]
            for org in orgs.values():  # every demo organisation serves the whole (made-up) county
                org.areas.add(force_area)
            residents = [self._resident(*r, orgs) for r in RESIDENTS]
            placed = [self._place(member) for member, _ in residents]
            rows = [row for _, row in residents] + [self._staff(*s, orgs) for s in STAFF]
            # Planning where 10,000 people live takes a moment: only when someone is missing.
            held = set(Member.objects.filter(email__endswith=f"@{SYNTHETIC_DOMAIN}").values_list("email", flat=True))
            missing = any(_email(i) not in held for i in range(1, count + 1))
            plan = _plan(geography, count) if missing else None
            created = self._synthetic_residents(plan, held, geography, orgs) if plan else 0
            groups, groups_created = self._groups(geography, seeded.areas, orgs)
            if groups_created or created:
                plan = plan or _plan(geography, count)
                self._memberships(plan, geography, groups, {m.email: m for m, _ in residents})
            if seeded.areas_changed or created or any(placed):
                self._recompute()
        # After the county commits: the demo content's steps are transactions of their own.
        demo_content_seed(say=self.stdout.write)
        self._report(rows, groups[_scheme_slug(geography.schemes[0])], groups[DEMO_INTEREST_GROUP])

    # --- organisations and the demo accounts

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
        return member, (email, member.get_role_display(), "")

    def _place(self, member: Member) -> bool:
        """Put a demo resident made before the synthetic county existed on the map. True if moved."""
        if member.longitude is not None or not member.postcode:
            return False
        return member_location_set(member=member, postcode=member.postcode)

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

    # --- the synthetic residents, in bulk

    def _synthetic_residents(self, plan: list[Resident], held: set[str], geography: demo.Geography, orgs) -> int:
        """Create the planned residents not already there; returns how many were created.

        In bulk (a handful of statements per table), as sign-up would leave them:
        verified email, preferences, interests, the privacy notice accepted and the
        opt-ins given at sign-up, each recorded with the consent text shown.
        """
        todo = [r for r in plan if r.email not in held]
        if not todo:
            return 0
        rng = np.random.default_rng([SEED, len(held), len(todo)])
        now = timezone.now()
        joined = [now - dt.timedelta(minutes=int(m)) for m in rng.integers(60, 60 * 24 * 730, len(todo))]
        firsts = rng.integers(len(FIRST_NAMES), size=len(todo))
        lasts = rng.integers(len(LAST_NAMES), size=len(todo))
        houses = rng.integers(1, 120, size=len(todo))
        sms = rng.random(len(todo)) < 0.2
        # Nobody can log in as them: an unusable password (what `set_unusable_password` writes,
        # without drawing 40 random characters one by one for each of 10,000 members).
        unusable = UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)
        members = [
            Member(
                email=r.email,
                password=unusable,
                first_name=FIRST_NAMES[firsts[i]],
                last_name=LAST_NAMES[lasts[i]],
                phone=f"+447700900{r.index % 1000:03d}" if sms[i] else "",  # Ofcom's range for drama
                address_line1=f"{houses[i]} {r.street}",
                town=geography.towns[r.district_code],
                postcode=r.postcode,
                longitude=r.longitude,
                latitude=r.latitude,
                location_source="pin",
                date_joined=joined[i],
            )
            for i, r in enumerate(todo)
        ]
        Member.objects.bulk_create(members, batch_size=2000)
        ids = dict(Member.objects.filter(email__endswith=f"@{SYNTHETIC_DOMAIN}").values_list("email", "id"))
        member_ids = [ids[r.email] for r in todo]

        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user_id=m, email=r.email, primary=True, verified=True)
                for m, r in zip(member_ids, todo, strict=True)
            ],
            batch_size=2000,
        )
        digest = rng.random(len(todo)) < 0.15
        quiet = rng.random(len(todo)) < 0.1
        Preferences.objects.bulk_create(
            [
                Preferences(
                    member_id=m,
                    channel_sms=bool(sms[i]),
                    frequency=Preferences.Frequency.DAILY_DIGEST if digest[i] else Preferences.Frequency.IMMEDIATE,
                    quiet_hours_start=dt.time(22) if quiet[i] else None,
                    quiet_hours_end=dt.time(7) if quiet[i] else None,
                )
                for i, m in enumerate(member_ids)
            ],
            batch_size=2000,
        )
        # Most keep every interest they signed up with; some chose a few. Ten rows a member
        # is most of what this command writes: plain rows through one prepared statement,
        # no model instances (which cost more than the insert).
        interests = np.array(Interest.values)
        rows = []
        for m in member_ids:
            chosen = interests if rng.random() < 0.6 else rng.choice(interests, int(rng.integers(2, 8)), replace=False)
            rows += [(m, str(x)) for x in chosen]
        opts, qn = MemberInterest._meta, connection.ops.quote_name
        columns = ", ".join(qn(opts.get_field(f).column) for f in ("member", "interest"))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {qn(opts.db_table)} ({columns}) VALUES (%s, %s)", rows)  # noqa: S608

        service = consent_text_current(purpose=ConsentText.Purpose.SERVICE)
        opt_in_text = consent_text_current(purpose=ConsentText.Purpose.ORGANISATION)
        nhwa = rng.random(len(todo)) < 0.25
        consents, opt_ins = [], []
        for i, (m, r) in enumerate(zip(member_ids, todo, strict=True)):
            at = joined[i]
            consents.append(
                ConsentRecord(member_id=m, consent_text=service, given=True, source=ConsentRecord.Source.SIGNUP, at=at)
            )
            # Everyone hears from the police; scheme members (and some others) from Neighbourhood Watch too.
            for org in [orgs["kent-police"]] + ([orgs["kent-nhwa"]] if r.scheme is not None or nhwa[i] else []):
                opt_ins.append(OrganisationOptIn(member_id=m, organisation=org, created_at=at))
                consents.append(
                    ConsentRecord(
                        member_id=m,
                        consent_text=opt_in_text,
                        organisation=org,
                        given=True,
                        source=ConsentRecord.Source.SIGNUP,
                        at=at,
                    )
                )
        OrganisationOptIn.objects.bulk_create(opt_ins, batch_size=5000, ignore_conflicts=True)
        ConsentRecord.objects.bulk_create(consents, batch_size=5000)
        return len(todo)

    # --- groups

    def _groups(self, geography: demo.Geography, areas: dict[str, Area], orgs) -> tuple[dict[str, CommunityGroup], int]:
        """Get or create every demo group by slug. Returns them by slug, and how many were new."""
        police, nhwa = orgs["kent-police"], orgs["kent-nhwa"]
        specs = []
        for scheme in geography.schemes:
            ward = geography.by_code(scheme.ward_code)
            specs.append(
                (
                    _scheme_slug(scheme),
                    f"{scheme.street} Neighbourhood Watch",
                    CommunityGroup.Kind.SCHEME,
                    CommunityGroup.JoinPolicy.APPROVAL,
                    nhwa,
                    areas[scheme.area.code],
                    f"A synthetic Neighbourhood Watch scheme covering {scheme.street} in {ward.name}.",
                )
            )
        for slug, name, policy in INTEREST_GROUPS:
            specs.append((slug, name, CommunityGroup.Kind.INTEREST, policy, police, None, f"A synthetic {name} group."))
        district = next(d for d in geography.districts if d.name == GEOGRAPHIC_DISTRICT)
        ward = geography.by_code(geography.schemes[0].ward_code)
        for area in (district, ward):
            specs.append(
                (
                    f"syn-area-{slugify(area.name)}",
                    f"{area.name} residents",
                    CommunityGroup.Kind.GEOGRAPHIC,
                    CommunityGroup.JoinPolicy.OPEN,
                    police,
                    areas[area.code],
                    f"A synthetic group for everyone living in {area.name}.",
                )
            )
        groups, created_count = {}, 0
        for slug, name, kind, policy, org, area, description in specs:
            groups[slug], created = CommunityGroup.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "join_policy": policy,
                    "organisation": org,
                    "area": area,
                    "description": description,
                    "is_synthetic": True,
                },
            )
            created_count += created
        return groups, created_count

    def _memberships(self, plan, geography, groups, demo_accounts: dict[str, Member]) -> None:
        """Coordinators and members for every group, from the plan (only for residents who exist).

        Seeded only in a run that created groups or residents, so that a member who
        has since left a group is not put back by the next `bin/start`.
        """
        ids = dict(Member.objects.filter(email__endswith=f"@{SYNTHETIC_DOMAIN}").values_list("email", "id"))
        rng = np.random.default_rng([SEED, 7])
        rows: dict[tuple[int, int], Membership] = {}

        def add(group, member_id, role=Membership.Role.MEMBER, status=Membership.Status.ACTIVE, share=False):
            if member_id is not None and (group.pk, member_id) not in rows:
                rows[(group.pk, member_id)] = Membership(
                    group=group,
                    member_id=member_id,
                    role=role,
                    status=status,
                    share_contact=share,
                    decided_at=timezone.now() if status == Membership.Status.ACTIVE else None,
                )

        coordinator = Membership.Role.COORDINATOR
        # Schemes: the residents planned inside their streets; the first of them coordinates.
        for s, scheme in enumerate(geography.schemes):
            group = groups[_scheme_slug(scheme)]
            inside = [ids.get(r.email) for r in plan if r.scheme == s]
            if s == 0:
                add(group, demo_accounts[DEMO_COORDINATOR].pk, coordinator, share=True)
            for k, member_id in enumerate(inside):
                if k == 0:
                    add(group, member_id, coordinator, share=True)
                else:
                    status, share = SCHEME_PATTERN[(k - 1) % len(SCHEME_PATTERN)]
                    add(group, member_id, status=status, share=share)

        # Interest groups: anyone, from anywhere; approval groups have some asking to join.
        everyone = [ids[r.email] for r in plan if r.email in ids]
        for slug, _, policy in INTEREST_GROUPS:
            group = groups[slug]
            if slug == DEMO_INTEREST_GROUP:
                add(group, demo_accounts[DEMO_COORDINATOR].pk)
            if not everyone:
                continue
            picked = rng.choice(everyone, min(len(everyone), int(rng.integers(5, 11))), replace=False)
            for k, member_id in enumerate(picked.tolist()):
                if k == 0:
                    add(group, member_id, coordinator, share=True)
                    continue
                pending = policy == CommunityGroup.JoinPolicy.APPROVAL and k % 4 == 0
                add(
                    group,
                    member_id,
                    status=Membership.Status.PENDING if pending else Membership.Status.ACTIVE,
                    share=bool(rng.random() < 0.5),
                )

        # Area groups: residents of the area only.
        for group in groups.values():
            if group.kind != CommunityGroup.Kind.GEOGRAPHIC:
                continue
            code = group.area.code
            local = [ids[r.email] for r in plan if code in (r.ward_code, r.district_code) and r.email in ids]
            picked = rng.choice(local, min(len(local), 8), replace=False).tolist() if local else []
            for k, member_id in enumerate(picked):
                add(group, member_id, coordinator if k == 0 else Membership.Role.MEMBER, share=k == 0 or k % 2 == 1)
        Membership.objects.bulk_create(list(rows.values()), ignore_conflicts=True)

    # --- who lives where, once for everything

    def _recompute(self) -> None:
        """Materialise `AreaMember` for every area over Kent: eagerly, one bulk pass per area."""
        minx, miny, maxx, maxy = demo.KENT_BOUNDS
        areas = Area.objects.filter(min_lon__lte=maxx, max_lon__gte=minx, min_lat__lte=maxy, max_lat__gte=miny)
        for area_id in areas.order_by("level", "code").values_list("pk", flat=True):
            area_members_recompute(area_id=area_id)

    # --- what it says

    def _report(self, rows, scheme: CommunityGroup, interest_group: CommunityGroup) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS("Demo data ready (all of it synthetic). Demo logins:"))
        out.write(f"  {'email':32} {'role':12} password")
        for email, role, extra in rows:
            out.write(f"  {email:32} {role:12} {DEMO_PASSWORD}{extra}")
        out.write(
            f"Officers and admins log in with two-factor authentication: add the secret "
            f"{DEMO_TOTP_SECRET} to an authenticator app, or use one of the recovery codes shown."
        )
        out.write(
            f"{DEMO_COORDINATOR} coordinates the scheme “{scheme.name}” and is a member of “{interest_group.name}”."
        )
        synthetic = Area.objects.filter(is_synthetic=True)
        out.write(
            f"Synthetic Kent and Medway: {synthetic.filter(level=Area.Level.DISTRICT).count()} districts, "
            f"{synthetic.filter(level=Area.Level.WARD).count()} wards, "
            f"{Postcode.objects.filter(is_synthetic=True).count()} postcodes, "
            f"{Member.objects.filter(email__endswith=f'@{SYNTHETIC_DOMAIN}').count()} members, "
            f"{CommunityGroup.objects.filter(is_synthetic=True).count()} groups — all synthetic."
        )


def _email(index: int) -> str:
    return f"resident{index:04d}@{SYNTHETIC_DOMAIN}"


def _scheme_slug(scheme: demo.DemoScheme) -> str:
    return f"syn-nhw-{slugify(scheme.street)}"


def _plan(geography: demo.Geography, count: int) -> list[Resident]:
    """Where each of `count` synthetic residents lives: the same answer every time.

    The first residents live inside the schemes' streets (PER_SCHEME each, drawn from
    each scheme's own random stream), the rest at random points in random wards.
    """
    plan: list[Resident] = []
    district_of = {w.code: w.parent_code for w in geography.wards}
    for s, scheme in enumerate(geography.schemes):
        take = min(PER_SCHEME, count - len(plan))
        if take <= 0:
            break
        rng = np.random.default_rng([SEED, s])
        ward = geography.by_code(scheme.ward_code)
        lons, lats = demo.random_points(scheme.area.shape, take, rng, within=[ward.shape])
        for lon, lat in zip(lons, lats, strict=True):
            plan.append(
                Resident(
                    index=len(plan) + 1,
                    ward_code=ward.code,
                    district_code=district_of[ward.code],
                    longitude=float(lon),
                    latitude=float(lat),
                    postcode=scheme.postcode,
                    street=scheme.street,
                    scheme=s,
                )
            )
    rest = count - len(plan)
    if rest <= 0:
        return plan
    rng = np.random.default_rng([SEED, 1000])
    wards = geography.wards
    chosen = rng.integers(len(wards), size=rest)
    streets = rng.integers(len(STREETS), size=rest)
    start = len(plan)
    slots: list[Resident | None] = [None] * rest
    for w, ward in enumerate(wards):
        where = np.flatnonzero(chosen == w)
        if not len(where):
            continue
        district = geography.by_code(ward.parent_code)
        lons, lats = demo.random_points(ward.shape, len(where), rng, within=[district.shape])
        codes = [p.postcode for p in geography.postcodes_of(ward.code)]
        picks = rng.integers(len(codes), size=len(where))
        for k, slot in enumerate(where):
            slots[slot] = Resident(
                index=start + int(slot) + 1,
                ward_code=ward.code,
                district_code=district.code,
                longitude=float(lons[k]),
                latitude=float(lats[k]),
                postcode=codes[picks[k]],
                street=STREETS[streets[slot]],
            )
    return plan + [r for r in slots if r is not None]
