"""A reply with a trigger word (knife, suicide, …) is urgent: it goes to the top of the
reply inbox and is emailed to the organisation's duty inbox as soon as it is saved."""

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from core.models import AuditEvent
from replies.models import Message, ReplySettings, Thread
from replies.services import escalation_sweep, message_escalate, reply_create
from replies.text import trigger_words_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def duty(organisation):
    return ReplySettings.objects.create(organisation=organisation, duty_email="duty@kent.police.example")


def test_a_trigger_word_escalates_to_the_duty_inbox_at_once(
    client, resident, alert, duty, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(resident)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/replies/message/{alert.pk}/reply/", {"reply-body": "My neighbour has a Knife and a gun."})

    thread, message = Thread.objects.get(), Message.objects.get()
    assert thread.urgent and thread.urgent_since is not None
    assert message.urgent and message.trigger_words == ["gun", "knife"] and message.escalated_at is not None
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["duty@kent.police.example"]
    assert "URGENT" in mail.subject and "gun, knife" in mail.subject
    assert "My neighbour has a Knife and a gun." in mail.body and resident.get_full_name() in mail.body
    assert f"/replies/{thread.pk}/" in mail.body
    event = AuditEvent.objects.get(action="replies.thread.escalated")
    assert (event.target_id, event.actor_role, event.data["trigger_words"]) == (
        str(thread.pk),
        "system",
        ["gun", "knife"],
    )

    # Escalating the same message again (a redelivered task, the sweep) sends nothing.
    assert message_escalate(message_id=message.pk) is False
    assert escalation_sweep(now=timezone.now() + timedelta(minutes=5)) == 0
    assert len(mailoutbox) == 1


def test_without_a_duty_address_the_force_admins_are_emailed(
    resident, alert, force_admin, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply_create(resident=resident, dispatch=alert, body="I am thinking about suicide")

    assert [m.to for m in mailoutbox] == [[force_admin.email]]


def test_ordinary_replies_are_not_escalated(resident, alert, duty, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reply_create(resident=resident, dispatch=alert, body="The gunnery club has begun its season; thanks!")

    assert not Thread.objects.get().urgent and mailoutbox == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("He said he would KILL   MYSELF", ["kill myself"]),
        ("kill\nmyself", ["kill myself"]),
        ("a knife-crime talk", ["knife"]),
        ("knives, guns.", ["guns", "knives"]),
        ("begun, shotgunning, penknife", []),
        ("self-harm and self harm", ["self harm", "self-harm"]),
        ("", []),
    ],
)
def test_trigger_words_match_whole_words_and_phrases_in_any_case(text, found, settings):
    assert trigger_words_in(text, settings.REPLY_TRIGGER_WORDS) == found


def test_an_organisations_own_words_replace_the_standard_list(
    client, force_admin, resident, alert, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(force_admin)
    client.post("/replies/settings/", {"trigger_words": "county lines\ncuckooing", "duty_email": "duty@kent.example"})

    with django_capture_on_commit_callbacks(execute=True):
        reply_create(resident=resident, dispatch=alert, body="There is a knife but also County  Lines dealing")

    assert Message.objects.get().trigger_words == ["county lines"]
    assert [m.to for m in mailoutbox] == [["duty@kent.example"]]


def test_the_sweep_sends_escalations_the_broker_never_delivered(resident, alert, duty, mailoutbox):
    # Written without running the commit hooks: as if the broker was down when it committed.
    message = reply_create(resident=resident, dispatch=alert, body="He has a machete")
    assert message.escalated_at is None and mailoutbox == []

    assert escalation_sweep(now=timezone.now()) == 0  # not yet: its own task may still come
    assert escalation_sweep(now=timezone.now() + timedelta(minutes=2)) == 1

    assert [m.to for m in mailoutbox] == [["duty@kent.police.example"]]
    message.refresh_from_db()
    assert message.escalated_at is not None
    assert escalation_sweep(now=timezone.now() + timedelta(minutes=3)) == 0
    assert len(mailoutbox) == 1


def test_a_failed_email_is_tried_again_later(resident, alert, duty, settings, mailoutbox):
    message = reply_create(resident=resident, dispatch=alert, body="a gun")
    settings.MAILERS = {"default": {"BACKEND": "tests.replies.test_escalation.BrokenBackend"}}

    with pytest.raises(OSError, match="Connection refused"):
        message_escalate(message_id=message.pk)

    message.refresh_from_db()
    assert message.escalated_at is None  # the sweep will pick it up again
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert message_escalate(message_id=message.pk) is True
    assert len(mailoutbox) == 1


class BrokenBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise OSError("Connection refused")


def test_the_urgent_view_leads_the_inbox(client, officer, resident, other_resident, alert):
    reply_create(resident=other_resident, dispatch=alert, body="A normal reply")
    reply_create(resident=resident, dispatch=alert, body="There is a bomb")
    client.force_login(officer)

    urgent = client.get("/replies/?view=urgent").content.decode()

    assert "There is a bomb" in urgent and "A normal reply" not in urgent
    assert "Urgent</span>" in urgent
