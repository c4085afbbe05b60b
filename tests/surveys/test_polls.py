"""Quick polls on a message: buttons in the app's copy, a signed link per option for the
email (confirmed with one more tap, so mail scanners do not vote), live results."""

from __future__ import annotations

import pytest

from notifications.models import Delivery
from surveys import services
from surveys.models import PollVote
from surveys.views import poll_link_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(officer, town, northerner, southerner, django_capture_on_commit_callbacks):
    from notifications.services import dispatch_publish

    with django_capture_on_commit_callbacks(execute=True):
        dispatch = dispatch_publish(
            organisation=officer.organisation, source_type="alerts.alert", source_id="1", subject="Car break-ins",
            body_text="Three cars were broken into.", audience={"include": [{"area": town.north.pk}]},
        )  # fmt: skip
        poll = services.poll_create(actor=officer, question="Have you seen this van?", options=["Yes", "No"],
                                    dispatch=dispatch)  # fmt: skip
    return dispatch, poll


def test_the_poll_shows_on_the_message_and_one_tap_answers_it(client, northerner, message):
    dispatch, poll = message
    inbox_copy = Delivery.objects.get(dispatch=dispatch, member=northerner, channel="inbox")
    client.force_login(northerner)
    page = client.get(f"/inbox/{inbox_copy.pk}/").content.decode()
    yes = poll.options.get(label="Yes")
    assert "Have you seen this van?" in page
    assert f'name="option" value="{yes.pk}"' in page

    tapped = client.post(f"/polls/{poll.pk}/vote/", {"option": yes.pk, "next": f"/inbox/{inbox_copy.pk}/"})

    assert tapped.status_code == 302 and tapped["Location"] == f"/inbox/{inbox_copy.pk}/"
    assert PollVote.objects.get().option == yes
    page = client.get(f"/inbox/{inbox_copy.pk}/").content.decode()
    assert "Your answer: <strong>Yes</strong>" in page and "1 answer so far" in page
    # A "next" pointing elsewhere is not followed.
    away = client.post(f"/polls/{poll.pk}/vote/", {"option": yes.pk, "next": "https://evil.example/"})
    assert away["Location"] == f"/polls/{poll.pk}/"


def test_the_email_link_asks_to_confirm_then_counts_without_signing_in(client, northerner, message):
    dispatch, poll = message
    email_copy = Delivery.objects.get(dispatch=dispatch, member=northerner, channel="email")
    no = poll.options.get(label="No")
    url = f"/polls/answer/{poll_link_token(delivery_id=email_copy.pk, option_id=no.pk)}/"

    shown = client.get(url)  # what a mail scanner does: nothing is counted
    assert shown.status_code == 200 and "Your answer: <strong>No</strong>" in shown.content.decode()
    assert not PollVote.objects.exists()

    confirmed = client.post(url)
    assert confirmed.status_code == 200
    assert "your answer, <strong>No</strong>, is counted" in confirmed.content.decode()
    assert PollVote.objects.get().member == northerner

    forged = url.replace("/polls/answer/", "/polls/answer/x")
    assert client.get(forged).status_code == 404


def test_only_recipients_see_and_answer_the_poll(client, southerner, officer_other_org, message):
    _, poll = message
    client.force_login(southerner)
    assert client.get(f"/polls/{poll.pk}/").status_code == 404
    assert client.post(f"/polls/{poll.pk}/vote/", {"option": poll.options.first().pk}).status_code == 404
    client.force_login(officer_other_org)
    assert client.get(f"/polls/{poll.pk}/").status_code == 404
    assert not PollVote.objects.exists()


def test_officers_see_the_poll_results_live(client, officer, northerner, message):
    _, poll = message
    services.poll_vote(member=northerner, poll=poll, option_id=poll.options.get(label="Yes").pk)
    client.force_login(officer)
    page = client.get(f"/polls/{poll.pk}/").content.decode()
    assert "1 answer so far" in page and '<th scope="row">Yes</th><td>1</td>' in page
    fragment = client.get(f"/polls/{poll.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 20s"' in fragment and "<h1>" not in fragment


def test_each_email_gets_its_own_link_per_option_and_they_work(client, northerner, message):
    from surveys.email import poll_email_block

    dispatch, _poll = message
    email_copy = Delivery.objects.get(dispatch=dispatch, member=northerner, channel="email")

    text, html = poll_email_block(dispatch)(email_copy)

    lines = text.splitlines()
    assert lines[0] == "Have you seen this van?"
    assert [line.split(": ")[0] for line in lines[1:]] == ["Yes", "No"]
    yes_url = lines[1].split(": ", 1)[1]
    assert yes_url.startswith("http") and yes_url in html.replace("&amp;", "&")
    path = "/" + yes_url.split("/", 3)[3]
    client.post(path)
    assert PollVote.objects.get().option.label == "Yes"
    # A message without a poll gets nothing.
    assert poll_email_block(type(dispatch).objects.create(
        organisation=dispatch.organisation, source_type="alerts.alert", source_id="2", subject="x", body_text="x"
    )) is None  # fmt: skip


def test_the_alerts_email_itself_carries_the_residents_own_poll_links(client, northerner, message):
    """The email the pipeline sent (not just the block on its own) has the links signed for
    this resident's delivery, in both parts, and they answer the poll."""
    from django.core import mail

    dispatch, _poll = message
    (sent,) = [m for m in mail.outbox if m.to == [northerner.email] and "Car break-ins" in m.subject]
    html = sent.alternatives[0][0]
    assert "Have you seen this van?" in sent.body and "Have you seen this van?" in html
    yes = next(line for line in sent.body.splitlines() if line.startswith("Yes: ")).split(": ", 1)[1]
    assert yes in html.replace("&amp;", "&")
    email_copy = Delivery.objects.get(dispatch=dispatch, member=northerner, channel="email")
    assert token_of(yes) == poll_link_token(delivery_id=email_copy.pk, option_id=_poll.options.get(label="Yes").pk)

    client.post("/" + yes.split("/", 3)[3])
    assert PollVote.objects.get().option.label == "Yes"


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]
