"""Who may reach what: every URL of the project, requested as every member of the cast.

MATRIX below holds one entry per URL pattern (by its full name, `namespace:name`): the
requests to make (method, URL arguments, body) and, per role, the exact outcome, a
status code and, for a redirect, where to. `test_every_route_is_in_the_matrix` fails
when a route is added without an entry (or an entry outlives its route), so a new page
cannot ship without someone deciding who may see it.

The roles are the cast of tests/conftest.py: `anonymous`, two residents of Kent
(`resident`, `other_resident`, both opted in to Kent Police), a Kent `officer`, an
Essex officer (`officer_other_org`) and a Kent `force_admin`. Officers already have
TOTP, so they pass the MFA gate; the gate itself is tested at the end of the file.
Group routes add a seventh role, the `coordinator` of a Kent group. The cast and its
groups are built, and each role logged in (`force_login`), once for the module (see
`_cast_rows`), which keeps the file fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings as django_settings
from django.db import models
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from groups.memberships import invitation_token
from groups.models import Area, AreaMember, CommunityGroup, GroupInvitation, Membership
from groups.services import area_upsert
from members.links import preferences_link_token
from members.models import Member, OrganisationOptIn
from members.permissions import MFA_REQUIRED_MESSAGE
from notifications.models import Delivery, Dispatch, PushSubscription

from .factories import TOTP_SECRET, ForceAdminFactory, MemberFactory, OfficerFactory, OrganisationFactory
from .transactions import held_for_the_module

ANONYMOUS = "anonymous"
ROLES = ("anonymous", "resident", "other_resident", "officer", "officer_other_org", "force_admin")
COORDINATOR = "coordinator"  # asked only by the group routes


# --- what a request may answer


@dataclass(frozen=True)
class Expect:
    """An exact outcome: the status code, where a redirect goes, what the body shows."""

    status: int
    # Where a redirect (or a 201's Location) points: a path, a pattern of it, or a
    # function of the path asked. None: no Location header at all.
    to: str | re.Pattern | Callable[[str], str] | None = None
    next_here: bool = False  # whether that redirect carries ?next=<the path requested>
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()

    def showing(self, *texts: str) -> Expect:
        return replace(self, contains=self.contains + texts)

    def hiding(self, *texts: str) -> Expect:
        return replace(self, absent=self.absent + texts)

    def __str__(self) -> str:
        if self.to is None:
            return str(self.status)
        if isinstance(self.to, str):
            to = self.to
        elif isinstance(self.to, re.Pattern):
            to = self.to.pattern
        else:
            to = self.to.__doc__  # the functions below describe themselves
        return f"{self.status} to {to}" + ("?next=<path>" if self.next_here else "")

    def goes_to(self, location_path: str, path: str) -> bool:
        if isinstance(self.to, re.Pattern):
            return self.to.fullmatch(location_path) is not None
        return location_path == (self.to(path) if callable(self.to) else self.to)


def redirect(to: str | re.Pattern | Callable[[str], str], *, next_here: bool = False) -> Expect:
    return Expect(302, to=to, next_here=next_here)


def _same_path(path: str) -> str:
    """<the path requested>"""
    return path


def _reset_key_swapped(path: str) -> str:
    """<the same URL, its key swapped for "set-password">"""
    return re.sub(r"-[^/]+/$", "-set-password/", path)


OK = Expect(200)
CREATED = Expect(201)
NO_CONTENT = Expect(204)
BAD_REQUEST = Expect(400)
FORBIDDEN = Expect(403)
NOT_FOUND = Expect(404)
NOT_ALLOWED = Expect(405)
LOGIN = redirect("/accounts/login/", next_here=True)  # the login page, back here afterwards
REAUTHENTICATE = redirect("/accounts/reauthenticate/", next_here=True)  # "enter your password again"
HOME = redirect("/")
BACK_HERE = redirect(_same_path)  # a form that posts, then shows itself again
KEY_SWAPPED = redirect(_reset_key_swapped)
ADMIN_LOGIN = redirect("/admin/login/", next_here=True)
# DRF tries SessionAuthentication first, which sends no WWW-Authenticate challenge, so an
# unauthenticated API request is a 403 (not a 401) with this reason.
API_UNAUTHENTICATED = FORBIDDEN.showing("Authentication credentials were not provided.")


def roles(
    *,
    anonymous: Expect,
    resident: Expect,
    other_resident: Expect | None = None,
    officer: Expect | None = None,
    officer_other_org: Expect | None = None,
    force_admin: Expect | None = None,
    coordinator: Expect | None = None,
) -> dict[str, Expect]:
    """Outcome per role. Unless given: `other_resident` as `resident`, `officer` as
    `resident`, `officer_other_org` and `force_admin` as `officer`. `coordinator` is
    only requested when given."""
    officer = officer or resident
    outcome = {
        "anonymous": anonymous,
        "resident": resident,
        "other_resident": other_resident or resident,
        "officer": officer,
        "officer_other_org": officer_other_org or officer,
        "force_admin": force_admin or officer,
    }
    if coordinator is not None:
        outcome[COORDINATOR] = coordinator
    return outcome


def everyone(expect: Expect) -> dict[str, Expect]:
    return roles(anonymous=expect, resident=expect)


def logged_in(expect: Expect, *, anonymous: Expect = LOGIN) -> dict[str, Expect]:
    """Anonymous visitors go to the login page; every member gets `expect`."""
    return roles(anonymous=anonymous, resident=expect)


def api(**outcomes: Expect) -> dict[str, Expect]:
    """`roles` for the API, where anonymous requests are refused rather than redirected."""
    return roles(anonymous=API_UNAUTHENTICATED, **outcomes)


ALL_200 = everyone(OK)
ALL_404 = everyone(NOT_FOUND)
LOGGED_IN_200 = logged_in(OK)
API_LOGGED_IN_200 = api(resident=OK)
# allauth pages for visitors only (login, sign-up): members are sent home.
VISITORS_ONLY = roles(anonymous=OK, resident=HOME)
FORCE_ADMINS_ONLY = roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN, force_admin=OK)


# --- the cast and its groups, built once for the whole module
#
# Kent Police runs two groups: Kent Rural Watch (approval needed), coordinated by the
# coordinator, where the resident is a member who shares their details and the other
# resident has asked to join; and Kent Horse Watch (invitation only), to which the
# resident has an invitation. Essex Police runs Essex Business Watch (open), whose one
# member is a resident who opted in to Essex only. On the map: a ward everyone shares,
# and one custom area (a hotspot) drawn by each force.

EMAILS = {
    "resident": "resident@example.org",
    "other_resident": "other@example.org",
    "coordinator": "coord@example.org",
    "essex_resident": "essex.only@example.org",
    "officer": "officer@kent.police.example",
    "officer_other_org": "officer@essex.police.example",
}


def _square(west: float, south: float, size: float = 0.02) -> dict:
    corners = [[west, south], [west + size, south], [west + size, south + size], [west, south + size]]
    return {"type": "Polygon", "coordinates": [[*corners, corners[0]]]}


def _build_cast() -> dict[str, tuple[type[models.Model], int]]:
    """The people of tests/conftest.py (keep the two in step), and the groups above."""
    kent = OrganisationFactory(name="Kent Police", slug="kent-police")
    essex = OrganisationFactory(name="Essex Police", slug="essex-police")
    people = {
        "resident": MemberFactory(email=EMAILS["resident"], first_name="Alex", last_name="Resident", opt_in=[kent]),
        "other_resident": MemberFactory(email=EMAILS["other_resident"], first_name="Sam", last_name="Other",
                                        opt_in=[kent]),
        "officer": OfficerFactory(email=EMAILS["officer"], organisation=kent, first_name="Jo", last_name="Officer"),
        "officer_other_org": OfficerFactory(email=EMAILS["officer_other_org"], organisation=essex,
                                            first_name="Lee", last_name="Elsewhere"),
        "force_admin": ForceAdminFactory(email="admin@kent.police.example", organisation=kent,
                                         first_name="Pat", last_name="Admin"),
        "coordinator": MemberFactory(email=EMAILS["coordinator"], first_name="Kim", last_name="Coordinator",
                                     opt_in=[kent]),
        "essex_resident": MemberFactory(email=EMAILS["essex_resident"], first_name="Robin", last_name="Essexonly",
                                        opt_in=[essex]),
    }
    groups = {
        "kent_watch": CommunityGroup.objects.create(
            name="Kent Rural Watch", slug="kent-rural-watch", kind="interest", join_policy="approval",
            organisation=kent),
        "kent_invitation_only": CommunityGroup.objects.create(
            name="Kent Horse Watch", slug="kent-horse-watch", kind="interest", join_policy="invitation",
            organisation=kent),
        "essex_watch": CommunityGroup.objects.create(
            name="Essex Business Watch", slug="essex-business-watch", kind="interest", join_policy="open",
            organisation=essex),
    }

    def join(group: str, member: str, **fields: Any) -> Membership:
        return Membership.objects.create(group=groups[group], member=people[member], **fields)

    rows = {
        "coordinator_membership": join("kent_watch", "coordinator", role="coordinator", share_contact=True),
        "resident_membership": join("kent_watch", "resident", share_contact=True),
        "pending_request": join("kent_watch", "other_resident", status="pending"),
        "essex_membership": join("essex_watch", "essex_resident", share_contact=True),
        "invitation": GroupInvitation.objects.create(
            group=groups["kent_invitation_only"], email=EMAILS["resident"], invited_by=people["coordinator"]),
    }
    kent_dispatch = Dispatch.objects.create(
        organisation=kent, source_type="test", source_id="1", subject="Kent appeal", body_text="Seen anything?",
        audience={"include": []})
    rows["resident_message"] = Delivery.objects.create(
        dispatch=kent_dispatch, member=people["resident"], channel="inbox", status="sent")
    rows["resident_browser"] = PushSubscription.objects.create(
        member=people["resident"], endpoint=RESIDENT_BROWSER, label="Chrome on Android", **_BROWSER_KEYS)
    areas = {
        "ward": area_upsert(code="E05TEST01", name="Test Ward", level="ward", geometry=_square(0.50, 51.26),
                            recompute=False)[0],
        "kent_area": area_upsert(code="custom-kent-test", name="Kent Hotspot", level="custom",
                                 geometry=_square(0.51, 51.27), organisation=kent, recompute=False)[0],
        "essex_area": area_upsert(code="custom-essex-test", name="Essex Hotspot", level="custom",
                                  geometry=_square(0.70, 51.70), organisation=essex, recompute=False)[0],
    }
    kent.areas.add(areas["ward"])  # Kent Police covers the test ward (groups.jurisdiction)
    everything = {"organisation": kent, "other_organisation": essex, **people, **groups, **rows, **areas}
    for build in CAST_BUILDERS:
        more = build(everything)
        assert not set(more) & set(everything), f"{build.__module__} reuses cast names: {set(more) & set(everything)}"
        everything.update(more)
    return {name: (type(row), row.pk) for name, row in everything.items()}


def _log_in_once(pks: Mapping[str, tuple[type[models.Model], int]]) -> dict[str, str]:
    """Each role's session key, from one `force_login` each."""
    sessions = {}
    for role in (*ROLES[1:], COORDINATOR):
        model, pk = pks[role]
        client = Client()
        client.force_login(model.objects.get(pk=pk))
        sessions[role] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return sessions


