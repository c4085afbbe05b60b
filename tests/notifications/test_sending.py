"""Sending a batch: one rendering, one connection, a stable Message-ID per delivery,
the unsubscribe headers; temporary errors retried with backoff, permanent ones failed;
a second run sends nothing."""

import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone
from notifications_python_client.errors import HTTPError

from members.links import preferences_link_member
from members.models import OrganisationOptIn, Preferences
from notifications.channels import NotifySMSBackend, sms_text
from notifications.models import Delivery
from notifications.services import delivery_batch_send, dispatch_cancel, dispatch_fan_out

from .conftest import CountingBackend, everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(wards, place, make_dispatch):
    """A priority 3 alert to North Ward's three residents, fanned out, not yet sent."""
    members = [
        place(0.01, 51.01, first_name="Ada"),
        place(0.02, 51.02, first_name="Ben"),
        place(0.03, 51.03, first_name="Cal"),
    ]
    dispatch = make_dispatch({"include": [{"area": wards[0].pk}]})
    dispatch_fan_out(dispatch_id=dispatch.pk)
    return dispatch, members


def emails(dispatch):
    return {
        d.member.email: d for d in Delivery.objects.filter(dispatch=dispatch, channel="email").select_related("member")
    }


def test_a_batch_sends_each_email_once_over_one_connection(alert, counting_mailer, mailoutbox):
    dispatch, members = alert

    result = delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    assert result == {"sent": 3}
    assert CountingBackend.connections_opened == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members)
    for message in mailoutbox:
        delivery = emails(dispatch)[message.to[0]]
        member = delivery.member
        link = message.extra_headers["List-Unsubscribe"].strip("<>")
        assert link.startswith("http://127.0.0.1:8000/p/")
        assert preferences_link_member(token=link.rsplit("/", 2)[-2]) == member  # the member's own signed link
        assert message.extra_headers["Message-ID"] == f"<{delivery.uuid}@127.0.0.1>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.subject == "Burglaries on Elm Road"
        assert message.from_email == "Kent Police via My Community Voice <no-reply@localhost>"
        assert f"Hello {member.first_name}," in message.body
        assert link in message.body and "https://mcv.example/alerts/1/" in message.body
        html = message.alternatives[0].content
        assert f'href="{link}"' in html and f"Hello {member.first_name}," in html
        # On the wire the URL stays a URL: not folded into RFC 2047 encoded-words.
        raw = message.message().as_bytes()
        assert f"List-Unsubscribe: <{link}>".encode() in raw
        assert f"Message-ID: <{delivery.uuid}@127.0.0.1>".encode() in raw
    assert all(d.status == "sent" and d.attempts == 1 and d.sent_at for d in emails(dispatch).values())
    # The counter does see connections: sending without holding one open makes one per message.
    for message in mailoutbox[:2]:
        CountingBackend().send_messages([message])
    assert CountingBackend.connections_opened == 3


def test_running_the_same_batch_again_sends_nothing(alert, counting_mailer, mailoutbox):
    dispatch, _ = alert
    delivery_batch_send(dispatch_id=dispatch.pk, **everything())
    assert len(mailoutbox) == 3

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {}

    assert len(mailoutbox) == 3
    assert CountingBackend.connections_opened == 1  # the second run did not even connect


def test_a_batch_takes_only_its_own_range(alert, mailoutbox):
    dispatch, _ = alert
    ids = sorted(Delivery.objects.filter(dispatch=dispatch, channel="email").values_list("pk", flat=True))

    assert delivery_batch_send(dispatch_id=dispatch.pk, first_id=ids[0], last_id=ids[1]) == {"sent": 2}
    assert Delivery.objects.get(pk=ids[2]).status == "pending"


def test_names_and_links_are_escaped_in_html_and_nothing_the_officer_wrote_runs(
    wards, place, make_dispatch, mailoutbox
):
    member = place(0.01, 51.01, first_name='<b>"Jo"</b>')
    dispatch = make_dispatch(
        {"include": [{"area": wards[0].pk}]},
        body_html='<p onclick="steal()">Lock up</p><script>steal()</script><a href="javascript:steal()">x</a>',
    )
    dispatch_fan_out(dispatch_id=dispatch.pk)
    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    (message,) = mailoutbox
    html = message.alternatives[0].content
    assert "Hello &lt;b&gt;&quot;Jo&quot;&lt;/b&gt;," in html
    assert "<script>" not in html and "onclick" not in html and "javascript:" not in html
    assert "Lock up" in html
    assert f"Hello {member.first_name}," in message.body  # plain text is not HTML


