"""The alerts API (/api/v1/alerts/…, groups/<slug>/messages/, inbox/) through its real URLs:
officers write, count, publish and follow up alerts of their own organisation only;
coordinators message their own group; residents read their own inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from alerts.models import Alert, AlertImage, AlertUpdate, GroupMessage
from alerts.services import alert_create, alert_publish
from notifications.models import Delivery, Dispatch
from tests.factories import MemberFactory

from .conftest import png_bytes, upload

pytestmark = pytest.mark.django_db

ONLY_OFFICERS = {"detail": "Only officers can do this."}
NOT_SIGNED_IN = {"detail": "Authentication credentials were not provided."}


@pytest.fixture
def api():
    """`api(member)`: an API client with that member's token (None: anonymous)."""

    def as_member(member) -> APIClient:
        client = APIClient()
        if member is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=member)[0].key}")
        return client

    return as_member


@pytest.fixture
def town(kent, north_resident, south_resident):
    return kent


def body(town, **fields) -> dict:
    return {
        "kind": "alert",
        "category": "burglary",
        "priority": 2,
        "title": "Burglaries on Elm Road",
        "body_markdown": "Three homes were broken into last night. **Lock your doors.**",
        "audience": {"include": [{"area": town["north"].pk}]},
    } | fields


@pytest.fixture
def draft(officer, town):
    def make(**fields) -> Alert:
        values = body(town) | fields
        return alert_create(actor=officer, **values)

    return make


@pytest.fixture
def published(draft, officer, django_capture_on_commit_callbacks):
    """A published Kent alert to North Ward, fanned out (its deliveries written)."""
    alert = draft()
    with django_capture_on_commit_callbacks(execute=True):
        alert_publish(actor=officer, alert=alert)
    alert.refresh_from_db()
    return alert


def url(name: str, alert: Alert | None = None, suffix: str = "") -> str:
    base = "/api/v1/alerts/" + (f"{alert.pk}/" if alert else "")
    return base + (f"{name}/" if name else "") + suffix


# --- who may


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/alerts/"),
        ("post", "/api/v1/alerts/"),
        ("post", "/api/v1/alerts/audience-preview/"),
    ],
)
def test_residents_are_refused_and_visitors_asked_to_sign_in(api, resident, method, path):
    refused = getattr(api(resident), method)(path, {}, format="json")
    assert (refused.status_code, refused.json()) == (403, ONLY_OFFICERS)
    anonymous = getattr(api(None), method)(path, {}, format="json")
    assert (anonymous.status_code, anonymous.json()) == (403, NOT_SIGNED_IN)


def test_another_forces_officer_finds_nothing_of_kents(api, published, officer_other_org):
    client = api(officer_other_org)
    for path in (url(""), url("", published), url("reach", published)):
        response = client.get(path)
        assert response.status_code == (200 if path == url("") else 404)
    assert client.get(url("")).json()["results"] == []
    for action in ("publish", "unschedule", "withdraw", "updates"):
        assert client.post(url(action, published), {"body": "x"}, format="json").status_code == 404
    assert client.delete(url("", published)).status_code == 404
    assert Alert.objects.get(pk=published.pk).status == Alert.Status.PUBLISHED


# --- the list


def test_officers_list_their_organisations_alerts_filtered_and_paginated(api, officer, draft, published, town):
    draft(title="An appeal", kind="appeal", category="vehicle_crime", priority=3)
    draft(title="Fun day", kind="news", category="community_events", priority=5)
    client = api(officer)

    everything = client.get(url("")).json()

    assert everything["count"] == 3
    assert [a["title"] for a in everything["results"]] == ["Fun day", "An appeal", "Burglaries on Elm Road"]
    first = everything["results"][2]
    assert first["status"] == "published"
    assert first["audience_size"] == 1
    assert first["author"] == "Jo Officer"

    def titles(**params):
        return [a["title"] for a in client.get(url(""), params).json()["results"]]

    assert titles(status="draft") == ["Fun day", "An appeal"]
    assert titles(kind="appeal") == ["An appeal"]
    assert titles(category="community_events", priority=5) == ["Fun day"]
    assert titles(search="elm") == ["Burglaries on Elm Road"]
    bad = client.get(url(""), {"status": "lost", "priority": 9})
    assert bad.status_code == 400
    assert set(bad.json()) == {"status", "priority"}