@pytest.fixture(scope="module")
def _cast_rows(django_db_setup, django_db_blocker):
    """Build the cast and log each role in once, in a transaction rolled back after the module.

    This is what Django's `TestCase.setUpTestData` does: building the cast, and logging
    in (a session written, then cycled), for each of the ~900 requests below would be
    most of this file's run time. Each test runs in a savepoint inside this transaction
    (pytest-django's `db`), so what a request changes (a logout, a suspended officer) is
    undone before the next, and reads fresh instances through `Cast`. Tests must name
    `cast` (or a fixture using it) in their arguments, not ask for it from inside: pytest
    sets up this module-scoped fixture before the test's savepoint only when it knows of
    it in advance; opened inside that savepoint, it would be rolled back with the test.
    """
    with held_for_the_module(django_db_blocker):
        with (
            django_db_blocker.unblock(),
            override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        ):
            pks = _build_cast()
            sessions = _log_in_once(pks)
        yield pks, sessions


class Cast:
    """The cast and its groups, each row read (fresh, once per test) when first used."""

    def __init__(self, pks: Mapping[str, tuple[type[models.Model], int]], sessions: Mapping[str, str]) -> None:
        self._pks = pks
        self._sessions = sessions
        self._rows: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._pks:
            raise AttributeError(name)
        if name not in self._rows:
            model, pk = self._pks[name]
            self._rows[name] = model.objects.get(pk=pk)
        return self._rows[name]

    def member(self, role: str) -> Member | None:
        return None if role == ANONYMOUS else getattr(self, role)

    def log_in(self, client: Client, role: str) -> Member | None:
        """The client, as `role` (its session from `force_login`, see `_cast_rows`)."""
        if role != ANONYMOUS:
            client.cookies[django_settings.SESSION_COOKIE_NAME] = self._sessions[role]
        return self.member(role)


@pytest.fixture
def cast(db, _cast_rows) -> Cast:
    return Cast(*_cast_rows)


# The conftest fixtures of these names would build a second cast, whose email addresses
# clash with this one's: in this module they read this one.


def _from_cast(name: str):
    @pytest.fixture(name=name)
    def read(cast: Cast) -> Any:
        return getattr(cast, name)

    return read


organisation = _from_cast("organisation")
other_organisation = _from_cast("other_organisation")
resident = _from_cast("resident")
other_resident = _from_cast("other_resident")
officer = _from_cast("officer")
officer_other_org = _from_cast("officer_other_org")
force_admin = _from_cast("force_admin")


# --- the requests

Check = Callable[[Cast, Member | None, str], None]  # (cast, the member asking, their role)


@dataclass(frozen=True)
class Case:
    """One request to a route, and its outcome for each role."""

    method: str
    expect: Mapping[str, Expect]
    label: str = ""
    kwargs: Callable[[Cast], dict[str, Any]] | None = None
    data: dict[str, Any] | None = None
    as_json: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    check: Check | None = None  # state afterwards: proves what the request did or did not do

    @property
    def title(self) -> str:
        return self.method.upper() + (f" {self.label}" if self.label else "")


def GET(expect: Mapping[str, Expect], **options: Any) -> Case:
    return Case("get", expect, **options)


def POST(expect: Mapping[str, Expect], **options: Any) -> Case:
    return Case("post", expect, **options)


def PUT(expect: Mapping[str, Expect], **options: Any) -> Case:
    return Case("put", expect, as_json=True, **options)


def PATCH(expect: Mapping[str, Expect], **options: Any) -> Case:
    return Case("patch", expect, as_json=True, **options)


def DELETE(expect: Mapping[str, Expect], **options: Any) -> Case:
    return Case("delete", expect, as_json=True, **options)


@dataclass(frozen=True)
class AdminRule:
    """The Django admin's many routes, as one rule: only staff get in.

    None of the cast is staff, so every admin URL sends them (and anonymous visitors)
    to the admin's login page, except the login page itself, and the logout, which
    Django's `admin_view` sends back to the admin index for anyone who is not staff.
    """

    exceptions: Mapping[str, Expect]
    default: Expect = ADMIN_LOGIN


# --- URL arguments and checks for the routes that need them


def _kwargs(**from_cast: Callable[[Cast], Any]) -> Callable[[Cast], dict[str, Any]]:
    """URL arguments read from the cast: `_kwargs(pk=lambda c: c.officer.pk)`."""
    return lambda c: {name: value(c) for name, value in from_cast.items()}


def _fixed(**kwargs: Any) -> Callable[[Cast], dict[str, Any]]:
    return lambda c: kwargs


OWN_OFFICER = _kwargs(pk=lambda c: c.officer.pk)

# Web push. A test-only VAPID key (never a real site's) and a browser's subscription as
# PushSubscription.toJSON() gives it; the resident has one browser subscribed already.
PUSH_ON = {"VAPID_PRIVATE_KEY": "u0NW5iAbvLWzy0SfdGA_ttJGUdiPl8MEgDKllgMIWxI", "VAPID_PUBLIC_KEY": ""}
_BROWSER_KEYS = {"p256dh": "BDfsSYDxMsQ0KyluYM5lrU_Ts1pzH2CClS0-cVkgSpsX1KujQNBaIRyZiGMO5f6Qn7V1QfBNkD6WRV-AQcKN28k",
                 "auth": "GspYbbO26iiApqQZBBUDwQ"}
