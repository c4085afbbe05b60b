"""The replies API: residents' conversations and ratings, officers' reply inbox, in the schema."""

import pytest
from rest_framework.test import APIClient

from replies.models import Rating, Thread
from replies.services import reply_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def as_member(member):
        client = APIClient()
        client.force_authenticate(member)
        return client

    return as_member


def test_a_resident_replies_rates_and_reads_their_conversations(api, resident, other_resident, alert):
    client = api(resident)

    created = client.post(f"/api/v1/replies/messages/{alert.pk}/reply/", {"body": "<b>Seen</b> it"}, format="json")
    rated = client.put(f"/api/v1/replies/messages/{alert.pk}/rating/", {"score": 5}, format="json")
    again = client.put(f"/api/v1/replies/messages/{alert.pk}/rating/", {"score": 3}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["dispatch"] == {"id": alert.pk, "subject": "Burglaries on Elm Road"}
    assert body["organisation"] == "Kent Police" and body["status"] == "open" and body["answered"] is False
    assert [(m["sender"], m["body"]) for m in body["messages"]] == [("you", "Seen it")]
    assert (rated.status_code, rated.json()["score"], again.json()["score"]) == (200, 5, 3)
    assert Rating.objects.get().score == 3

    listing = client.get("/api/v1/replies/mine/").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == body["id"]
    assert client.get(f"/api/v1/replies/mine/{body['id']}/").status_code == 200

    other = api(other_resident)
    assert other.get("/api/v1/replies/mine/").json()["count"] == 0
    assert other.get(f"/api/v1/replies/mine/{body['id']}/").status_code == 404


def test_bad_input_is_a_400_that_says_what_is_wrong(api, resident, alert):
    client = api(resident)

    empty = client.post(f"/api/v1/replies/messages/{alert.pk}/reply/", {"body": ""}, format="json")
    too_high = client.put(f"/api/v1/replies/messages/{alert.pk}/rating/", {"score": 6}, format="json")

    assert empty.status_code == 400 and "body" in empty.json()
    assert too_high.status_code == 400 and "score" in too_high.json()
    assert not Thread.objects.exists() and not Rating.objects.exists()


def test_officers_work_the_inbox_through_the_api(
    api, officer, second_officer, officer_other_org, resident, other_resident, alert
):
    calm = reply_create(resident=resident, dispatch=alert, body="Calm").thread
    urgent = reply_create(resident=other_resident, dispatch=alert, body="He has a gun").thread
    client = api(officer)

    listing = client.get("/api/v1/replies/threads/").json()
    assert [t["id"] for t in listing["results"]] == [urgent.pk, calm.pk]
    assert listing["results"][0]["urgent"] is True and listing["results"][0]["unread"] is True
    assert listing["results"][0]["preview"] == "He has a gun"
    assert [t["id"] for t in client.get("/api/v1/replies/threads/?view=urgent").json()["results"]] == [urgent.pk]
    assert client.get(f"/api/v1/replies/threads/?dispatch={alert.pk + 1000}").json()["count"] == 0

    detail = client.get(f"/api/v1/replies/threads/{calm.pk}/").json()
    assert detail["unread"] is False and detail["messages"][0]["body"] == "Calm"
    assert client.get("/api/v1/replies/threads/?view=unread").json()["count"] == 1

    answered = client.post(f"/api/v1/replies/threads/{calm.pk}/answer/", {"body": "Thanks"}, format="json")
    assert answered.status_code == 201
    assert [m["from_resident"] for m in answered.json()["messages"]] == [True, False]
    assert answered.json()["assignee"]["id"] == officer.pk

    assigned = client.post(
        f"/api/v1/replies/threads/{urgent.pk}/assign/", {"assignee": second_officer.pk}, format="json"
    )
    assert assigned.status_code == 200 and assigned.json()["assignee"]["id"] == second_officer.pk
    elsewhere = client.post(
        f"/api/v1/replies/threads/{urgent.pk}/assign/", {"assignee": officer_other_org.pk}, format="json"
    )
    assert elsewhere.status_code == 400
    assert api(second_officer).get("/api/v1/replies/threads/?view=mine").json()["count"] == 1

    closed = client.post(f"/api/v1/replies/threads/{urgent.pk}/close/")
    assert closed.json()["status"] == "closed" and closed.json()["urgent"] is False
    assert client.post(f"/api/v1/replies/threads/{urgent.pk}/reopen/").json()["status"] == "open"

    essex = api(officer_other_org)
    assert essex.get("/api/v1/replies/threads/").json()["count"] == 0
    assert essex.get(f"/api/v1/replies/threads/{calm.pk}/").status_code == 404
    assert essex.post(f"/api/v1/replies/threads/{calm.pk}/close/").status_code == 404


def test_the_officer_list_runs_a_constant_number_of_queries(
    api, officer, organisation, send_alert, django_assert_max_num_queries
):
    from tests.factories import MemberFactory

    residents = [MemberFactory(opt_in=[organisation]) for _ in range(30)]
    alert = send_alert(*residents)
    for person in residents:
        reply_create(resident=person, dispatch=alert, body="Hello")
    client = api(officer)

    with django_assert_max_num_queries(3):  # the MFA check, the count, the page
        response = client.get("/api/v1/replies/threads/?view=all")

    assert response.json()["count"] == 30


def test_every_route_is_in_the_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/v1/replies/mine/",
        "/api/v1/replies/mine/{id}/",
        "/api/v1/replies/messages/{dispatch_id}/reply/",
        "/api/v1/replies/messages/{dispatch_id}/rating/",
        "/api/v1/replies/threads/",
        "/api/v1/replies/threads/{id}/",
        "/api/v1/replies/threads/{id}/answer/",
        "/api/v1/replies/threads/{id}/assign/",
        "/api/v1/replies/threads/{id}/close/",
        "/api/v1/replies/threads/{id}/reopen/",
    ]:
        assert path in paths, path
    assert {p["name"] for p in paths["/api/v1/replies/threads/"]["get"]["parameters"]} >= {"view", "dispatch", "area"}
