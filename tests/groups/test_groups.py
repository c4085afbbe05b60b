"""Residents find and join groups; coordinators run them; force admins appoint coordinators."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.models import AuditEvent
from groups.models import CommunityGroup, Membership
from groups.services import area_upsert, member_location_set
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def places(organisation, resident, other_resident):
    """Two streets: the resident lives in Elm Close, the other resident in Oak Road."""
    elm, _ = area_upsert(code="SCH-ELM", name="Elm Close", level="custom", geometry=square(0, 51, 1, 52))
    oak, _ = area_upsert(code="SCH-OAK", name="Oak Road", level="custom", geometry=square(2, 51, 3, 52))
    member_location_set(member=resident, longitude=0.5, latitude=51.5)
    member_location_set(member=other_resident, longitude=2.5, latitude=51.5)
    return elm, oak


def group(organisation, slug, kind="interest", policy="open", area=None):
    return CommunityGroup.objects.create(
        name=slug.replace("-", " ").title(),
        slug=slug,
        kind=kind,
        join_policy=policy,
        organisation=organisation,
        area=area,
    )


@pytest.fixture
def groups(organisation, places):
    elm, oak = places
    return {
        "rural": group(organisation, "rural-watch"),
        "business": group(organisation, "business-watch", policy="approval"),
        "horse": group(organisation, "horse-watch", policy="invitation"),
        "elm": group(organisation, "elm-close-nhw", kind="scheme", policy="approval", area=elm),
        "oak": group(organisation, "oak-road-nhw", kind="scheme", policy="open", area=oak),
    }


@pytest.fixture
def coordinator(groups, organisation):
    member = MemberFactory(email="coord@example.org", first_name="Kim", last_name="Coordinator", opt_in=[organisation])
    Membership.objects.create(group=groups["elm"], member=member, role="coordinator", share_contact=True)
    return member


def test_resident_sees_the_groups_open_to_them_and_not_others(client, resident, groups):
    client.force_login(resident)
    page = client.get("/groups/").content.decode()

    assert "Rural Watch" in page and "Business Watch" in page and "Elm Close Nhw" in page
    assert "Oak Road Nhw" not in page  # a scheme for other streets
    assert "Horse Watch" not in page  # invitation only
    assert client.get("/groups/oak-road-nhw/").status_code == 404
    assert client.get("/groups/horse-watch/").status_code == 404


def test_join_open_group_and_ask_to_join_one_with_approval(client, resident, groups):
    client.force_login(resident)
    client.post("/groups/rural-watch/join/", {"share_contact": "on"})
    client.post("/groups/elm-close-nhw/join/")

    mine = {m.group.slug: (m.status, m.share_contact) for m in Membership.objects.filter(member=resident)}
    assert mine == {"rural-watch": ("active", True), "elm-close-nhw": ("pending", False)}
    assert "waiting for a coordinator" in client.get("/groups/").content.decode()

    client.post("/groups/rural-watch/leave/")
    assert not Membership.objects.filter(member=resident, group=groups["rural"]).exists()


def test_cannot_join_a_scheme_for_other_streets_or_an_invitation_only_group(resident, groups):
    api = APIClient()
    api.force_authenticate(resident)

    other_streets = api.post("/api/v1/groups/oak-road-nhw/join/", {}, format="json")
    invitation_only = api.post("/api/v1/groups/horse-watch/join/", {}, format="json")

    assert other_streets.status_code == invitation_only.status_code == 404  # not even visible
    assert not Membership.objects.filter(member=resident).exists()


def test_coordinator_sees_shared_details_only_and_approves_joiners(
    client, resident, other_resident, coordinator, groups, django_capture_on_commit_callbacks
):
    elm = groups["elm"]
    sharer = MemberFactory(email="sharer@example.org", first_name="Sharon", last_name="Sharer")
    private = MemberFactory(email="private@example.org", first_name="Pria", last_name="Private")
    Membership.objects.create(group=elm, member=sharer, share_contact=True)
    Membership.objects.create(group=elm, member=private, share_contact=False)
    client.force_login(resident)
    client.post("/groups/elm-close-nhw/join/")

    client.force_login(coordinator)
    page = client.get("/groups/elm-close-nhw/manage/").content.decode()
    assert "sharer@example.org" in page and "Sharon Sharer" in page
    assert "Pria" not in page and "private@example.org" not in page
    assert "1 more are not shown" in page
    assert "Alex Resident" in page  # waiting for approval: the name they gave

    pending = Membership.objects.get(member=resident, group=elm)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/groups/elm-close-nhw/manage/requests/{pending.pk}/", {"decision": "approve"})

    assert Membership.objects.get(pk=pending.pk).status == "active"
    assert mail.outbox[-1].to == ["resident@example.org"]
    assert "approved" in mail.outbox[-1].body
    removed = Membership.objects.get(member=sharer, group=elm)
    client.post(f"/groups/elm-close-nhw/manage/members/{removed.pk}/remove/")
    assert not Membership.objects.filter(pk=removed.pk).exists()
    hidden = Membership.objects.get(member=private, group=elm)
    assert client.post(f"/groups/elm-close-nhw/manage/members/{hidden.pk}/remove/").status_code == 404
    assert AuditEvent.objects.filter(action="groups.membership.approved").count() == 1


def test_decline_removes_the_request(client, resident, coordinator, groups, django_capture_on_commit_callbacks):
    client.force_login(resident)
    client.post("/groups/elm-close-nhw/join/")
    pending = Membership.objects.get(member=resident)
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/groups/elm-close-nhw/manage/requests/{pending.pk}/", {"decision": "decline"})
    assert not Membership.objects.filter(member=resident).exists()
    assert "not approved" in mail.outbox[-1].body


def test_a_coordinator_manages_only_their_own_groups_and_residents_approve_nobody(
    client, resident, other_resident, coordinator, groups, officer, officer_other_org
):
    client.force_login(other_resident)
    client.post("/groups/oak-road-nhw/join/")
    oak_membership = Membership.objects.get(member=other_resident)
    Membership.objects.filter(pk=oak_membership.pk).update(status="pending")

    client.force_login(coordinator)
    assert client.get("/groups/oak-road-nhw/manage/").status_code == 404  # not theirs: invisible
    assert client.get("/groups/rural-watch/manage/").status_code == 403
    client.force_login(resident)
    assert client.get("/groups/elm-close-nhw/manage/").status_code == 403
    api = APIClient()
    api.force_authenticate(resident)
    assert api.get("/api/v1/groups/elm-close-nhw/members/").status_code == 403
    api.force_authenticate(coordinator)
    assert api.post(f"/api/v1/groups/oak-road-nhw/requests/{oak_membership.pk}/approve/").status_code == 404
    assert Membership.objects.get(pk=oak_membership.pk).status == "pending"
    # The organisation's officers manage its groups; another organisation's see nothing.
    client.force_login(officer)
    assert client.get("/groups/oak-road-nhw/manage/").status_code == 200
    client.force_login(officer_other_org)
    assert client.get("/groups/oak-road-nhw/manage/").status_code == 404


def test_invitation_by_email_link(client, coordinator, groups, organisation, django_capture_on_commit_callbacks):
    invitee = MemberFactory(email="invitee@example.org", first_name="Ivy", last_name="Invitee")
    stranger = MemberFactory(email="stranger@example.org")
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/groups/elm-close-nhw/manage/invite/", {"email": "Invitee@example.org"})
    assert mail.outbox[-1].to == ["invitee@example.org"]
    path = re.search(r"https?://[^/\s]+(/groups/invitations/\S+)", mail.outbox[-1].body).group(1)

    client.force_login(stranger)
    assert client.post(path).status_code == 403
    assert not Membership.objects.filter(member=stranger).exists()
    client.force_login(invitee)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    assert Membership.objects.get(member=invitee, group=groups["elm"]).status == "active"
    assert client.post(path).status_code == 403  # used once
    assert client.get("/groups/invitations/forged/").status_code == 404


def test_invite_bad_email_is_a_form_error(client, coordinator, groups):
    client.force_login(coordinator)
    response = client.post("/groups/elm-close-nhw/manage/invite/", {"email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()


def test_force_admin_appoints_a_coordinator_of_their_organisations_group(client, force_admin, resident, groups):
    client.force_login(force_admin)
    response = client.post("/groups/rural-watch/coordinators/", {"email": "resident@example.org"})
    assert response.status_code == 302
    assert Membership.objects.get(member=resident, group=groups["rural"]).role == "coordinator"
    unknown = client.post("/groups/rural-watch/coordinators/", {"email": "nobody@example.org"})
    assert unknown.status_code == 400 and "No member has this email" in unknown.content.decode()


def test_officers_cannot_appoint_coordinators(client, officer, resident, groups):
    client.force_login(officer)
    assert client.post("/groups/rural-watch/coordinators/", {"email": "resident@example.org"}).status_code == 403
    assert not Membership.objects.filter(member=resident).exists()


def test_groups_api_join_leave_and_memberships(resident, groups):
    api = APIClient()
    api.force_authenticate(resident)
    listing = api.get("/api/v1/groups/").json()
    assert {g["slug"] for g in listing["results"]} == {"rural-watch", "business-watch", "elm-close-nhw"}

    first = api.post("/api/v1/groups/rural-watch/join/", {"share_contact": True}, format="json")
    again = api.post("/api/v1/groups/rural-watch/join/", {}, format="json")
    asked = api.post("/api/v1/groups/business-watch/join/", {}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["status"] == "active" and asked.json()["status"] == "pending"
    assert {m["group"]: m["status"] for m in api.get("/api/v1/memberships/").json()} == {
        "rural-watch": "active",
        "business-watch": "pending",
    }
    assert api.post("/api/v1/groups/rural-watch/leave/").status_code == 204
    assert [m["group"] for m in api.get("/api/v1/memberships/").json()] == ["business-watch"]


def test_memberships_are_exported_and_erased(client, resident, groups):
    client.force_login(resident)
    client.post("/groups/rural-watch/join/", {"share_contact": "on"})
    data = client.get("/me/privacy/my-data.json").json()
    assert data["groups"] == [
        {
            "group": "Rural Watch",
            "kind": "interest",
            "role": "member",
            "status": "active",
            "share_contact_with_coordinators": True,
            "since": data["groups"][0]["since"],
        }
    ]
    assert data["geography"]["location"]["source"] == "pin"
    client.post("/me/delete/", {"password": "correct-horse-battery-staple", "confirm": "on"})
    assert not Membership.objects.filter(member_id=resident.pk).exists()


def test_officers_see_in_a_roster_only_members_who_opted_in_to_their_organisation(
    client, officer, coordinator, groups, other_organisation
):
    elm = groups["elm"]
    opted_out = MemberFactory(email="no-police@example.org", first_name="Nell", last_name="Noopt", opt_in=[])
    Membership.objects.create(group=elm, member=opted_out, share_contact=True)

    client.force_login(coordinator)
    assert "Nell Noopt" in client.get("/groups/elm-close-nhw/manage/").content.decode()
    client.force_login(officer)
    page = client.get("/groups/elm-close-nhw/manage/").content.decode()
    assert "Nell Noopt" not in page and "no-police@example.org" not in page
    assert "Kim Coordinator" in page and "1 more are not shown" in page