NEW_BROWSER = "https://fcm.googleapis.com/fcm/send/matrix-new-browser"
RESIDENT_BROWSER = "https://fcm.googleapis.com/fcm/send/matrix-resident-browser"
PUSH_SUBSCRIPTION = {"endpoint": NEW_BROWSER, "keys": _BROWSER_KEYS}
RESIDENT_DEVICE = _kwargs(pk=lambda c: c.resident_browser.pk)


def _subscribed_only_if_resident(cast: Cast, member: Member | None, role: str) -> None:
    subscribed = PushSubscription.objects.filter(endpoint=NEW_BROWSER).first()
    if role in ("resident", "other_resident"):
        assert subscribed is not None and subscribed.member == member
    else:
        assert subscribed is None


def _resident_browser_unchanged(cast: Cast, member: Member | None, role: str) -> None:
    assert PushSubscription.objects.get(endpoint=RESIDENT_BROWSER).member == cast.resident
    assert not PushSubscription.objects.filter(endpoint=NEW_BROWSER).exists()


def _resident_browser_renewed(cast: Cast, member: Member | None, role: str) -> None:
    assert not PushSubscription.objects.filter(endpoint=RESIDENT_BROWSER).exists()
    assert PushSubscription.objects.get(endpoint=NEW_BROWSER).member == cast.resident


def _resident_browser_removed_only_by_them(cast: Cast, member: Member | None, role: str) -> None:
    assert PushSubscription.objects.filter(endpoint=RESIDENT_BROWSER).exists() == (role != "resident")


OTHER_ORGS_OFFICER = _kwargs(pk=lambda c: c.officer_other_org.pk)
KENT = _kwargs(slug=lambda c: c.organisation.slug)
ESSEX = _kwargs(slug=lambda c: c.other_organisation.slug)
NO_SUCH_SLUG = _fixed(slug="no-such-thing")
KENT_WATCH = _fixed(slug="kent-rural-watch")
KENT_INVITATION_ONLY = _fixed(slug="kent-horse-watch")
ESSEX_WATCH = _fixed(slug="essex-business-watch")
PENDING_REQUEST = _kwargs(slug=lambda c: c.kent_watch.slug, pk=lambda c: c.pending_request.pk)
RESIDENT_IN_KENT_WATCH = _kwargs(slug=lambda c: c.kent_watch.slug, pk=lambda c: c.resident_membership.pk)
# Another group's membership, under this group's URL: managing one group is no key to another.
ESSEX_MEMBERSHIP_VIA_KENT = _kwargs(slug=lambda c: c.kent_watch.slug, pk=lambda c: c.essex_membership.pk)
INVITATION = _kwargs(token=lambda c: invitation_token(c.invitation))


def _preferences_link(c: Cast) -> dict[str, Any]:
    return {"token": preferences_link_token(member=c.resident)}


def _confirm_email_key(c: Cast) -> dict[str, Any]:
    return {"key": EmailConfirmationHMAC(EmailAddress.objects.get(user=c.resident)).key}


def _password_reset_key(c: Cast) -> dict[str, Any]:
    return {"uidb36": user_pk_to_url_str(c.resident), "key": default_token_generator.make_token(c.resident)}


def _not_erased(c: Cast, member: Member | None, role: str) -> None:
    if member is not None:
        member.refresh_from_db()
        assert member.erased_at is None
        assert member.is_active


def _suspended_only_by_own_force_admin(target: str) -> Check:
    def check(c: Cast, member: Member | None, role: str) -> None:
        officer = getattr(c, target)
        officer.refresh_from_db()
        assert officer.is_active is not (role == "force_admin" and target == "officer")

    return check


def _officer_created_only_by_force_admin(c: Cast, member: Member | None, role: str) -> None:
    created = Member.objects.filter(email=NEW_OFFICER["email"]).first()
    if role == "force_admin":
        assert created is not None
        assert created.organisation == member.organisation
    else:
        assert created is None


def _first_name_changed_to(name: str) -> Check:
    def check(c: Cast, member: Member | None, role: str) -> None:
        if member is not None:
            member.refresh_from_db()
            assert member.first_name == name

    return check


def _withdrew_only_themselves(c: Cast, member: Member | None, role: str) -> None:
    """Withdrawing from Kent Police changes the member asking, and nobody else."""
    for resident in (c.resident, c.other_resident):
        still_in = OrganisationOptIn.objects.filter(member=resident, organisation=c.organisation).exists()
        assert still_in is (resident != member), f"{resident.email} opted in: {still_in}"


def _opted_in_to_essex(c: Cast, member: Member | None, role: str) -> None:
    if member is not None:
        opted_in = OrganisationOptIn.objects.filter(member=member, organisation=c.other_organisation).exists()
        assert opted_in is (not member.is_officer), f"{member.email} opted in: {opted_in}"


def _resident_stopped_email(c: Cast, member: Member | None, role: str) -> None:
    c.resident.preferences.refresh_from_db()
    assert c.resident.preferences.channel_email is False


def _has_token(c: Cast, member: Member | None, role: str) -> None:
    if member is not None:
        assert Token.objects.filter(user=member).exists()


RESIDENTS = {"resident", "other_resident", COORDINATOR}
KENT_MANAGERS = {"officer", "force_admin", COORDINATOR}  # of Kent Rural Watch


def _in_group(c: Cast, slug: str) -> set[str]:
    return set(Membership.objects.filter(group__slug=slug).values_list("member__email", flat=True))


def _joined_essex_watch_only_if_resident(c: Cast, member: Member | None, role: str) -> None:
    if member is not None:
        assert (member.email in _in_group(c, "essex-business-watch")) is (role in RESIDENTS)


def _left_kent_watch(c: Cast, member: Member | None, role: str) -> None:
    """Leaving takes the member asking out of the group, and nobody else."""
    members = _in_group(c, "kent-rural-watch")
    for who in ("resident", "other_resident", "coordinator"):
        assert (EMAILS[who] in members) is (who != role), f"{who} in the group: {EMAILS[who] in members}"


def _request_decided_only_by_managers(*, approved: bool) -> Check:
    def check(c: Cast, member: Member | None, role: str) -> None:
        request = Membership.objects.filter(pk=c.pending_request.pk).first()
        if role in KENT_MANAGERS:
            assert (request is not None and request.status == "active") if approved else request is None
        else:
            assert request is not None and request.status == "pending"

    return check


def _resident_removed_only_by_managers(c: Cast, member: Member | None, role: str) -> None:
    removed = not Membership.objects.filter(pk=c.resident_membership.pk).exists()
    assert removed is (role in KENT_MANAGERS)


def _essex_membership_untouched(c: Cast, member: Member | None, role: str) -> None:
    assert Membership.objects.get(pk=c.essex_membership.pk).status == "active"


def _sharing_stopped_only_for_members(c: Cast, member: Member | None, role: str) -> None:
    sharing = dict(Membership.objects.filter(group__slug="kent-rural-watch").values_list("member__email",
                                                                                      "share_contact"))
    assert sharing[EMAILS["resident"]] is (role != "resident")
    assert sharing[EMAILS["coordinator"]] is (role != COORDINATOR)


def _invited_only_by_managers(c: Cast, member: Member | None, role: str) -> None:
    invited = GroupInvitation.objects.filter(email=INVITEE["email"]).exists()
    assert invited is (role in KENT_MANAGERS)


def _appointed_only_by_force_admin(c: Cast, member: Member | None, role: str) -> None:
    assert Membership.objects.get(pk=c.resident_membership.pk).role == (
        "coordinator" if role == "force_admin" else "member"
    )


def _invitation_used_only_by_invitee(c: Cast, member: Member | None, role: str) -> None:
    joined = EMAILS["resident"] in _in_group(c, "kent-horse-watch")
    assert joined is (role == "resident")


# Valid form posts, so that the outcome shows what the role may do, not a form error.
PROFILE = {"first_name": "Changed", "last_name": "Name", "address_line1": "1 High Street",
           "town": "Maidstone", "postcode": "ME14 1XX"}
PREFERENCES = {"channel_inbox": "on", "channel_email": "on", "frequency": "daily_digest",
               "sms_lowest_priority": "2", "interests": ["burglary", "fraud_scams"]}
NEW_OFFICER = {"email": "new.officer@kent.police.example", "first_name": "New", "last_name": "Officer",
               "role": "officer"}
INVITEE = {"email": "neighbour@example.org"}
KENT_PEOPLE = (EMAILS["resident"], EMAILS["other_resident"], EMAILS["coordinator"])

