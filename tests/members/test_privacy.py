"""A resident's data: consent, who may reach them, downloading it all, deleting the account."""

import json

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from rest_framework.authtoken.models import Token

from core.models import AuditEvent
from members.models import ConsentRecord, Member, OrganisationOptIn

pytestmark = pytest.mark.django_db


def test_opting_in_and_withdrawing_is_recorded_with_the_text_shown(client, resident, other_organisation):
    client.force_login(resident)
    assert not OrganisationOptIn.objects.filter(member=resident, organisation=other_organisation).exists()

    client.post(f"/me/privacy/organisations/{other_organisation.slug}/", {"opted_in": "1"})
    assert OrganisationOptIn.objects.filter(member=resident, organisation=other_organisation).exists()
    client.post(f"/me/privacy/organisations/{other_organisation.slug}/", {"opted_in": "0"})

    assert not OrganisationOptIn.objects.filter(member=resident, organisation=other_organisation).exists()
    records = list(ConsentRecord.objects.filter(member=resident, organisation=other_organisation).order_by("at", "id"))
    assert [(r.given, r.source, r.consent_text.purpose, r.consent_text.version) for r in records] == [
        (True, "settings", "organisation", 1),
        (False, "settings", "organisation", 1),
    ]
    assert "Essex Police may see my name" in records[0].consent_text.render(other_organisation)
    page = client.get("/me/privacy/").content.decode()
    assert "Withdrawn" in page and "Agreed" in page and "Essex Police" in page


def test_opt_in_toggle_with_htmx_returns_just_the_row(client, resident, other_organisation):
    client.force_login(resident)
    response = client.post(
        f"/me/privacy/organisations/{other_organisation.slug}/", {"opted_in": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="org-{other_organisation.slug}"')
    assert "Withdraw" in body


def test_an_organisation_sees_only_members_who_opted_in_to_it(
    client, resident, other_resident, officer, officer_other_org, organisation
):
    client.force_login(officer)
    page = client.get("/organisation/members/").content.decode()
    assert "Alex Resident" in page and "Sam Other" in page

    client.force_login(other_resident)
    client.post(f"/me/privacy/organisations/{organisation.slug}/", {"opted_in": "0"})

    client.force_login(officer)
    page = client.get("/organisation/members/").content.decode()
    assert "Alex Resident" in page and "Sam Other" not in page and "other@example.org" not in page
    client.force_login(officer_other_org)
    page = client.get("/organisation/members/").content.decode()
    assert "Alex Resident" not in page and "No residents have opted in yet" in page


def test_download_all_my_data_in_one_click(client, resident, organisation):
    client.force_login(resident)
    assert "/me/privacy/my-data.json" in client.get("/me/privacy/").content.decode()

    response = client.get("/me/privacy/my-data.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="mcv-my-data-')
    data = json.loads(response.content)
    member = data["member"]
    assert member["account"]["email"] == "resident@example.org"
    assert member["account"]["postcode"] == "ME14 1XX"
    assert member["email_addresses"] == [{"email": "resident@example.org", "verified": True, "primary": True}]
    assert member["preferences"]["channel_email"] is True
    assert "burglary" in member["preferences"]["interests"]
    assert member["organisations_opted_in"][0]["organisation"] == "Kent Police"
    assert {c["purpose"] for c in member["consents"]} == {"service", "organisation"}
    assert all(c["text"] for c in member["consents"])
    event = AuditEvent.objects.get(action="members.member.exported")
    assert (event.actor_id, event.actor_role, event.target_id) == (resident.pk, "self", str(resident.pk))


def test_deleting_an_account_erases_personal_data_at_once(
    client, resident, other_resident, django_capture_on_commit_callbacks
):
    Token.objects.create(user=resident)
    client.force_login(resident)
    assert client.get("/me/delete/").status_code == 200

    wrong = client.post("/me/delete/", {"password": "wrong", "confirm": "on"})
    assert wrong.status_code == 400
    assert "That is not your password" in wrong.content.decode()
    assert Member.objects.get(pk=resident.pk).erased_at is None

    response = client.post("/me/delete/", {"password": "correct-horse-battery-staple", "confirm": "on"})

    assert response.status_code == 200
    assert "Your account has been deleted" in response.content.decode()
    tomb = Member.objects.get(pk=resident.pk)
    assert tomb.erased_at is not None and not tomb.is_active
    assert tomb.email == f"erased-{resident.pk}@erased.invalid"
    personal = [tomb.first_name, tomb.last_name, tomb.address_line1, tomb.town, tomb.postcode, str(tomb.phone or "")]
    assert personal == ["", "", "", "", "", ""]
    assert not tomb.has_usable_password()
    assert not EmailAddress.objects.filter(user=tomb).exists()
    assert not ConsentRecord.objects.filter(member=tomb).exists()
    assert not OrganisationOptIn.objects.filter(member=tomb).exists()
    assert not Token.objects.filter(user=tomb).exists()
    # Logged out, and can never log in again.
    assert "_auth_user_id" not in client.session
    login = client.post(
        "/accounts/login/", {"login": "resident@example.org", "password": "correct-horse-battery-staple"}
    )
    assert "_auth_user_id" not in client.session and login.status_code == 200
    # Recorded when and by whom, with nothing of what was erased.
    event = AuditEvent.objects.get(action="members.member.erased")
    assert (event.actor_role, event.target_id, event.data) == ("self", str(resident.pk), {"requested_by": "self"})
    every_event = json.dumps(list(AuditEvent.objects.values()), default=str)
    for value in ("resident@example.org", "Alex", "Resident", "ME14 1XX", "Test Street"):
        assert value not in every_event
    # Nobody else was touched.
    assert Member.objects.get(pk=other_resident.pk).email == "other@example.org"
    assert mail.outbox == []


def test_the_erased_member_frees_their_email_for_a_new_signup(client, resident):
    client.force_login(resident)
    client.post("/me/delete/", {"password": "correct-horse-battery-staple", "confirm": "on"})
    pw = "a-long-and-unusual-passphrase-42"
    client.post(
        "/accounts/signup/",
        {
            "email": "resident@example.org",
            "password1": pw,
            "password2": pw,
            "first_name": "New",
            "last_name": "Person",
            "address_line1": "1 Road",
            "town": "Dover",
            "postcode": "CT16 1AA",
            "accept_terms": "on",
        },
    )
    assert Member.objects.filter(email="resident@example.org", first_name="New").exists()


def test_officers_cannot_delete_their_own_account(client, officer):
    client.force_login(officer)
    assert client.get("/me/delete/").status_code == 403
    assert client.post("/me/delete/", {"password": "correct-horse-battery-staple", "confirm": "on"}).status_code == 403
    assert Member.objects.get(pk=officer.pk).erased_at is None
