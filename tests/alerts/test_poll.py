"""A quick poll written with the alert: saved with the draft, checked like any poll,
attached to the alert's dispatch when it is published (now or on schedule), so the
very first email carries each resident's own one-tap links; results live on the
officer's alert page. Through the pages, the services and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from alerts.models import Alert
from alerts.services import alert_edit, alert_publish, alert_schedule
from notifications.models import Delivery, Dispatch
from notifications.services import dispatch_fan_out, dispatch_sweep
from surveys.models import Poll, PollVote
from surveys.services import poll_vote
from surveys.views import poll_link_token

pytestmark = pytest.mark.django_db

MESSAGE = {
    "kind": "appeal",
    "category": "burglary",
    "priority": "2",
    "title": "A white van on Elm Road",
    "body_markdown": "A white van was seen near three burgled homes.",
    "links": "",
}
POLL = {"poll_question": "Have you seen this van?", "poll_options": ["Yes", "No", "Not sure"]}


def poll_links(body: str, options: list[str]) -> dict[str, str]:
    """The "Answer: https://…" lines of a plain-text email, by answer."""
    found = {}
    for line in body.splitlines():
        label, _, link = line.partition(": ")
        if label in options and link.startswith("http"):
            found[label] = link
    return found


# --- composing


def test_an_officer_writes_the_poll_with_the_alert_and_sees_it_in_the_preview(client, officer, kent):
    client.force_login(officer)
    compose = client.get("/alerts/manage/new/").content.decode()
    assert "Add a quick poll (optional)" in compose and 'name="poll_options"' in compose

    response = client.post(
        "/alerts/manage/new/",
        {
            **MESSAGE,
            "areas": [kent["north"].pk],
            "poll_question": "  Have you seen this van? ",
            "poll_options": "Yes\r\n\r\n No \r\nNot sure\r\n",
            "action": "save",
        },
    )

    alert = Alert.objects.get()
    assert response.status_code == 302
    assert (alert.poll_question, alert.poll_options) == ("Have you seen this van?", ["Yes", "No", "Not sure"])
    assert not Poll.objects.exists()  # nothing goes out with a draft
    edit = client.get(f"/alerts/manage/{alert.pk}/edit/").content.decode()
    assert "Yes\nNo\nNot sure</textarea>" in edit and 'value="Have you seen this van?"' in edit
    detail = client.get(f"/alerts/manage/{alert.pk}/").content.decode()
    assert "Quick poll: Have you seen this van?" in detail and "<li>Not sure</li>" in detail
    preview = client.get(f"/alerts/manage/{alert.pk}/preview/").content.decode()
    assert preview.count('<span class="button button-secondary">Not sure</span>') == 1  # the app's buttons
    assert '<span class="button">Not sure</span>' in preview  # the email's links
    assert "Not sure: (a one-tap link of the resident&#x27;s own)" in preview  # the plain-text email


def test_what_the_officer_typed_is_shown_as_text_in_the_preview(client, officer, draft):
    alert = draft(poll_question="Seen <b>this</b> van?", poll_options=["<i>Yes</i>", "No"])
    client.force_login(officer)
    preview = client.get(f"/alerts/manage/{alert.pk}/preview/").content.decode()
    assert "<b>this</b>" not in preview and "<i>Yes</i>" not in preview
    assert "Seen &lt;b&gt;this&lt;/b&gt; van?" in preview and "&lt;i&gt;Yes&lt;/i&gt;: (a one-tap link" in preview


def test_removing_the_poll_from_a_draft_sends_none(client, officer, draft):
    alert = draft(**POLL)
    client.force_login(officer)
    client.post(
        f"/alerts/manage/{alert.pk}/edit/",
        {
            **MESSAGE,
            "areas": [alert.audience["include"][0]["area"]],
            "poll_question": "",
            "poll_options": "",
            "action": "save",
        },
    )
    alert.refresh_from_db()
    assert (alert.poll_question, alert.poll_options) == ("", [])


@pytest.mark.parametrize(
    ("question", "options", "field", "error"),
    [
        ("Have you seen this van?", "", "poll_options", "Give at least 2 answers, one per line."),
        ("Have you seen this van?", "Yes", "poll_options", "Give at least 2 answers, one per line."),
        ("", "Yes\nNo", "poll_question", "Write the poll&#x27;s question, or remove its answers to send no poll."),
        ("Seen it?", "\n".join("ABCDEFG"), "poll_options", "Give at most 6 answers."),
        ("Seen it?", "Yes\n" + "n" * 121, "poll_options", "Keep each answer to 120 characters: they are buttons."),
        ("Seen it?", "Yes\nyes", "poll_options", "is there twice: each answer must be different."),
        ("x" * 301, "Yes\nNo", "poll_question", "Ensure this value has at most 300 characters"),
    ],
)
def test_a_half_written_or_oversized_poll_is_refused_on_the_form(
    client, officer, kent, question, options, field, error
):
    client.force_login(officer)
    response = client.post(
        "/alerts/manage/new/",
        {**MESSAGE, "areas": [kent["north"].pk], "poll_question": question, "poll_options": options, "action": "save"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'class="error-summary"' in page
    assert f'id="id_{field}_error"' in page and error in page
    assert "A white van was seen near three burgled homes." in page  # nothing typed is lost
    assert not Alert.objects.exists()


def test_checking_the_audience_does_not_wait_for_the_poll(client, officer, kent, north_resident):
    client.force_login(officer)
    response = client.post(
        "/alerts/manage/new/",
        {"priority": "3", "areas": [kent["north"].pk], "poll_question": "Seen it?", "action": "check"},
    )
    assert response.status_code == 200 and 'id="audience-members">1<' in response.content.decode()


def test_the_service_refuses_a_poll_whatever_the_way_in(draft, officer):
    alert = draft()
    with pytest.raises(ValidationError) as refused:
        alert_edit(actor=officer, alert=alert, poll_options=["Yes", "No"])
    assert refused.value.message_dict == {
        "poll_question": ["Write the poll's question, or remove its answers to send no poll."]
    }
    with pytest.raises(ValidationError) as refused:
        alert_edit(actor=officer, alert=alert, poll_question="Seen it?", poll_options="Yes\nNo")
    assert refused.value.message_dict == {"poll_options": ["The poll's answers must be a list."]}
    alert.refresh_from_db()
    assert (alert.poll_question, alert.poll_options) == ("", [])


# --- publishing


def test_publishing_attaches_one_poll_and_the_email_carries_the_residents_own_links(
    client, committed, officer, draft, north_resident
):
    alert = draft(**POLL)

    dispatch = committed(alert_publish, actor=officer, alert=alert)

    (poll,) = Poll.objects.all()
    assert poll.dispatch_id == dispatch.pk and poll.organisation_id == officer.organisation_id
    assert poll.question == "Have you seen this van?"
    assert list(poll.options.values_list("label", flat=True)) == ["Yes", "No", "Not sure"]
    (sent,) = [m for m in mail.outbox if m.to == [north_resident.email]]
    links = poll_links(sent.body, POLL["poll_options"])
    assert list(links) == ["Yes", "No", "Not sure"]
    html = sent.alternatives[0][0].replace("&amp;", "&")
    assert "Have you seen this van?" in sent.body and all(link in html for link in links.values())
    email_copy = Delivery.objects.get(dispatch=dispatch, member=north_resident, channel="email")
    for label, link in links.items():
        option = poll.options.get(label=label)
        assert link.rstrip("/").rsplit("/", 1)[1] == poll_link_token(delivery_id=email_copy.pk, option_id=option.pk)

    client.post("/" + links["No"].split("/", 3)[3])  # the resident's tap, confirmed
    assert PollVote.objects.get().option.label == "No"


def test_an_alert_without_a_poll_gets_none(committed, officer, draft, north_resident):
    committed(alert_publish, actor=officer, alert=draft())
    assert not Poll.objects.exists()
    (sent,) = [m for m in mail.outbox if m.to == [north_resident.email]]
    assert "/polls/answer/" not in sent.body


def test_the_poll_and_the_alert_go_out_together_or_not_at_all(monkeypatch, committed, officer, draft, north_resident):
    """The poll is written in the publishing transaction: if it fails, nothing is sent or published."""
    import surveys.services

    def broken(**kwargs):
        surveys.services.poll_create(
            actor=kwargs["actor"], question="q", options=["a", "b"], dispatch=kwargs["dispatch"]
        )
        raise ValidationError("The poll could not be attached.")

    monkeypatch.setattr(surveys.services, "poll_for_alert", broken)
    alert = draft(**POLL)

    with pytest.raises(ValidationError):
        committed(alert_publish, actor=officer, alert=alert)

    alert.refresh_from_db()
    assert (alert.status, alert.dispatch_id) == ("draft", None)
    assert not Dispatch.objects.exists() and not Poll.objects.exists() and not Delivery.objects.exists()
    assert mail.outbox == []


def test_a_scheduled_alert_carries_its_poll_when_its_time_comes(committed, officer, draft, north_resident):
    alert = draft(**POLL)
    send_at = timezone.now() + timedelta(hours=2)

    dispatch = alert_schedule(actor=officer, alert=alert, send_at=send_at)

    assert Poll.objects.get().dispatch_id == dispatch.pk  # there before anything is sent
    later = send_at + timedelta(seconds=30)
    assert dispatch_sweep(now=later)["dispatches_fanned_out"] == 1
    committed(dispatch_fan_out, dispatch_id=dispatch.pk, now=later)
    (sent,) = [m for m in mail.outbox if m.to == [north_resident.email]]
    assert list(poll_links(sent.body, POLL["poll_options"])) == ["Yes", "No", "Not sure"]


def test_publishing_from_the_page_then_the_officer_sees_the_results_live(
    client, committed, officer, draft, north_resident
):
    alert = draft(**POLL)
    client.force_login(officer)
    committed(client.post, path=f"/alerts/manage/{alert.pk}/publish/")
    poll = Poll.objects.get(dispatch__alert=alert)
    poll_vote(member=north_resident, poll=poll, option_id=poll.options.get(label="Yes").pk)

    page = client.get(f"/alerts/manage/{alert.pk}/").content.decode()

    assert "Quick poll: Have you seen this van?" in page
    assert "1 answer so far" in page and '<th scope="row">Yes</th><td>1</td>' in page
    assert '<th scope="row">No</th><td>0</td>' in page
    assert f'hx-get="/polls/{poll.pk}/"' in page  # refreshed as answers come in


# --- the API


@pytest.fixture
def api(officer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=officer)[0].key}")
    return client


def api_body(kent, **fields) -> dict:
    return {
        "kind": "alert",
        "category": "burglary",
        "priority": 2,
        "title": "A white van on Elm Road",
        "body_markdown": "A white van was seen near three burgled homes.",
        "audience": {"include": [{"area": kent["north"].pk}]},
    } | fields


def test_the_api_writes_a_draft_with_a_poll_and_publishing_attaches_it(api, committed, kent, north_resident):
    created = api.post("/api/v1/alerts/", api_body(kent, **POLL), format="json")

    assert created.status_code == 201, created.json()
    assert (created.json()["poll_question"], created.json()["poll_options"]) == (
        POLL["poll_question"],
        POLL["poll_options"],
    )
    alert = Alert.objects.get()
    committed(api.post, path=f"/api/v1/alerts/{alert.pk}/publish/", format="json")
    assert Poll.objects.get().dispatch_id == Alert.objects.get().dispatch_id


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"poll_question": "Seen it?"}, {"poll_options": ["Give at least 2 answers, one per line."]}),
        ({"poll_question": "Seen it?", "poll_options": ["Yes"]},
         {"poll_options": ["Give at least 2 answers, one per line."]}),
        ({"poll_question": "", "poll_options": ["Yes", "No"]},
         {"poll_question": ["Write the poll's question, or remove its answers to send no poll."]}),
        ({"poll_question": "Seen it?", "poll_options": list("ABCDEFG")},
         {"poll_options": ["Ensure this field has no more than 6 elements."]}),
        ({"poll_question": "Seen it?", "poll_options": ["Yes", "n" * 121]},
         {"poll_options": {"1": ["Ensure this field has no more than 120 characters."]}}),
    ],
)  # fmt: skip
def test_the_api_refuses_a_bad_poll_by_field(api, kent, fields, errors):
    refused = api.post("/api/v1/alerts/", api_body(kent, **fields), format="json")
    assert (refused.status_code, refused.json()) == (400, errors)
    assert not Alert.objects.exists()


def test_the_api_changes_a_drafts_poll_and_checks_it_against_what_is_there(api, kent):
    alert_id = api.post("/api/v1/alerts/", api_body(kent), format="json").json()["id"]
    half = api.patch(f"/api/v1/alerts/{alert_id}/", {"poll_options": ["Yes", "No"]}, format="json")
    assert (half.status_code, half.json()) == (
        400,
        {"poll_question": ["Write the poll's question, or remove its answers to send no poll."]},
    )
    whole = api.patch(f"/api/v1/alerts/{alert_id}/", POLL, format="json")
    assert whole.status_code == 200 and whole.json()["poll_options"] == POLL["poll_options"]


def test_the_poll_is_in_the_api_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    for name in ("AlertWriteRequest", "PatchedAlertWriteRequest"):
        write = components[name]["properties"]
        assert write["poll_question"]["maxLength"] == 300
        assert write["poll_options"]["maxItems"] == 6 and write["poll_options"]["items"]["maxLength"] == 120
    assert {"poll_question", "poll_options"} <= set(components["AlertOutput"]["required"])