@pytest.mark.parametrize("n", [3, 30])
def test_the_list_is_a_constant_number_of_queries(api, officer, draft, n, django_assert_max_num_queries):
    for i in range(n):
        draft(title=f"Alert {i}")
    client = api(officer)
    client.get(url(""))  # the token's first use

    with django_assert_max_num_queries(5):
        response = client.get(url(""))

    assert len(response.json()["results"]) == n


def test_the_list_pages(api, officer, draft):
    for i in range(52):
        draft(title=f"Alert {i}")
    page = api(officer).get(url("")).json()
    assert (page["count"], len(page["results"])) == (52, 50)
    assert page["next"].endswith("/api/v1/alerts/?page=2")
    assert len(api(officer).get(url(""), {"page": 2}).json()["results"]) == 2


# --- writing a draft


def test_an_officer_writes_a_draft_which_sends_nothing(api, officer, town):
    response = api(officer).post(url(""), body(town, is_public=True, links=[{"title": "Advice", "url": "https://kent.police.uk"}]),
                                 format="json")  # fmt: skip

    assert response.status_code == 201, response.json()
    alert = Alert.objects.get()
    assert response["Location"] == f"/api/v1/alerts/{alert.pk}/"
    data = response.json()
    assert data["status"] == "draft"
    assert data["body_html"] == "<p>Three homes were broken into last night. <strong>Lock your doors.</strong></p>\n"
    assert data["audience"] == {"include": [{"area": town["north"].pk}], "exclude": [], "interest_only": False}
    assert data["links"] == [{"title": "Advice", "url": "https://kent.police.uk"}]
    assert data["is_public"] is True
    assert data["dispatch"] is None
    assert data["web_url"] == f"http://testserver/alerts/{alert.pk}/"
    assert alert.author == officer and alert.organisation == officer.organisation
    assert not Dispatch.objects.exists()


def test_a_draft_may_wait_for_its_audience(api, officer, town):
    fields = body(town)
    del fields["audience"]
    response = api(officer).post(url(""), fields, format="json")
    assert response.status_code == 201
    assert response.json()["audience"] == {}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"title": "  "}, {"title": ["Give the alert a title."]}),
        ({"kind": "event"}, {"event_starts_at", "event_place"}),
        ({"priority": 0}, {"priority"}),
        ({"category": "gossip"}, {"category"}),
        (
            {"kind": "event", "event_place": "Hall", "event_starts_at": "0385-08-01T19:00:00Z"},
            {"event_starts_at": ["Give a date between the year 2000 and ten years from now."]},
        ),
        ({"links": [{"title": "x", "url": "javascript:alert(1)"}]}, {"links"}),
        ({"audience": {"include": [{"area": 1, "group": 2}]}}, {"audience"}),
        ({"audience": {"include": [{"radius": {"lon": 0.05, "lat": 51.05, "metres": 10**6}}]}}, {"audience"}),
    ],
)
def test_a_bad_draft_is_a_400_saying_what_is_wrong(api, officer, town, fields, errors):
    response = api(officer).post(url(""), body(town, **fields), format="json")

    assert response.status_code == 400
    if isinstance(errors, dict):
        assert response.json() == errors
    else:
        assert set(response.json()) == errors
    assert not Alert.objects.exists()


def test_an_audience_outside_the_force_is_refused(api, officer, town, essex):
    response = api(officer).post(
        url(""), body(town, audience={"include": [{"area": essex["force"].pk}]}), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"audience": ["You can only send to areas your organisation covers."]}


def test_the_api_takes_json_only(api, officer, town):
    response = api(officer).post(url(""), {"kind": "alert", "title": "x"})  # multipart, as a form would
    assert response.status_code == 415


def test_an_officer_reads_edits_and_deletes_a_draft(api, officer, draft, town):
    alert = draft()
    client = api(officer)

    read = client.get(url("", alert)).json()
    assert (read["id"], read["title"], read["images"], read["updates"]) == (alert.pk, alert.title, [], [])

    changed = client.patch(url("", alert), {"title": "Burglaries on Oak Road", "priority": 1}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["priority"]) == ("Burglaries on Oak Road", 1)
    alert.refresh_from_db()
    assert (alert.title, alert.priority, alert.kind) == ("Burglaries on Oak Road", 1, "alert")

    blank = client.patch(url("", alert), {"body_markdown": ""}, format="json")
    assert (blank.status_code, blank.json()) == (400, {"body_markdown": ["Write what residents need to know."]})

    assert client.delete(url("", alert)).status_code == 204
    assert not Alert.objects.filter(pk=alert.pk).exists()


