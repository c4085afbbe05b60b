"""A resident opens an alert in their inbox, rates it and replies privately; the answer comes back."""

import re

import pytest

from notifications.models import Delivery, Dispatch
from replies.models import Message, Rating, Thread
from replies.services import thread_answer, thread_close

pytestmark = pytest.mark.django_db


def inbox_copy(member, dispatch) -> Delivery:
    return Delivery.objects.get(member=member, dispatch=dispatch, channel="inbox")


def test_the_message_page_offers_a_rating_and_a_private_reply(client, resident, alert):
    client.force_login(resident)

    page = client.get(f"/inbox/{inbox_copy(resident, alert).pk}/").content.decode()

    assert "Was this message useful?" in page
    for score, label in [(1, "1 – Not useful"), (3, "3 – Useful"), (5, "5 – Extremely useful")]:
        assert re.search(
            rf'<input type="radio" name="rating-score" value="{score}"[^>]*id="id_rating-score_{score - 1}"', page
        )
        assert f'<label for="id_rating-score_{score - 1}">{label}</label>' in page
    assert f'action="/replies/message/{alert.pk}/rate/"' in page
    assert f'action="/replies/message/{alert.pk}/reply/"' in page
    assert "Only you and officers of Kent Police can read this." in page


def test_rating_works_without_javascript_and_can_be_changed(client, resident, alert):
    client.force_login(resident)
    message_page = f"/inbox/{inbox_copy(resident, alert).pk}/"
    assert not Rating.objects.exists()

    response = client.post(f"/replies/message/{alert.pk}/rate/", {"rating-score": "4"})

    assert response.status_code == 302 and response["Location"] == message_page
    page = client.get(message_page).content.decode()
    assert "Thank you. You rated this message 4 out of 5." in page
    assert re.search(r'<input type="radio" name="rating-score" value="4"[^>]*checked', page)

    client.post(f"/replies/message/{alert.pk}/rate/", {"rating-score": "2"})

    assert list(Rating.objects.values_list("resident__email", "score")) == [(resident.email, 2)]


def test_a_rating_outside_one_to_five_is_refused_with_a_clear_error(client, resident, alert):
    client.force_login(resident)

    response = client.post(f"/replies/message/{alert.pk}/rate/", {"rating-score": "9"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="error-summary"' in page and "Select a valid choice" in page
    assert not Rating.objects.exists()


def test_a_reply_starts_a_private_thread_with_the_organisation(client, resident, other_resident, officer, alert):
    client.force_login(resident)
    message_page = f"/inbox/{inbox_copy(resident, alert).pk}/"

    response = client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "I saw a white van at 2am."})

    assert response.status_code == 302 and response["Location"] == message_page
    thread = Thread.objects.get()
    assert (thread.resident, thread.dispatch, thread.organisation_id) == (resident, alert, alert.organisation_id)
    assert thread.status == "open" and thread.awaiting_since is not None and thread.unread
    page = client.get(message_page).content.decode()
    assert "Your message was sent to Kent Police." in page
    assert "I saw a white van at 2am." in page

    # The other resident got the same alert, and sees nothing of it.
    client.force_login(other_resident)
    assert "white van" not in client.get(f"/inbox/{inbox_copy(other_resident, alert).pk}/").content.decode()
    assert "white van" not in client.get("/replies/mine/").content.decode()
    assert client.get(f"/replies/mine/{thread.pk}/").status_code == 404


def test_an_empty_reply_shows_the_error_and_loses_nothing(client, resident, alert):
    client.force_login(resident)
    long_text = "x" * 5001

    empty = client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "   "})
    too_long = client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": long_text})

    assert empty.status_code == 400
    assert 'class="error-summary"' in empty.content.decode()
    assert 'href="#id_reply-body"' in empty.content.decode() and "Write your message." in empty.content.decode()
    assert too_long.status_code == 400
    assert long_text in too_long.content.decode()  # what they typed is still in the box
    assert not Message.objects.exists()


