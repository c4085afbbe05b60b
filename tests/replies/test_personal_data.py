"""A resident's replies and ratings are in their data download; erasing the account leaves
the replies with the force, attached to a tombstone that identifies nobody."""

import pytest

from members.services import member_erase, member_export
from replies.models import Message, Rating, Thread
from replies.services import rating_set, reply_create, thread_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(resident, officer, alert, send_alert):
    first = reply_create(resident=resident, dispatch=alert, body="I saw a van").thread
    thread_answer(officer=officer, thread=first, body="Thank you")
    rating_set(resident=resident, dispatch=alert, score=4)
    urgent = reply_create(resident=resident, dispatch=send_alert(resident, subject="Second"), body="a knife").thread
    return first, urgent


def test_the_data_download_has_the_conversations_and_ratings(resident, conversation):
    data = member_export(member=resident, actor=resident)["replies"]

    first = data["conversations"][0]
    assert (first["organisation"], first["about"], first["status"]) == ("Kent Police", "Burglaries on Elm Road", "open")
    assert [(m["from"], m["text"]) for m in first["messages"]] == [("you", "I saw a van"), ("Kent Police", "Thank you")]
    assert len(data["conversations"]) == 2
    assert [(r["about"], r["score"]) for r in data["ratings"]] == [("Burglaries on Elm Road", 4)]
    assert data["answers_written_as_officer"] == []


def test_an_officers_download_has_the_answers_they_wrote(officer, conversation):
    data = member_export(member=officer, actor=officer)["replies"]
    assert [a["text"] for a in data["answers_written_as_officer"]] == ["Thank you"]
    assert data["conversations"] == [] and data["ratings"] == []


def test_erasure_keeps_the_words_with_the_force_and_closes_what_nobody_can_answer(
    client, resident, officer, conversation
):
    first, urgent = conversation

    member_erase(member=resident, actor=resident)

    first.refresh_from_db()
    urgent.refresh_from_db()
    assert first.resident_id == resident.pk and first.status == "closed" and first.awaiting_since is None
    assert urgent.status == "open" and urgent.urgent  # still for the duty officer to decide
    assert set(Message.objects.filter(from_resident=True).values_list("body", flat=True)) == {"I saw a van", "a knife"}
    assert Rating.objects.get().resident_id == resident.pk
    client.force_login(officer)
    page = client.get(f"/replies/{first.pk}/").content.decode()
    assert "deleted their account" in page and "resident@example.org" not in page
    assert 'name="answer-body"' not in page  # nobody to answer
    assert Thread.objects.count() == 2
