"""Replies with scripts, event handlers or `javascript:` links are stored as plain text
with the markup gone, and are escaped again wherever they are shown: they never run."""

import json

import pytest

from notifications.models import Delivery
from replies.models import Message, ReplySettings, Thread
from replies.text import plain_text

pytestmark = pytest.mark.django_db

HOSTILE = (
    'Hello <script>alert("x")</script>officer\n'
    '<img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">click me</a> '
    '<svg onload=alert(3)></svg><iframe src="https://evil.example"></iframe>'
    "&lt;script&gt;alert(4)&lt;/script&gt; 3 < 5 & 7 > 6"
)
STORED = "Hello officer\nclick me  3 < 5 & 7 > 6"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (HOSTILE, STORED),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        ("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;", ""),
        ("Fish & chips < £5", "Fish & chips < £5"),
        ("line one\r\nline two\u202e", "line one\nline two"),
        ('<p style="x" onclick="y">para</p>', "para"),
    ],
)
def test_plain_text_keeps_the_words_and_drops_every_tag(raw, stored):
    assert plain_text(raw) == stored


def test_a_hostile_reply_is_stored_clean_and_shown_escaped_everywhere(
    client, resident, officer, organisation, alert, mailoutbox, django_capture_on_commit_callbacks
):
    ReplySettings.objects.create(organisation=organisation, duty_email="duty@kent.police.example")
    client.force_login(resident)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": HOSTILE + " gun"})

    stored = Message.objects.get().body
    assert stored == STORED + " gun"
    for bad in ("<script", "onerror", "onload", "javascript:", "<iframe", "<img", "<svg", "<a "):
        assert bad not in stored.lower()
    thread = Thread.objects.get()

    pages = {
        "message page": client.get(f"/inbox/{Delivery.objects.get(member=resident).pk}/").content.decode(),
        "conversation": client.get(f"/replies/mine/{thread.pk}/").content.decode(),
        "resident API": client.get(f"/api/v1/replies/mine/{thread.pk}/").content.decode(),
    }
    client.force_login(officer)
    pages["officer thread"] = client.get(f"/replies/{thread.pk}/").content.decode()
    pages["officer inbox"] = client.get("/replies/").content.decode()
    pages["officer API"] = client.get(f"/api/v1/replies/threads/{thread.pk}/").content.decode()
    pages["duty email (HTML)"] = mailoutbox[0].alternatives[0][0]
    for where, html in pages.items():
        if "API" in where:
            assert json.dumps(stored)[1:-1] in html, where  # plain text in JSON, for the client to escape
            continue
        assert "3 &lt; 5 &amp; 7 &gt; 6" in html, where
        for bad in ("<script>alert", "onerror=", "javascript:alert", "<iframe"):
            assert bad not in html, where


def test_an_officers_answer_is_cleaned_the_same_way(client, officer, resident, alert):
    thread = Thread.objects.create(organisation=alert.organisation, dispatch=alert, resident=resident)
    client.force_login(officer)

    client.post(f"/replies/{thread.pk}/answer/", {"answer-body": '<a href="javascript:steal()">Call us</a> on 101'})

    assert Message.objects.get().body == "Call us on 101"


def test_a_reply_that_is_only_markup_is_empty(client, resident, alert):
    client.force_login(resident)
    response = client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "<script>alert(1)</script>"})
    assert response.status_code == 400 and "Write your message." in response.content.decode()
    assert not Message.objects.exists()
