"""The REST API under /api/v1/: `me` and a member's opt-ins, consents and data, by session or token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from members.models import OrganisationOptIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(resident):
    client = APIClient()
    token = Token.objects.create(user=resident)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_me_by_token(api):
    response = api.get("/api/v1/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "resident@example.org"
    assert body["postcode"] == "ME14 1XX"
    assert body["role"] == "resident"
    assert body["preferences"]["channel_email"] is True
    assert body["preferences"]["sms_lowest_priority"] == 2
    assert "burglary" in body["preferences"]["interests"]


def test_me_by_session(client, resident):
    client.force_login(resident)
    assert client.get("/api/v1/me/").json()["first_name"] == "Alex"


def test_me_needs_authentication():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_patch_me_changes_profile_and_preferences(api, resident):
    response = api.patch(
        "/api/v1/me/",
        {
            "town": "Canterbury",
            "postcode": "ct1 2aa",
            "phone": "07400 123456",
            "preferences": {
                "channel_sms": True,
                "frequency": "daily_digest",
                "quiet_hours_start": "21:30",
                "quiet_hours_end": "06:45",
                "sms_lowest_priority": 3,
                "interests": ["drugs", "road_safety"],
            },
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["town"], body["postcode"], body["phone"]) == ("Canterbury", "CT1 2AA", "+447400123456")
    assert body["preferences"]["quiet_hours_start"] == "21:30"
    assert body["preferences"]["interests"] == ["drugs", "road_safety"]
    resident.refresh_from_db()
    resident.preferences.refresh_from_db()
    assert resident.postcode == "CT1 2AA"
    assert resident.preferences.channels == ["inbox", "email", "sms"]
    assert resident.preferences.sms_lowest_priority == 3


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        ({"postcode": "XYZ"}, ["postcode"], "Enter a real UK postcode"),
        ({"phone": "12"}, ["phone"], "valid phone number"),
        ({"first_name": ""}, ["first_name"], "may not be blank"),
        (
            {"preferences": {"sms_lowest_priority": 0}},
            ["preferences", "sms_lowest_priority"],
            "greater than or equal to 1",
        ),
        ({"preferences": {"interests": ["knitting"]}}, ["preferences", "interests"], "not a valid choice"),
        ({"preferences": {"quiet_hours_start": "22:00"}}, ["preferences", "quiet_hours_end"], "Give both"),
        ({"preferences": {"channel_sms": True}}, ["preferences", "channel_sms"], "Add a mobile phone number"),
    ],
)
def test_patch_me_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, resident, payload, path, message):
    response = api.patch("/api/v1/me/", payload, format="json")

    assert response.status_code == 400
    node = response.json()
    for key in path:
        node = node[key]
    assert message in str(node)
    resident.refresh_from_db()
    assert resident.postcode == "ME14 1XX" and resident.first_name == "Alex"
    assert resident.preferences.sms_lowest_priority == 2
    assert resident.interests.count() > 2


def test_email_and_role_cannot_be_changed_through_me(api, resident):
    response = api.patch("/api/v1/me/", {"email": "x@example.org", "role": "officer"}, format="json")
    assert response.status_code == 200
    resident.refresh_from_db()
    assert (resident.email, resident.role) == ("resident@example.org", "resident")


def test_opt_in_and_out_of_an_organisation_by_api(api, resident, other_organisation):
    listing = api.get("/api/v1/me/organisations/").json()
    assert {o["slug"]: o["opted_in"] for o in listing} == {"kent-police": True, "essex-police": False}

    assert api.put(f"/api/v1/me/organisations/{other_organisation.slug}/").json()["opted_in"] is True
    assert OrganisationOptIn.objects.filter(member=resident, organisation=other_organisation).exists()
    assert api.delete(f"/api/v1/me/organisations/{other_organisation.slug}/").json()["opted_in"] is False
    assert not OrganisationOptIn.objects.filter(member=resident, organisation=other_organisation).exists()
    assert api.put("/api/v1/me/organisations/no-such-org/").status_code == 404

    consents = api.get("/api/v1/me/consents/").json()
    assert [(c["organisation"], c["given"], c["source"]) for c in consents[:2]] == [
        ("essex-police", False, "api"),
        ("essex-police", True, "api"),
    ]
    assert "Essex Police may see my name" in consents[0]["text"]


def test_export_by_api(api):
    body = api.get("/api/v1/me/export/").json()
    assert body["member"]["account"]["email"] == "resident@example.org"


def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert text.startswith("openapi: 3")
    assert "/api/v1/me/" in text
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs
    # The split view serves its script from our own origin, so the CSP needs no inline script.
    script = client.get("/api/docs/?script")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