def test_only_residents_who_were_sent_an_answerable_message_may_reply(
    client, resident, other_resident, officer, send_alert, settings
):
    only_other = send_alert(other_resident)
    survey_invitation = send_alert(resident, source_type="surveys.survey")
    mine = send_alert(resident)

    client.force_login(resident)
    assert client.post(f"/replies/message/{only_other.pk}/reply/", {"reply-body": "Hi"}).status_code == 404
    assert client.post(f"/replies/message/{survey_invitation.pk}/reply/", {"reply-body": "Hi"}).status_code == 404
    assert client.post(f"/replies/message/{only_other.pk}/rate/", {"rating-score": "3"}).status_code == 404
    client.force_login(officer)
    assert client.post(f"/replies/message/{mine.pk}/reply/", {"reply-body": "Hi"}).status_code == 403
    assert not Message.objects.exists() and not Rating.objects.exists()

    settings.REPLY_SOURCE_TYPES = ["alerts.alert", "surveys.survey"]
    client.force_login(resident)
    assert client.post(f"/replies/message/{survey_invitation.pk}/reply/", {"reply-body": "Hi"}).status_code == 302


def test_a_resident_who_got_it_by_email_only_comes_back_to_their_conversation(client, resident, send_alert):
    by_email = send_alert(resident, channel="email")
    client.force_login(resident)

    response = client.post(f"/replies/message/{by_email.pk}/reply/", {"reply-body": "Thanks"})

    thread = Thread.objects.get()
    assert response["Location"] == f"/replies/mine/{thread.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Thanks" in page and "Burglaries on Elm Road" in page


def test_an_answer_reaches_the_resident_through_the_pipeline_and_they_can_answer_back(
    client, resident, officer, alert, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(resident)
    client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "Was it on Elm Road?"})
    thread = Thread.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        answer = thread_answer(officer=officer, thread=thread, body="Yes, numbers 2 to 10.")

    notice = Dispatch.objects.get(source_type="replies.message")
    assert (notice.source_id, notice.organisation_id) == (str(answer.pk), alert.organisation_id)
    assert notice.subject == "Kent Police answered your message"
    assert notice.audience["include"] == [{"members": [resident.pk]}]
    assert notice.url.endswith(f"/replies/mine/{thread.pk}/")
    assert "numbers 2 to 10" not in notice.body_text  # the answer itself stays off email and SMS
    notified = Delivery.objects.get(dispatch=notice, member=resident, channel="inbox")
    assert [m.to for m in mailoutbox] == [[resident.email]]
    thread.refresh_from_db()
    assert thread.awaiting_since is None and thread.assignee == officer

    page = client.get(f"/inbox/{notified.pk}/").content.decode()
    assert "Your conversation with Kent Polic" in page
    assert "Yes, numbers 2 to 10." in page and "Was it on Elm Road?" in page
    assert f'action="/replies/message/{alert.pk}/reply/"' in page  # answering back goes to the same thread
    assert "Was this message useful?" not in page  # the notice is not an alert to rate

    response = client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "Thank you."})
    assert response.status_code == 302
    assert list(thread.messages.values_list("body", flat=True)) == [
        "Was it on Elm Road?",
        "Yes, numbers 2 to 10.",
        "Thank you.",
    ]


def test_replying_to_a_closed_thread_opens_it_again(client, resident, officer, alert):
    client.force_login(resident)
    client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "First"})
    thread = thread_close(actor=officer, thread=Thread.objects.get())
    assert thread.status == "closed" and thread.awaiting_since is None

    client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "One more thing"})

    thread.refresh_from_db()
    assert thread.status == "open" and thread.awaiting_since is not None and thread.closed_at is None
    assert Thread.objects.count() == 1


def test_a_resident_lists_their_own_conversations(
    client, resident, other_resident, send_alert, django_assert_max_num_queries, settings
):
    settings.REPLY_MAX_PER_HOUR = 100
    alerts = [send_alert(resident, other_resident, subject=f"Alert number {i}") for i in range(30)]
    client.force_login(resident)
    for alert in alerts:
        client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "Mine"})
    client.force_login(other_resident)
    client.post(f"/replies/message/{alerts[0].pk}/reply/", {"reply-body": "Theirs"})
    client.force_login(resident)

    with django_assert_max_num_queries(8):
        page = client.get("/replies/mine/").content.decode()

    assert "Alert number 29" in page and "Alert number 5" in page and "Alert number 4" not in page  # 25 a page
    assert "Page 1 of 2" in page
    assert "Alert number 4" in client.get("/replies/mine/?page=2").content.decode()


def test_too_many_replies_in_an_hour_are_refused(client, resident, alert, settings):
    settings.REPLY_MAX_PER_HOUR = 2
    client.force_login(resident)
    for text in ("one", "two"):
        assert client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": text}).status_code == 302

    third = client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "three"})

    assert third.status_code == 400
    assert "please wait a while before sending more" in third.content.decode()
    assert "three" in third.content.decode()
    assert Message.objects.count() == 2