def test_a_temporary_error_is_retried_with_backoff_and_then_arrives(alert, flaky_mailer, mailoutbox):
    dispatch, members = alert
    flaky_mailer.failures[members[0].email] = [
        smtplib.SMTPRecipientsRefused({members[0].email: (451, b"4.3.0 Try again later")})
    ]
    before = timezone.now()

    result = delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    assert result == {"sent": 2, "retry": 1}
    delivery = emails(dispatch)[members[0].email]
    assert (delivery.status, delivery.attempts) == ("retry", 1)
    assert delivery.error == "451 4.3.0 Try again later"
    # First retry after about a minute (60 s, jittered by up to a fifth either way).
    assert before + timedelta(seconds=47) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=73)

    # Not due yet: a re-run leaves it alone.
    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {}
    # Once due, the next run sends it.
    due = delivery.next_attempt_at + timedelta(seconds=1)
    assert delivery_batch_send(dispatch_id=dispatch.pk, now=due, **everything()) == {"sent": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members)


def test_a_permanent_error_fails_the_delivery_and_is_never_retried(alert, flaky_mailer, mailoutbox):
    dispatch, members = alert
    address = members[1].email
    flaky_mailer.failures[address] = [smtplib.SMTPDataError(550, b"5.1.1 No such user")]

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {"sent": 2, "failed": 1}

    delivery = emails(dispatch)[address]
    assert (delivery.status, delivery.error, delivery.next_attempt_at) == ("failed", "550 5.1.1 No such user", None)
    later = timezone.now() + timedelta(days=1)
    assert delivery_batch_send(dispatch_id=dispatch.pk, now=later, **everything()) == {}
    assert address not in [m.to[0] for m in mailoutbox]
    dispatch.refresh_from_db()
    assert dispatch.status == "done"  # failed is final: nothing left to send


def test_backoff_doubles_and_gives_up_after_the_last_attempt(alert, flaky_mailer, settings):
    settings.DISPATCH_MAX_ATTEMPTS = 3
    dispatch, members = alert
    address = members[2].email
    flaky_mailer.failures[address] = [smtplib.SMTPRecipientsRefused({address: (452, b"mailbox full")})] * 3
    now = timezone.now()
    delays = []
    for _ in range(3):
        delivery_batch_send(dispatch_id=dispatch.pk, now=now, **everything())
        delivery = emails(dispatch)[address]
        if delivery.next_attempt_at:
            delays.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at

    assert 48 <= delays[0] <= 72 and 96 <= delays[1] <= 144
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.error == "Gave up after 3 attempts: 452 mailbox full"