DEV_MAILBOX_ON = {"DEV_MAILBOX": True}  # with one email written to a temporary folder
DEV_MAIL_FILE = "20261124-000000-1.log"
DEV_MAIL = _fixed(name=DEV_MAIL_FILE, index=0)


# --- the map's routes (areas are an officer's tool)
#
# Residents and coordinators are refused (403), anonymous visitors log in first (from the
# API: 403, not authenticated). A custom area is its organisation's alone: another
# organisation's is 404, as if it did not exist, and cannot be a parent. /me/location/ is
# a resident's own place; officers are not placed on the map (403).

STAFF = {"officer", "officer_other_org", "force_admin"}
ONLY_OFFICERS = "Only officers can do this."


def _area_pk(name: str):
    """URL arguments: the pk of one of the cast's areas."""
    return lambda c: {"pk": getattr(c, name).pk}


AREA_WARD = _area_pk("ward")
AREA_KENT = _area_pk("kent_area")
AREA_ESSEX = _area_pk("essex_area")


def officer_pages(officer: Expect, *, officer_other_org: Expect | None = None, force_admin: Expect | None = None):
    """An officers' page (the map): anonymous visitors log in first, residents and coordinators are refused."""
    return roles(
        anonymous=LOGIN,
        resident=FORBIDDEN,
        coordinator=FORBIDDEN,
        officer=officer,
        officer_other_org=officer_other_org,
        force_admin=force_admin,
    )


def areas_api(officer: Expect, *, officer_other_org: Expect | None = None):
    """The areas API: anonymous requests and residents refused, each with its reason."""
    refused = FORBIDDEN.showing(ONLY_OFFICERS)
    return roles(
        anonymous=API_UNAUTHENTICATED,
        resident=refused,
        coordinator=refused,
        officer=officer,
        officer_other_org=officer_other_org,
    )


def resident_page(resident: Expect):
    return roles(anonymous=LOGIN, resident=resident, coordinator=resident, officer=FORBIDDEN)


# What a map request did, or did not do.


def _drawn_only_by_officers(name: str):
    def check(c: Cast, member: Member | None, role: str) -> None:
        drawn = Area.objects.filter(name=name).first()
        if role in STAFF:
            assert drawn is not None, f"{role} drew nothing"
            assert (drawn.level, drawn.organisation_id) == (Area.Level.CUSTOM, member.organisation_id)
        else:
            assert drawn is None, f"{role} drew {name}"

    return check


def _responsibility_cleared_only_by_force_admin(c: Cast, member: Member | None, role: str) -> None:
    codes = set(c.organisation.areas.values_list("code", flat=True))
    assert codes == (set() if role == "force_admin" else {"E05TEST01"}), f"as {role}: {codes}"


def _nothing_drawn(name: str):
    def check(c: Cast, member: Member | None, role: str) -> None:
        assert not Area.objects.filter(name=name).exists()

    return check


def _placed_in_the_ward_only_if_resident(c: Cast, member: Member | None, role: str) -> None:
    """A pin moves the resident asking into the ward; nobody else moves, officers are not placed."""
    for person in ("resident", "other_resident"):
        someone = getattr(c, person)
        someone.refresh_from_db()
        moved = someone == member
        at_pin = (someone.latitude, someone.longitude) == (float(PIN_IN_WARD["latitude"]),
                                                           float(PIN_IN_WARD["longitude"]))
        assert at_pin is moved, person
        if moved:
            assert someone.location_source == "pin"
            assert AreaMember.objects.filter(member=someone, area=c.ward).exists()
    if member is not None and role in STAFF:
        member.refresh_from_db()
        assert member.longitude is None


def _unplaced(c: Cast, member: Member | None, role: str) -> None:
    """A refused pin leaves the member asking where they were (the cast's resident has a home)."""
    if member is not None:
        where = (member.latitude, member.longitude)
        member.refresh_from_db()
        assert (member.latitude, member.longitude) == where


# Requests to the map.

SHAPE_LINES = "51.270, 0.520\n51.270, 0.525\n51.275, 0.525\n51.275, 0.520"
AREA_CROSSED = {  # a bow tie: its edges cross
    "type": "Polygon",
    "coordinates": [[[0.52, 51.27], [0.53, 51.28], [0.53, 51.27], [0.52, 51.28], [0.52, 51.27]]],
}
AREA_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[0.52, 51.27], [0.525, 51.27], [0.525, 51.275], [0.52, 51.275], [0.52, 51.27]]],
}
PIN_IN_WARD = {"action": "pin", "latitude": "51.265", "longitude": "0.505"}
NEW_AREA_PAGE = re.compile(r"/areas/\d+/")
NEW_AREA_API = re.compile(r"/api/v1/areas/\d+/")
NOT_A_POLYGON = "The shape is not a valid polygon"



# --- the matrix: one entry per route