def test_a_published_alert_is_neither_edited_nor_deleted(api, officer, published):
    client = api(officer)
    edit = client.patch(url("", published), {"title": "Changed"}, format="json")
    assert (edit.status_code, edit.json()) == (
        400,
        {"detail": ["Only a draft can be changed. Send an update instead."]},
    )
    assert client.delete(url("", published)).status_code == 400
    published.refresh_from_db()
    assert published.title == "Burglaries on Elm Road"


# --- the audience, counted


def test_the_audience_preview_counts_per_channel_and_the_last_weeks_messages(api, officer, town, published, place):
    place(0.06, 51.06, channel_email=False)  # another North Ward resident, by inbox only
    spec = {"audience": {"include": [{"area": town["north"].pk}]}, "category": "burglary", "priority": 2}
    before = Dispatch.objects.count()

    response = api(officer).post(url("audience-preview"), spec, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "members": 2, "inbox": 2, "email": 1, "sms": 0, "push": 0,
        # The published alert reached one of the two this week.
        "recent": {"days": 7, "dispatches": 1, "average": 0.5, "most": 1, "reached": 1, "sampled": False},
    }  # fmt: skip
    assert Dispatch.objects.count() == before  # counting sends nothing


def test_an_audience_of_nobody_is_counted_as_nobody(api, officer, town):
    # A circle in the force area where nobody lives.
    nobody = {"include": [{"radius": {"lon": 0.15, "lat": 51.05, "metres": 300}}]}

    response = api(officer).post(url("audience-preview"), {"audience": nobody}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "members": 0, "inbox": 0, "email": 0, "sms": 0, "push": 0,
        "recent": {"days": 7, "dispatches": 0, "average": 0.0, "most": 0, "reached": 0, "sampled": False},
    }  # fmt: skip


def test_the_audience_preview_excludes_and_refuses_what_the_force_may_not_reach(api, officer, town, essex):
    client = api(officer)
    whole = {"include": [{"area": town["force"].pk}], "exclude": [{"area": town["south"].pk}]}
    assert client.post(url("audience-preview"), {"audience": whole}, format="json").json()["members"] == 1

    outside = client.post(url("audience-preview"), {"audience": {"include": [{"area": essex["force"].pk}]}},
                          format="json")  # fmt: skip
    assert outside.status_code == 400
    assert outside.json() == {"audience": ["You can only send to areas your organisation covers."]}
    nothing = client.post(url("audience-preview"), {"audience": {"include": []}}, format="json")
    assert nothing.status_code == 400
    assert nothing.json() == {"audience": ["Choose at least one area, group, shape or circle to send to."]}


# --- publishing and following up


def test_publishing_sends_the_alert_once_the_request_commits(api, officer, draft, north_resident,
                                                             django_capture_on_commit_callbacks):  # fmt: skip
    alert = draft()

    with django_capture_on_commit_callbacks(execute=True):
        response = api(officer).post(url("publish", alert), format="json")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "published"
    assert data["published_at"] is not None
    # The fan-out runs once the request's transaction commits: the answer shows it queued.
    assert (data["dispatch"]["status"], data["dispatch"]["audience_size"]) == ("pending", 0)
    assert set(Delivery.objects.filter(dispatch_id=data["dispatch"]["id"]).values_list("member_id", flat=True)) == {
        north_resident.pk
    }
    assert api(officer).get(url("", alert)).json()["dispatch"]["audience_size"] == 1


def test_publishing_is_refused_without_an_audience_and_twice(api, officer, draft, town, published):
    empty = draft(audience=None)
    response = api(officer).post(url("publish", empty), format="json")
    assert (response.status_code, response.json()) == (
        400, {"detail": ["Choose who this is for: at least one area, group, shape or circle."]},
    )  # fmt: skip
    again = api(officer).post(url("publish", published), format="json")
    assert again.status_code == 400
    assert Dispatch.objects.count() == 1


def test_scheduling_and_calling_back(api, officer, draft):
    alert = draft()
    client = api(officer)
    past = client.post(url("schedule", alert), {"send_at": timezone.now().isoformat()}, format="json")
    assert past.status_code == 400
    assert list(past.json()) == ["send_at"]

    when = timezone.now() + timedelta(hours=3)
    scheduled = client.post(url("schedule", alert), {"send_at": when.isoformat()}, format="json")
    assert scheduled.status_code == 200
    assert scheduled.json()["status"] == "scheduled"
    assert scheduled.json()["dispatch"]["send_at"] is not None

    back = client.post(url("unschedule", alert), format="json")
    assert back.status_code == 200
    assert (back.json()["status"], back.json()["dispatch"]) == ("draft", None)
    assert Dispatch.objects.get().status == Dispatch.Status.CANCELLED