def test_a_dropped_connection_retries_that_message_and_carries_on(alert, flaky_mailer, mailoutbox):
    dispatch, _members = alert
    ordered = sorted(emails(dispatch).values(), key=lambda d: d.pk)
    first = ordered[0].member.email
    flaky_mailer.failures[first] = [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")]

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {"sent": 2, "retry": 1}
    assert CountingBackend.connections_opened == 2  # reopened once, then reused
    assert emails(dispatch)[first].status == "retry"


def test_the_sender_errors_are_retried_not_failed(alert, flaky_mailer):
    # A refused sender or a failed login is our set-up, not the resident's address.
    dispatch, members = alert
    flaky_mailer.failures[members[0].email] = [smtplib.SMTPSenderRefused(550, b"sender denied", "no-reply@localhost")]
    flaky_mailer.failures[members[1].email] = [smtplib.SMTPAuthenticationError(535, b"bad credentials")]

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {"sent": 1, "retry": 2}


def test_a_member_who_withdrew_meanwhile_gets_nothing(alert, organisation, mailoutbox):
    dispatch, members = alert
    OrganisationOptIn.objects.filter(member=members[0], organisation=organisation).delete()
    Preferences.objects.filter(member=members[1]).update(channel_email=False)

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {"sent": 1, "cancelled": 2}
    assert [m.to[0] for m in mailoutbox] == [members[2].email]


def test_a_withdrawn_dispatch_sends_nothing_more(alert, mailoutbox):
    dispatch, _ = alert
    assert dispatch_cancel(dispatch_id=dispatch.pk) == 3

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {}
    assert mailoutbox == []
    dispatch.refresh_from_db()
    assert dispatch.status == "cancelled"
    # The inbox copies stay: they were delivered when the alert went out.
    assert set(Delivery.objects.filter(dispatch=dispatch).values_list("channel", "status")) == {
        ("inbox", "sent"),
        ("email", "cancelled"),
    }


# --- SMS


@pytest.fixture
def texted(wards, place, make_dispatch):
    members = [
        place(0.01, 51.01, phone="+447700900001", channel_sms=True, channel_email=False, sms_lowest_priority=5),
        place(0.02, 51.02, phone="+447700900002", channel_sms=True, channel_email=False, sms_lowest_priority=5),
        place(0.03, 51.03, phone="+447700900003", channel_sms=True, channel_email=False, sms_lowest_priority=5),
    ]
    dispatch = make_dispatch({"include": [{"area": wards[0].pk}]}, priority=2)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    return dispatch, members


def test_the_console_backend_logs_texts_by_default(texted, caplog):
    dispatch, _ = texted
    with caplog.at_level("INFO", logger="notifications.channels"):
        assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {"sent": 3}
    sms = Delivery.objects.filter(dispatch=dispatch, channel="sms")
    assert {d.provider_id for d in sms} == {f"console-{d.uuid}" for d in sms}
    assert caplog.text.count("Kent Police: Burglaries on Elm Road") == 3


class FakeResponse:
    def __init__(self, status_code, message):
        self.status_code = status_code
        self.message = message

    def json(self):
        return {"errors": [{"error": "Error", "message": self.message}]}


class FakeNotifyClient:
    """Stands in for NotificationsAPIClient: records calls, answers as Notify does."""

    def __init__(self, errors=None):
        self.calls = []
        self.errors = errors or {}

    def send_sms_notification(self, *, phone_number, template_id, personalisation=None, reference=None):
        self.calls.append(
            {
                "phone_number": phone_number,
                "template_id": template_id,
                "personalisation": personalisation,
                "reference": reference,
            }
        )
        if phone_number in self.errors:
            raise HTTPError(FakeResponse(*self.errors[phone_number]))
        return {"id": f"notify-{len(self.calls)}", "reference": reference}


FAKE_NOTIFY = FakeNotifyClient()


class FakeNotifyBackend(NotifySMSBackend):
    def __init__(self):
        super().__init__(client=FAKE_NOTIFY)


def test_gov_uk_notify_gets_the_delivery_uuid_as_reference_and_errors_map_to_retry_or_failed(texted, settings):
    dispatch, _members = texted
    settings.SMS_BACKEND = "tests.notifications.test_sending.FakeNotifyBackend"
    settings.NOTIFY_SMS_TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"
    FAKE_NOTIFY.calls = []
    FAKE_NOTIFY.errors = {
        "+447700900002": (400, "phone_number Not a UK mobile number"),
        "+447700900003": (429, "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
    }

    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {"sent": 1, "failed": 1, "retry": 1}

    by_phone = {str(d.member.phone): d for d in Delivery.objects.filter(channel="sms").select_related("member")}
    assert {c["phone_number"]: c["reference"] for c in FAKE_NOTIFY.calls} == {
        phone: str(d.uuid) for phone, d in by_phone.items()
    }
    assert {c["template_id"] for c in FAKE_NOTIFY.calls} == {settings.NOTIFY_SMS_TEMPLATE_ID}
    assert FAKE_NOTIFY.calls[0]["personalisation"] == {"body": sms_text(dispatch)}
    sent = by_phone["+447700900001"]
    assert sent.status == "sent" and sent.provider_id.startswith("notify-")
    failed = by_phone["+447700900002"]
    assert failed.status == "failed" and failed.error.startswith("Notify 400: ")
    retry = by_phone["+447700900003"]
    assert retry.status == "retry" and retry.error.startswith("Notify 429: ") and retry.next_attempt_at


def test_a_notify_outage_or_network_error_is_temporary(texted):
    dispatch, _ = texted
    deliveries = list(Delivery.objects.filter(channel="sms").select_related("member").order_by("pk"))

    class Broken:
        def send_sms_notification(self, **kwargs):
            if kwargs["phone_number"].endswith("1"):
                raise HTTPError(FakeResponse(500, "Internal server error"))
            raise ConnectionResetError("reset by peer")

    outcomes = list(NotifySMSBackend(client=Broken()).send(dispatch=dispatch, deliveries=deliveries))

    assert [type(o).__name__ for _, o in outcomes] == ["TemporaryFailure"] * 3


def test_a_text_keeps_to_two_fragments_and_keeps_its_link(make_dispatch, wards):
    dispatch = make_dispatch({"include": []}, body_text="word " * 200, subject="Missing person: Jane, 14")
    text = sms_text(dispatch)
    assert len(text) <= 306
    assert text.startswith("Kent Police: Missing person: Jane, 14\nword word")
    assert text.endswith("…\nhttps://mcv.example/alerts/1/")