MATRIX: dict[str, tuple[Case, ...] | AdminRule] = {
    "home": (GET(ALL_200),),
    # allauth: accounts
    "account_login": (
        GET(VISITORS_ONLY),
        POST(VISITORS_ONLY, label="wrong password", data={"login": EMAILS["resident"], "password": "not-it"}),
    ),
    "account_logout": (
        GET(roles(anonymous=HOME, resident=OK)),  # members are asked to confirm
        POST(everyone(HOME)),
    ),
    "account_inactive": (GET(ALL_200),),
    "account_signup": (
        GET(VISITORS_ONLY),
        POST(VISITORS_ONLY, label="empty form"),
    ),
    "account_reauthenticate": (
        GET(LOGGED_IN_200),
        POST(LOGGED_IN_200, label="wrong password", data={"password": "not-it"}),
    ),
    "account_email": (
        GET(LOGGED_IN_200),
        POST(logged_in(redirect("/accounts/email/")), label="no action"),
    ),
    "account_email_verification_sent": (GET(ALL_200),),
    "account_change_password": (
        GET(LOGGED_IN_200),
        POST(LOGGED_IN_200, label="empty form"),
    ),
    # Everyone in the cast has a password already: "set" becomes "change".
    "account_set_password": (GET(logged_in(redirect("/accounts/password/change/"))),),
    "account_reset_password": (
        GET(ALL_200),
        POST(ALL_200, label="empty form"),
    ),
    # Only reachable in the middle of a login by code, which no one here is.
    "account_confirm_login_code": (
        GET(roles(anonymous=redirect("/accounts/login/"), resident=HOME)),
        POST(roles(anonymous=redirect("/accounts/login/"), resident=HOME)),
    ),
    # The resident's address is verified already: the page says so, and there is
    # nothing to confirm.
    "account_confirm_email": (
        GET(ALL_200, label="valid key", kwargs=_confirm_email_key),
        POST(ALL_404, label="valid key", kwargs=_confirm_email_key),
        GET(ALL_200, label="forged key", kwargs=_fixed(key="forged:key")),
        POST(ALL_404, label="forged key", kwargs=_fixed(key="forged:key")),
    ),
    "account_reset_password_from_key_done": (GET(ALL_200),),
    # A valid key is swapped for a session marker, so that it never leaks in a Referer.
    "account_reset_password_from_key": (
        GET(everyone(KEY_SWAPPED), label="valid key", kwargs=_password_reset_key),
        GET(ALL_200, label="forged key", kwargs=_fixed(uidb36="1", key="forged")),
        POST(ALL_200, label="forged key", kwargs=_fixed(uidb36="1", key="forged")),
    ),
    "account_reset_password_done": (GET(ALL_200),),
    # allauth: two-factor authentication. Sensitive pages ask for the password again
    # (force_login is no recent authentication); pages about an authenticator the
    # member does not have are 404.
    "mfa_index": (GET(LOGGED_IN_200),),
    "mfa_authenticate": (  # the second step of a login: nobody is in the middle of one
        GET(roles(anonymous=redirect("/accounts/login/"), resident=HOME)),
        POST(roles(anonymous=redirect("/accounts/login/"), resident=HOME)),
    ),
    "mfa_reauthenticate": (
        GET(roles(anonymous=LOGIN, resident=redirect("/accounts/reauthenticate/"), officer=OK)),
        POST(roles(anonymous=LOGIN, resident=redirect("/accounts/reauthenticate/"), officer=OK), label="no code"),
    ),
    "mfa_activate_totp": (
        GET(logged_in(REAUTHENTICATE)),
        POST(logged_in(REAUTHENTICATE)),
    ),
    "mfa_deactivate_totp": (
        GET(roles(anonymous=LOGIN, resident=NOT_FOUND, officer=REAUTHENTICATE)),
        POST(roles(anonymous=LOGIN, resident=NOT_FOUND, officer=REAUTHENTICATE)),
    ),
    "mfa_view_recovery_codes": (GET(roles(anonymous=LOGIN, resident=NOT_FOUND, officer=REAUTHENTICATE)),),
    "mfa_generate_recovery_codes": (
        GET(logged_in(REAUTHENTICATE)),
        POST(logged_in(REAUTHENTICATE)),
    ),
    "mfa_download_recovery_codes": (GET(roles(anonymous=LOGIN, resident=NOT_FOUND, officer=REAUTHENTICATE)),),
    # members: a member's own settings
    "members:profile": (
        GET(LOGGED_IN_200),
        POST(logged_in(redirect("/me/profile/")), data=PROFILE, check=_first_name_changed_to("Changed")),
    ),
    "members:preferences": (
        GET(LOGGED_IN_200),
        POST(logged_in(redirect("/me/preferences/")), data=PREFERENCES),
        POST(logged_in(BAD_REQUEST), label="quiet hours without an end",
             data={**PREFERENCES, "quiet_hours_start": "22:00"}),
    ),
    "members:privacy": (GET(LOGGED_IN_200), POST(logged_in(NOT_ALLOWED))),
    # Opt-ins are a resident's choice; officers belong to their organisation instead.
    # A resident's inbox: their own messages only.
    "notifications:inbox": (
        GET(LOGGED_IN_200),
        POST(logged_in(NOT_ALLOWED)),
    ),
    "notifications:message": (
        GET(roles(anonymous=LOGIN, resident=OK.showing("Kent appeal"), other_resident=NOT_FOUND, officer=NOT_FOUND),
            kwargs=_kwargs(pk=lambda c: c.resident_message.pk)),
        POST(logged_in(NOT_ALLOWED), kwargs=_kwargs(pk=lambda c: c.resident_message.pk)),
    ),
    # Web push. The service worker is a public script, served from the root for its
    # scope. A browser's subscription is the resident's own: officers get no pushes,
    # and nobody removes another member's device (404, as if it did not exist).
    "notifications:service_worker": (GET(ALL_200), POST(everyone(NOT_ALLOWED))),
    "notifications:push_subscriptions": (
        GET(logged_in(NOT_ALLOWED)),
        POST(roles(anonymous=LOGIN, resident=BAD_REQUEST.showing("not available on this site"), officer=FORBIDDEN),
             label="no VAPID keys", data=PUSH_SUBSCRIPTION, as_json=True),
        POST(roles(anonymous=LOGIN, resident=CREATED, officer=FORBIDDEN),
             label="a browser subscribes", data=PUSH_SUBSCRIPTION, as_json=True, settings=PUSH_ON,
             check=_subscribed_only_if_resident),
        DELETE(roles(anonymous=LOGIN, resident=NO_CONTENT, other_resident=NOT_FOUND, officer=NOT_FOUND),
               label="the resident's browser", data={"endpoint": RESIDENT_BROWSER},
               check=_resident_browser_removed_only_by_them),
    ),
    # The service worker renewing a subscription: no session, no CSRF token; the old
    # subscription's secret is the only key, whoever is signed in.
    "notifications:push_subscription_renew": (
        GET(everyone(NOT_ALLOWED)),
        POST(everyone(FORBIDDEN.showing("not a subscription of this site")), label="without the browser's secret",
             data={"old": {"endpoint": RESIDENT_BROWSER, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "new": PUSH_SUBSCRIPTION},
             as_json=True, settings=PUSH_ON, check=_resident_browser_unchanged),
        POST(everyone(OK.showing("Chrome on Android")), label="the browser itself",
             data={"old": {"endpoint": RESIDENT_BROWSER, "auth": _BROWSER_KEYS["auth"]}, "new": PUSH_SUBSCRIPTION},
             as_json=True, settings=PUSH_ON, check=_resident_browser_renewed),
    ),
    "notifications:push_subscription_remove": (
        GET(logged_in(NOT_ALLOWED), kwargs=RESIDENT_DEVICE),
        POST(roles(anonymous=LOGIN, resident=redirect("/me/preferences/"), other_resident=NOT_FOUND,
                   officer=NOT_FOUND),
             kwargs=RESIDENT_DEVICE, check=_resident_browser_removed_only_by_them),
    ),
    "members:organisation_opt_in": (
        GET(logged_in(NOT_ALLOWED), kwargs=KENT),
        POST(roles(anonymous=LOGIN, resident=redirect("/me/privacy/"), officer=FORBIDDEN), label="withdraw",
             kwargs=KENT, data={"opted_in": "0"}, check=_withdrew_only_themselves),
        POST(roles(anonymous=LOGIN, resident=NOT_FOUND, officer=FORBIDDEN), label="unknown organisation",
             kwargs=NO_SUCH_SLUG, data={"opted_in": "1"}),
    ),
    "members:export": (
        GET(logged_in(OK.showing('"format": "mcv-personal-data/1"'))),
        POST(logged_in(NOT_ALLOWED)),
    ),
    "members:delete": (
        GET(roles(anonymous=LOGIN, resident=OK, officer=FORBIDDEN)),
        # The password is what stops a borrowed, logged-in phone erasing an account.
        POST(roles(anonymous=LOGIN, resident=BAD_REQUEST.showing("This field is required."), officer=FORBIDDEN),
             label="without the password", data={"confirm": "on"}, check=_not_erased),
        POST(roles(anonymous=LOGIN, resident=BAD_REQUEST.showing("That is not your password."), officer=FORBIDDEN),
             label="wrong password", data={"confirm": "on", "password": "not-it"}, check=_not_erased),
    ),
    "members:api_token": (
        GET(LOGGED_IN_200),
        POST(LOGGED_IN_200, label="create", data={"action": "create"}, check=_has_token),
        POST(logged_in(redirect("/me/api-token/")), label="revoke", data={"action": "revoke"}),
    ),
    # The signed link in every message works without logging in, for whoever holds it.
    "members:preferences_link": (
        GET(ALL_200, label="resident's link", kwargs=_preferences_link),
        POST(everyone(BACK_HERE), label="stop all", kwargs=_preferences_link, data={"stop_all": "1"},
             check=_resident_stopped_email),
        GET(ALL_404, label="forged link", kwargs=_fixed(token="forged")),
        POST(ALL_404, label="forged link", kwargs=_fixed(token="forged"), data={"stop_all": "1"}),
    ),
    # members: an organisation's staff. An officer sees the residents who opted in to
    # their own organisation, and nobody else.
    "members:organisation_members": (
        GET(roles(anonymous=LOGIN, resident=FORBIDDEN,
                  officer=OK.showing(*KENT_PEOPLE).hiding(EMAILS["essex_resident"]),
                  officer_other_org=OK.showing(EMAILS["essex_resident"]).hiding(*KENT_PEOPLE))),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=NOT_ALLOWED)),
    ),
    "members:officers": (
        GET(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN,
                  force_admin=OK.showing(EMAILS["officer"]).hiding(EMAILS["officer_other_org"]))),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN, force_admin=NOT_ALLOWED)),
    ),
    "members:officer_create": (
        GET(FORCE_ADMINS_ONLY),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN,
                   force_admin=redirect("/organisation/officers/")),
             data=NEW_OFFICER, check=_officer_created_only_by_force_admin),
    ),
    # Suspending an officer: a force admin manages their own organisation's officers;
    # another organisation's are invisible to them (404, not 403).
    "members:officer_set_active": (
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN,
                   force_admin=redirect("/organisation/officers/")),
             label="own organisation's officer", kwargs=OWN_OFFICER, data={"active": "0"},
             check=_suspended_only_by_own_force_admin("officer")),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN, force_admin=NOT_FOUND),
             label="other organisation's officer", kwargs=OTHER_ORGS_OFFICER, data={"active": "0"},
             check=_suspended_only_by_own_force_admin("officer_other_org")),
        GET(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN, force_admin=NOT_ALLOWED),
            kwargs=OWN_OFFICER),
    ),
    # groups: residents see their groups and those open to them; officers manage their
    # organisation's groups (another organisation's are 404); coordinators their own.
    "groups:list": (
        GET(roles(anonymous=LOGIN,
                  resident=OK.showing("Kent Rural Watch", "Essex Business Watch").hiding("Kent Horse Watch"),
                  officer=redirect("/groups/manage/"))),
    ),
    "groups:manage_list": (
        GET(roles(anonymous=LOGIN, resident=FORBIDDEN, coordinator=OK.showing("Kent Rural Watch"),
                  officer=OK.showing("Kent Rural Watch", "Kent Horse Watch").hiding("Essex Business Watch"),
                  officer_other_org=OK.showing("Essex Business Watch").hiding("Kent Rural Watch"))),
    ),
    # The link in an invitation email works for the person it was sent to.
    "groups:invitation_accept": (
        GET(logged_in(OK.showing("Kent Horse Watch")), kwargs=INVITATION),
        POST(roles(anonymous=LOGIN, resident=redirect("/groups/kent-horse-watch/"), other_resident=FORBIDDEN,
                   officer=FORBIDDEN, coordinator=FORBIDDEN),
             kwargs=INVITATION, check=_invitation_used_only_by_invitee),
        GET(logged_in(NOT_FOUND), label="forged token", kwargs=_fixed(token="forged")),
    ),
    "groups:detail": (
        GET(roles(anonymous=LOGIN, resident=OK, coordinator=OK, officer=OK, officer_other_org=NOT_FOUND),
            label="approval group", kwargs=KENT_WATCH),
        GET(roles(anonymous=LOGIN, resident=NOT_FOUND, coordinator=NOT_FOUND, officer=OK,
                  officer_other_org=NOT_FOUND),
            label="invitation-only group", kwargs=KENT_INVITATION_ONLY),
        GET(roles(anonymous=LOGIN, resident=OK, coordinator=OK, officer=NOT_FOUND, officer_other_org=OK),
            label="other organisation's open group", kwargs=ESSEX_WATCH),
    ),
    "groups:join": (
        # Officers manage groups, they do not join them: their own organisation's
        # group says so (a message, back to the group); another's is invisible.
        POST(roles(anonymous=LOGIN, resident=redirect("/groups/essex-business-watch/"),
                   coordinator=redirect("/groups/essex-business-watch/"), officer=NOT_FOUND,
                   officer_other_org=redirect("/groups/essex-business-watch/")),
             label="open group", kwargs=ESSEX_WATCH, check=_joined_essex_watch_only_if_resident),
        POST(roles(anonymous=LOGIN, resident=NOT_FOUND, coordinator=NOT_FOUND,
                   officer=redirect("/groups/kent-horse-watch/"), officer_other_org=NOT_FOUND),
             label="invitation-only group", kwargs=KENT_INVITATION_ONLY),
        GET(roles(anonymous=LOGIN, resident=NOT_ALLOWED, coordinator=NOT_ALLOWED), kwargs=ESSEX_WATCH),
    ),
    "groups:leave": (
        POST(roles(anonymous=LOGIN, resident=redirect("/groups/"), coordinator=redirect("/groups/"),
                   officer_other_org=NOT_FOUND),
             kwargs=KENT_WATCH, check=_left_kent_watch),
    ),
    "groups:sharing": (
        POST(roles(anonymous=LOGIN, resident=redirect("/groups/kent-rural-watch/"),
                   coordinator=redirect("/groups/kent-rural-watch/"), officer=NOT_FOUND),
             kwargs=KENT_WATCH, data={"share_contact": "0"}, check=_sharing_stopped_only_for_members),
    ),
    "groups:manage": (
        GET(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND,
                  coordinator=OK.showing(EMAILS["resident"], "Sam Other").hiding(EMAILS["essex_resident"]),
                  officer=OK.showing(EMAILS["resident"], "Sam Other")),
            kwargs=KENT_WATCH),
    ),
    "groups:manage_decide": (
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND,
                   coordinator=redirect("/groups/kent-rural-watch/manage/"),
                   officer=redirect("/groups/kent-rural-watch/manage/")),
             label="approve", kwargs=PENDING_REQUEST, data={"decision": "approve"},
             check=_request_decided_only_by_managers(approved=True)),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND, coordinator=NOT_FOUND,
                   officer=NOT_FOUND),
             label="another group's member", kwargs=ESSEX_MEMBERSHIP_VIA_KENT, data={"decision": "approve"},
             check=_essex_membership_untouched),
    ),
    "groups:manage_remove": (
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND,
                   coordinator=redirect("/groups/kent-rural-watch/manage/"),
                   officer=redirect("/groups/kent-rural-watch/manage/")),
             kwargs=RESIDENT_IN_KENT_WATCH, check=_resident_removed_only_by_managers),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND, coordinator=NOT_FOUND,
                   officer=NOT_FOUND),
             label="another group's member", kwargs=ESSEX_MEMBERSHIP_VIA_KENT, check=_essex_membership_untouched),
    ),
    "groups:manage_invite": (
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND,
                   coordinator=redirect("/groups/kent-rural-watch/manage/"),
                   officer=redirect("/groups/kent-rural-watch/manage/")),
             kwargs=KENT_WATCH, data=INVITEE, check=_invited_only_by_managers),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer_other_org=NOT_FOUND, coordinator=BAD_REQUEST,
                   officer=BAD_REQUEST),
             label="invalid email", kwargs=KENT_WATCH, data={"email": "not-an-email"}),
    ),
    "groups:appoint_coordinator": (
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, coordinator=FORBIDDEN, officer=FORBIDDEN,
                   officer_other_org=NOT_FOUND, force_admin=redirect("/groups/kent-rural-watch/manage/")),
             kwargs=KENT_WATCH, data={"email": EMAILS["resident"]}, check=_appointed_only_by_force_admin),
    ),

    # The areas an officer may target: fixed areas for all, custom ones for their own force.
    "areas:list": (
        GET(
            officer_pages(
                OK.showing("Test Ward", "Kent Hotspot").hiding("Essex Hotspot"),
                officer_other_org=OK.showing("Test Ward", "Essex Hotspot").hiding("Kent Hotspot"),
            )
        ),
        GET(
            officer_pages(
                OK.showing("Kent Hotspot").hiding("Test Ward", "Essex Hotspot"),
                officer_other_org=OK.showing("Essex Hotspot").hiding("Test Ward", "Kent Hotspot"),
            ),
            label="custom areas only",
            data={"level": "custom"},
        ),
        GET(officer_pages(BAD_REQUEST.showing("Select a valid choice")), label="unknown level",
            data={"level": "county"}),
        POST(officer_pages(NOT_ALLOWED)),
    ),
    "areas:detail": (
        GET(officer_pages(OK.showing("Test Ward")), label="ward", kwargs=AREA_WARD),
        GET(
            officer_pages(OK.showing("Kent Hotspot"), officer_other_org=NOT_FOUND),
            label="Kent's custom area",
            kwargs=AREA_KENT,
        ),
        GET(
            officer_pages(NOT_FOUND, officer_other_org=OK.showing("Essex Hotspot")),
            label="Essex's custom area",
            kwargs=AREA_ESSEX,
        ),
        GET(officer_pages(NOT_FOUND), label="no such area", kwargs=lambda c: {"pk": 999_999}),
        POST(officer_pages(NOT_ALLOWED), kwargs=AREA_WARD),
    ),
    "areas:responsibility": (
        GET(FORCE_ADMINS_ONLY),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN, force_admin=redirect(_same_path)),
             label="none", data={}, check=_responsibility_cleared_only_by_force_admin),
        POST(roles(anonymous=LOGIN, resident=FORBIDDEN, officer=FORBIDDEN,
                   force_admin=BAD_REQUEST.showing("Select a valid choice")),
             label="unknown area", data={"areas": ["999999"]}),
    ),
    "areas:draw": (
        GET(officer_pages(OK)),
        POST(
            officer_pages(redirect(NEW_AREA_PAGE)),
            data={"name": "Drawn on the page", "shape": SHAPE_LINES},
            check=_drawn_only_by_officers("Drawn on the page"),
        ),
        POST(
            officer_pages(BAD_REQUEST.showing(NOT_A_POLYGON)),
            label="crossed shape",
            data={"name": "Crossed", "shape": json.dumps(AREA_CROSSED)},
            check=_nothing_drawn("Crossed"),
        ),
    ),
    # A resident's own place on the map.
    "areas:my_location": (
        GET(resident_page(OK)),
        POST(
            resident_page(redirect("/me/location/")),
            label="pin",
            data=PIN_IN_WARD,
            check=_placed_in_the_ward_only_if_resident,
        ),
        POST(
            resident_page(BAD_REQUEST.showing("Enter the latitude as a number")),
            label="words for a latitude",
            data={"action": "pin", "latitude": "north", "longitude": "0.5"},
            check=_unplaced,
        ),
    ),
    # The areas API (GeoJSON): officers only.
    "api-areas": (
        GET(
            areas_api(
                OK.showing('"type":"FeatureCollection"', "Test Ward", "Kent Hotspot").hiding("Essex Hotspot"),
                officer_other_org=OK.showing("Test Ward", "Essex Hotspot").hiding("Kent Hotspot"),
            )
        ),
        POST(
            areas_api(Expect(201, to=NEW_AREA_API).showing('"type":"Feature"')),
            data={"name": "Drawn by API", "geometry": AREA_SQUARE},
            as_json=True,
            check=_drawn_only_by_officers("Drawn by API"),
        ),
        POST(
            areas_api(BAD_REQUEST.showing(NOT_A_POLYGON)),
            label="crossed shape",
            data={"name": "Crossed", "geometry": AREA_CROSSED},
            as_json=True,
            check=_nothing_drawn("Crossed"),
        ),
        # Another force's custom area is no parent: it does not exist for them.
        POST(
            areas_api(
                BAD_REQUEST.showing("No area you can see has this code."),
                officer_other_org=Expect(201, to=NEW_AREA_API),
            ),
            label="inside Essex's custom area",
            data={"name": "Inside Essex's", "geometry": AREA_SQUARE, "parent": "custom-essex-test"},
            as_json=True,
        ),
    ),
    "api-area": (
        GET(areas_api(OK.showing("Test Ward")), label="ward", kwargs=AREA_WARD),
        GET(areas_api(OK.showing("Kent Hotspot"), officer_other_org=NOT_FOUND), label="Kent's custom area",
            kwargs=AREA_KENT),
        GET(areas_api(NOT_FOUND), label="no such area", kwargs=lambda c: {"pk": 999_999}),
        PUT(areas_api(NOT_ALLOWED), kwargs=AREA_WARD, data={"name": "Renamed"}),
        DELETE(areas_api(NOT_ALLOWED), kwargs=AREA_WARD),
    ),
    # The API
    "api-me": (
        GET(API_LOGGED_IN_200),
        PATCH(API_LOGGED_IN_200, data={"first_name": "Patched"}, check=_first_name_changed_to("Patched")),
        PATCH(api(resident=BAD_REQUEST), label="blank first name", data={"first_name": ""}),
        PUT(api(resident=NOT_ALLOWED), data={"first_name": "Put"}),
    ),
    "api-me-organisations": (
        GET(API_LOGGED_IN_200),
        POST(api(resident=NOT_ALLOWED), as_json=True),
    ),
    "api-me-organisation-opt-in": (
        PUT(api(resident=OK, officer=FORBIDDEN), label="opt in", kwargs=ESSEX, check=_opted_in_to_essex),
        DELETE(api(resident=OK, officer=FORBIDDEN), label="withdraw", kwargs=KENT, check=_withdrew_only_themselves),
        DELETE(api(resident=NOT_FOUND, officer=FORBIDDEN), label="unknown organisation", kwargs=NO_SUCH_SLUG),
        GET(api(resident=NOT_ALLOWED, officer=FORBIDDEN), kwargs=KENT),
    ),
    "api-me-consents": (GET(API_LOGGED_IN_200),),
    "api-me-export": (GET(api(resident=OK.showing('"format":"mcv-personal-data/1"'))),),
    "api-groups": (
        GET(api(resident=OK.showing("kent-rural-watch", "essex-business-watch").hiding("kent-horse-watch"),
                officer=OK.showing("kent-rural-watch", "kent-horse-watch").hiding("essex-business-watch"),
                officer_other_org=OK.showing("essex-business-watch").hiding("kent-rural-watch"),
                coordinator=OK)),
    ),
    "api-group": (
        GET(api(resident=OK, coordinator=OK, officer=OK, officer_other_org=NOT_FOUND),
            label="approval group", kwargs=KENT_WATCH),
        GET(api(resident=NOT_FOUND, coordinator=NOT_FOUND, officer=OK, officer_other_org=NOT_FOUND),
            label="invitation-only group", kwargs=KENT_INVITATION_ONLY),
    ),
    "api-group-join": (
        POST(api(resident=CREATED, coordinator=CREATED, officer=NOT_FOUND, officer_other_org=FORBIDDEN),
             label="open group", kwargs=ESSEX_WATCH, as_json=True, check=_joined_essex_watch_only_if_resident),
        POST(api(resident=OK, other_resident=OK, coordinator=OK, officer=FORBIDDEN, officer_other_org=NOT_FOUND),
             label="group already in", kwargs=KENT_WATCH, as_json=True),
    ),
    "api-group-leave": (
        POST(api(resident=NO_CONTENT, coordinator=NO_CONTENT, officer_other_org=NOT_FOUND),
             kwargs=KENT_WATCH, as_json=True, check=_left_kent_watch),
    ),
    "api-group-members": (
        GET(api(resident=FORBIDDEN, officer_other_org=NOT_FOUND,
                coordinator=OK.showing(EMAILS["resident"]), officer=OK.showing(EMAILS["resident"])),
            kwargs=KENT_WATCH),
    ),
    "api-group-request-approve": (
        POST(api(resident=FORBIDDEN, officer_other_org=NOT_FOUND, coordinator=OK, officer=OK),
             kwargs=PENDING_REQUEST, as_json=True, check=_request_decided_only_by_managers(approved=True)),
        POST(api(resident=FORBIDDEN, officer_other_org=NOT_FOUND, coordinator=NOT_FOUND, officer=NOT_FOUND),
             label="another group's member", kwargs=ESSEX_MEMBERSHIP_VIA_KENT, as_json=True,
             check=_essex_membership_untouched),
    ),
    "api-group-request-decline": (
        POST(api(resident=FORBIDDEN, officer_other_org=NOT_FOUND, coordinator=NO_CONTENT, officer=NO_CONTENT),
             kwargs=PENDING_REQUEST, as_json=True, check=_request_decided_only_by_managers(approved=False)),
    ),
    "api-memberships": (
        GET(api(resident=OK.showing("kent-rural-watch"), coordinator=OK.showing("kent-rural-watch"),
                officer=OK.hiding("kent-rural-watch"))),
    ),
    # The API's description is public, like the API's existence.
    "api-schema": (GET(ALL_200), POST(everyone(NOT_ALLOWED))),
    "api-docs": (GET(ALL_200),),
    # The development mailbox: absent unless DEBUG turned it on; then, deliberately
    # open to anyone on the developer's machine (a visitor must read the verification
    # email before they can log in).
    "dev-mailbox": (
        GET(ALL_404),
        GET(ALL_200, label="DEBUG on", settings=DEV_MAILBOX_ON),
        POST(everyone(NOT_ALLOWED), label="DEBUG on", settings=DEV_MAILBOX_ON),
    ),
    "dev-mail-message": (
        GET(ALL_404, kwargs=DEV_MAIL),
        GET(ALL_200, label="DEBUG on", settings=DEV_MAILBOX_ON, kwargs=DEV_MAIL),
        GET(ALL_404, label="DEBUG on, no such message", settings=DEV_MAILBOX_ON,
            kwargs=_fixed(name=DEV_MAIL_FILE, index=1)),
        GET(ALL_404, label="DEBUG on, parent folder", settings=DEV_MAILBOX_ON, kwargs=_fixed(name="..", index=0)),
    ),
    "admin:*": AdminRule(exceptions={
        "admin:login": OK,  # members who are not staff are told so on the login page
        "admin:logout": redirect("/admin/"),
    }),
}