def test_an_update_reaches_exactly_who_got_the_alert(api, officer, published, north_resident, place,
                                                     django_capture_on_commit_callbacks):  # fmt: skip
    place(0.07, 51.07)  # moved in after the alert: not told

    with django_capture_on_commit_callbacks(execute=True):
        response = api(officer).post(url("updates", published), {"kind": "cancellation", "body": "Found safe."},
                                     format="json")  # fmt: skip

    assert response.status_code == 201
    assert response.json()["kind"] == "cancellation"
    update = AlertUpdate.objects.get()
    assert set(Delivery.objects.filter(dispatch=update.dispatch).values_list("member_id", flat=True)) == {
        north_resident.pk
    }
    detail = api(officer).get(url("", published)).json()
    assert [(u["kind"], u["body"]) for u in detail["updates"]] == [("cancellation", "Found safe.")]


def test_an_update_needs_words_and_a_published_alert(api, officer, draft, published):
    client = api(officer)
    assert client.post(url("updates", published), {"kind": "withdrawal", "body": "x"}, format="json").status_code == 400
    blank = client.post(url("updates", published), {"body": " "}, format="json")
    assert (blank.status_code, blank.json()) == (400, {"body": ["Write what has changed."]})
    assert client.post(url("updates", draft()), {"body": "News"}, format="json").status_code == 400
    assert not AlertUpdate.objects.exists()


def test_withdrawing_with_and_without_telling_recipients(api, officer, published):
    client = api(officer)
    no_reason = client.post(url("withdraw", published), {"notify": True}, format="json")
    assert no_reason.status_code == 400
    assert list(no_reason.json()) == ["reason"]

    response = client.post(url("withdraw", published), {"notify": True, "reason": "Sent in error"}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["withdrawn_reason"]) == ("withdrawn", "Sent in error")
    assert AlertUpdate.objects.get().kind == AlertUpdate.Kind.WITHDRAWAL


def test_reach_shows_what_became_of_the_alert(api, officer, published, north_resident):
    delivery = Delivery.objects.get(dispatch_id=published.dispatch_id, channel="inbox")
    Delivery.objects.filter(pk=delivery.pk).update(read_at=timezone.now())

    response = api(officer).get(url("reach", published))

    assert response.status_code == 200
    reach = response.json()
    assert (reach["alert"]["members"], reach["alert"]["read"]) == (1, 1)
    inbox = next(c for c in reach["alert"]["channels"] if c["channel"] == "inbox")
    assert inbox == {"channel": "inbox", "label": "In the app", "delivered": 1, "failed": 0, "pending": 0,
                     "cancelled": 0}  # fmt: skip
    assert reach["updates"] == []


# --- pictures


def test_pictures_are_uploaded_as_multipart_and_removed(api, officer, draft):
    alert = draft()
    client = api(officer)

    response = client.post(url("images", alert), {"file": upload("van.png", png_bytes()), "alt_text": "A white van"},
                           format="multipart")  # fmt: skip

    assert response.status_code == 201, response.json()
    image = AlertImage.objects.get()
    assert response.json() == {
        "id": image.pk, "alt_text": "A white van", "content_type": "image/png", "size": image.size, "position": 0,
        "url": f"http://testserver/alerts/{alert.pk}/images/{image.pk}/",
    }  # fmt: skip
    assert client.get(url("", alert)).json()["images"][0]["id"] == image.pk

    assert client.delete(url("images", alert, f"{image.pk}/")).status_code == 204
    assert not AlertImage.objects.exists()
    assert client.delete(url("images", alert, f"{image.pk}/")).status_code == 404


def test_a_picture_must_be_an_image_and_say_what_it_shows(api, officer, draft):
    alert = draft()
    client = api(officer)

    not_image = client.post(url("images", alert), {"file": upload("x.png", b"<svg onload=alert(1)>"), "alt_text": "x"},
                            format="multipart")  # fmt: skip
    no_words = client.post(url("images", alert), {"file": upload("van.png", png_bytes()), "alt_text": ""},
                           format="multipart")  # fmt: skip
    as_json = client.post(url("images", alert), {"alt_text": "x"}, format="json")

    assert (not_image.status_code, list(not_image.json())) == (400, ["file"])
    assert (no_words.status_code, no_words.json()) == (
        400, {"alt_text": ["Say what the picture shows, for residents who cannot see it."]},
    )  # fmt: skip
    assert as_json.status_code == 415
    assert not AlertImage.objects.exists()


# --- coordinators