# --- the apps' own entries
#
# Each later app (alerts, replies, surveys, cameras) keeps its entries, and the rows it
# adds to the cast, in tests/matrix/<app>.py: a module with `MATRIX` (entries in the
# vocabulary above, imported from this module) and `build_cast(everything)`, which
# creates that app's rows from the cast built so far and returns them by name. They are
# imported here, after the vocabulary they use exists and before the tests below are
# parametrised from MATRIX.

from tests.matrix import app_modules  # noqa: E402

CAST_BUILDERS: list[Callable[[dict[str, Any]], dict[str, Any]]] = []
for _module in app_modules():
    _overlap = set(MATRIX) & set(_module.MATRIX)
    assert not _overlap, f"{_module.__name__} repeats entries: {_overlap}"
    MATRIX.update(_module.MATRIX)
    CAST_BUILDERS.append(_module.build_cast)


# --- walking the project's URL patterns


@dataclass(frozen=True)
class Route:
    name: str | None  # the full name, namespace:name; None for an unnamed pattern
    pattern: str  # the full pattern, for messages and for building sample URLs
    namespace: str


def project_routes(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace]))
            yield from project_routes(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield Route(name, prefix + str(p.pattern), namespace)


def matrix_key(route: Route) -> str | None:
    if route.namespace.split(":")[0] == "admin":
        return "admin:*"
    return route.name


# Sample values for the admin's URL arguments: object ids, an app label, a missing page.
_ADMIN_SAMPLES = {"object_id": "1", "content_type_id": "1", "id": "1", "app_label": "members",
                  "url": "no-such-page/"}


def admin_sample_path(route: Route) -> str:
    """A concrete URL for an admin pattern, named or not (Django adds unnamed redirects)."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: _ADMIN_SAMPLES[m.group(1)], route.pattern)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: _ADMIN_SAMPLES[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "")


# --- the tests


def test_every_route_is_in_the_matrix():
    routes = list(project_routes())
    keys = {matrix_key(r) for r in routes}
    missing = sorted(r.name or f"<unnamed> {r.pattern}" for r in routes if matrix_key(r) not in MATRIX)
    stale = sorted(set(MATRIX) - keys)
    assert not missing, f"Routes with no entry in MATRIX (decide who may reach them): {missing}"
    assert not stale, f"MATRIX entries for routes that no longer exist: {stale}"
    admin_names = {r.name for r in routes if matrix_key(r) == "admin:*"}
    unknown_exceptions = set(MATRIX["admin:*"].exceptions) - admin_names
    assert not unknown_exceptions, f"Admin rule exceptions for routes that do not exist: {unknown_exceptions}"


def _params() -> Iterator[Any]:
    for name, entry in MATRIX.items():
        if isinstance(entry, AdminRule):
            continue
        for case in entry:
            assert set(ROLES) <= set(case.expect), f"{name} {case.title}: give an outcome for every role"
            for role in case.expect:
                yield pytest.param(name, case, role, id=f"{name} {case.title}-{role}")


def assert_outcome(response, expect: Expect, path: str, request_line: str) -> None:
    location = response.get("Location", "")
    where = f"{request_line}: expected {expect}, got {response.status_code}" + (
        f" to {location}" if location else ""
    )
    assert response.status_code == expect.status, where
    if expect.to is None:
        assert not location, where
    else:
        target = urlsplit(location)
        assert expect.goes_to(target.path, path), where
        query = parse_qs(target.query)
        if expect.next_here:
            # Back to the page asked for, with its query string (a filtered list) if it had one.
            assert list(query) == ["next"], where
            assert query["next"][0] == path or query["next"][0].startswith(path + "?"), where
        else:
            assert query == {}, where
    # Downloads stream (FileResponse): read them the way a client would.
    body = (
        b"".join(response.streaming_content).decode(errors="replace")
        if response.streaming
        else response.content.decode(errors="replace")
    )
    for text in expect.contains:
        assert text in body, f"{request_line}: the response should show {text!r}"
    for text in expect.absent:
        assert text not in body, f"{request_line}: the response must not show {text!r}"


def _apply_settings(settings, case: Case, tmp_path) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    if case.settings.get("DEV_MAILBOX"):
        # What DEBUG and the file email backend (the development default) give.
        folder = tmp_path / "mail"
        folder.mkdir()
        (folder / DEV_MAIL_FILE).write_text(
            "Subject: Confirm your email\nTo: resident@example.org\n\nFollow the link.\n" + "-" * 79 + "\n"
        )
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                                        "OPTIONS": {"file_path": str(folder)}}}


@pytest.mark.parametrize(("route", "case", "role"), list(_params()))
def test_route(route: str, case: Case, role: str, cast: Cast, client, settings, tmp_path):
    _apply_settings(settings, case, tmp_path)
    path = reverse(route, kwargs=case.kwargs(cast) if case.kwargs else None)
    member = cast.log_in(client, role)
    send = getattr(client, case.method)
    if case.as_json:
        response = send(path, json.dumps(case.data or {}), content_type="application/json")
    else:
        response = send(path, case.data or {})

    assert_outcome(response, case.expect[role], path, f"{case.method.upper()} {path} as {role}")
    if case.check:
        case.check(cast, member, role)


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_for_staff_only(role: str, cast: Cast, client):
    """Every admin URL (GET; POST too to those that change members or passwords) as each role."""
    rule: AdminRule = MATRIX["admin:*"]
    cast.log_in(client, role)  # nothing below logs anyone out (see AdminRule)
    failures = []
    for route in project_routes():
        if matrix_key(route) != "admin:*":
            continue
        path = admin_sample_path(route)
        expect = rule.exceptions.get(route.name, rule.default)
        methods = ["get"]
        if route.name and re.search(r"members_member_(add|change|delete)$|password", route.name):
            methods.append("post")
        for method in methods:
            response = getattr(client, method)(path)
            try:
                assert_outcome(response, expect, path, f"{method.upper()} {path} ({route.name or 'unnamed'})")
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
    assert not failures, f"as {role}:\n" + "\n".join(failures)


# --- the MFA gate, which the cast's officers pass


@pytest.fixture
def officer_without_mfa(organisation):
    return OfficerFactory(email="no.mfa@kent.police.example", organisation=organisation, with_mfa=False)


@pytest.mark.parametrize("path", ["/", "/me/profile/", "/organisation/members/", "/groups/manage/", "/admin/"])
def test_officer_without_mfa_is_sent_to_set_it_up(path, client, officer_without_mfa):
    client.force_login(officer_without_mfa)
    assert_outcome(client.get(path), redirect("/accounts/2fa/totp/activate/"), path, f"GET {path}")


def test_officer_without_mfa_may_still_set_it_up(client, officer_without_mfa):
    client.force_login(officer_without_mfa)
    assert client.get("/accounts/2fa/").status_code == 200


def test_officer_without_mfa_gets_nothing_from_the_api(client, officer_without_mfa):
    client.force_login(officer_without_mfa)
    by_session = client.get("/api/v1/me/")
    assert by_session.status_code == 403
    assert by_session.json() == {"detail": MFA_REQUIRED_MESSAGE}

    client.logout()
    token = Token.objects.create(user=officer_without_mfa)
    by_token = client.get("/api/v1/groups/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_token.status_code == 403
    assert by_token.json() == {"detail": MFA_REQUIRED_MESSAGE}


def test_admin_opens_for_staff_with_mfa_only(client, cast):
    superuser = MemberFactory(email="root@example.org", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    assert_outcome(client.get("/admin/"), redirect("/accounts/2fa/totp/activate/"), "/admin/", "GET /admin/")

    TOTP.activate(superuser, TOTP_SECRET)
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/members/member/").status_code == 200


# --- what a group's roster shows an organisation's officers
#
# A resident who shares their details in a group lets "the group's coordinators" see
# them; an organisation sees a resident's details only if they opted in to it
# (members.selectors.members_visible_to). Officers manage their organisation's groups,
# so the roster they see must respect both.


def _roster_as(client, cast: Cast, role: str, slug: str) -> str:
    cast.log_in(client, role)
    page = client.get(reverse("groups:manage", kwargs={"slug": slug}))
    api_page = client.get(reverse("api-group-members", kwargs={"slug": slug}))
    assert (page.status_code, api_page.status_code) == (200, 200)
    return page.content.decode() + api_page.content.decode()


def test_group_roster_hides_residents_who_did_not_opt_in_to_the_organisation(cast, client):
    # The other resident (opted in to Kent Police only) joins Essex's open group, sharing
    # their details with its coordinators.
    Membership.objects.create(group=cast.essex_watch, member=cast.other_resident, share_contact=True)

    assert EMAILS["other_resident"] not in _roster_as(client, cast, "officer_other_org", "essex-business-watch")


def test_group_roster_hides_residents_who_withdrew_from_the_organisation(cast, client):
    assert EMAILS["resident"] in _roster_as(client, cast, "officer", "kent-rural-watch")
    OrganisationOptIn.objects.filter(member=cast.resident, organisation=cast.organisation).delete()

    assert EMAILS["resident"] not in _roster_as(client, cast, "officer", "kent-rural-watch")