def test_a_coordinator_messages_their_group_and_nobody_else_may(api, watch, north_resident, officer, resident,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    from groups.models import Membership

    group, coordinator = watch
    Membership.objects.create(group=group, member=north_resident)
    path = f"/api/v1/groups/{group.slug}/messages/"
    message = {"subject": "Meeting on Tuesday", "body": "At the village hall, 7pm."}

    with django_capture_on_commit_callbacks(execute=True):
        sent = api(coordinator).post(path, message, format="json")

    assert sent.status_code == 201, sent.json()
    assert (sent.json()["subject"], sent.json()["author"]) == ("Meeting on Tuesday", "Kim " + coordinator.last_name)
    dispatch = GroupMessage.objects.get().dispatch
    assert set(Delivery.objects.filter(dispatch=dispatch, channel="inbox").values_list("member_id", flat=True)) == {
        north_resident.pk, coordinator.pk,
    }  # fmt: skip
    listed = api(coordinator).get(path).json()
    assert [m["subject"] for m in listed["results"]] == ["Meeting on Tuesday"]

    member = api(north_resident).post(path, message, format="json")
    assert (member.status_code, member.json()) == (403, {"detail": "Only this group's coordinators can message it."})
    assert api(officer).post(path, message, format="json").status_code == 403
    assert api(coordinator).post("/api/v1/groups/no-such-group/messages/", message, format="json").status_code == 404
    blank = api(coordinator).post(path, {"subject": "", "body": ""}, format="json")
    assert (blank.status_code, set(blank.json())) == (400, {"subject", "body"})
    assert GroupMessage.objects.count() == 1


# --- a resident's inbox


def test_a_resident_reads_their_inbox_and_opening_a_message_marks_it_read(api, published, north_resident,
                                                                          south_resident, officer):  # fmt: skip
    client = api(north_resident)

    inbox = client.get("/api/v1/inbox/").json()

    assert (inbox["count"], inbox["unread"]) == (1, 1)
    (item,) = inbox["results"]
    assert item["subject"] == "Burglaries on Elm Road"
    assert item["organisation"] == {"slug": "kent-police", "name": "Kent Police"}
    assert (item["priority"], item["category"], item["read_at"]) == (2, "burglary", None)

    message = client.get(f"/api/v1/inbox/{item['id']}/")

    assert message.status_code == 200
    data = message.json()
    assert data["read_at"] is not None
    assert "<strong>Lock your doors.</strong>" in data["body_html"]
    assert data["alert"]["id"] == published.pk and data["alert"]["kind"] == "alert"
    assert (data["update"], data["group"]) == (None, None)
    assert client.get("/api/v1/inbox/").json()["unread"] == 0
    # Nobody else's.
    assert api(south_resident).get(f"/api/v1/inbox/{item['id']}/").status_code == 404
    assert api(south_resident).get("/api/v1/inbox/").json() == {
        "count": 0, "next": None, "previous": None, "results": [], "unread": 0,
    }  # fmt: skip
    assert api(officer).get("/api/v1/inbox/").json()["count"] == 0
    assert api(None).get("/api/v1/inbox/").json() == NOT_SIGNED_IN


@pytest.mark.parametrize("n", [2, 20])
def test_the_inbox_is_a_constant_number_of_queries(api, organisation, n, django_assert_max_num_queries):
    resident = MemberFactory(opt_in=[organisation])
    for i in range(n):
        dispatch = Dispatch.objects.create(
            organisation=organisation, source_type="test", source_id=str(i), subject=f"Message {i}",
            body_text="Hello", audience={"include": []},
        )  # fmt: skip
        Delivery.objects.create(dispatch=dispatch, member=resident, channel="inbox", status="sent")
    client = api(resident)
    client.get("/api/v1/inbox/")

    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/inbox/")

    assert len(response.json()["results"]) == n


def test_an_update_in_the_inbox_names_its_alert(api, published, officer, north_resident):
    update = AlertUpdate.objects.create(alert=published, kind="update", body="More")
    dispatch = Dispatch.objects.create(organisation=published.organisation, source_type="alerts.alertupdate",
                                       source_id=str(update.pk), subject="Update", body_text="More",
                                       audience={"include": []})  # fmt: skip
    delivery = Delivery.objects.create(dispatch=dispatch, member=north_resident, channel="inbox", status="sent")

    data = api(north_resident).get(f"/api/v1/inbox/{delivery.pk}/").json()

    assert data["alert"]["id"] == published.pk
    assert data["update"] == {"id": update.pk, "kind": "update"}
