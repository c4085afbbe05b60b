"""Each member's copy of an alert email is assembled from the dispatch's one rendering,
without the email package per message; it must be the same email a resident would get
the slow way: same headers, same text and HTML, once decoded."""

import email
import email.policy

import pytest

from notifications.channels import DispatchEmail, DispatchMessage
from notifications.models import Delivery
from notifications.services import dispatch_fan_out

pytestmark = pytest.mark.django_db

HEADERS = ("From", "To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted")


@pytest.fixture
def copies(wards, place, make_dispatch):
    """An alert with non-ASCII text, quotes, a long line and a trailing space, to two residents."""
    place(0.01, 51.01, first_name="Zoë")
    place(0.02, 51.02, first_name="O'Brien & Sons")
    body = (
        "Café on the High St — “broken window”. " * 6 + "\nLine with trailing space \n. A line that starts with a dot"
    )
    dispatch = make_dispatch({"include": [{"area": wards[0].pk}]}, subject="Über-urgent: vans seen", body_text=body)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    rendered = DispatchEmail.render(dispatch)
    deliveries = Delivery.objects.filter(dispatch=dispatch, channel="email").select_related("member")
    link = f"https://mcv.example/p/{'x' * 90}/"
    return rendered, [
        rendered.message_for(delivery=d, name=d.member.first_name, preferences_url=link) for d in deliveries
    ]


def slow_way(message: DispatchMessage) -> email.message.EmailMessage:
    message.wire = None
    return message.message(policy=email.policy.SMTP)


def test_the_assembled_copy_is_the_same_email_as_the_email_package_builds(copies):
    _, copies = copies
    assert len(copies) == 2
    for message in copies:
        wire = message.message(policy=email.policy.SMTP).as_bytes()
        assert message.wire is not None and wire == message.wire  # the fast path was taken
        fast = email.message_from_bytes(wire, policy=email.policy.default)
        slow = email.message_from_bytes(slow_way(message).as_bytes(), policy=email.policy.default)

        for header in HEADERS:
            assert str(fast[header]) == str(slow[header]), header
        assert fast.get_content_type() == "multipart/alternative"
        for kind in ("plain", "html"):
            assert fast.get_body((kind,)).get_content() == slow.get_body((kind,)).get_content()
        assert fast.get_body(("plain",)).get_content().replace("\r\n", "\n") == message.body
        assert fast.get_body(("html",)).get_content().replace("\r\n", "\n") == message.alternatives[0].content
        # SMTP's limits: CRLF line ends only, no line longer than 998 characters.
        assert b"\n" not in wire.replace(b"\r\n", b"")
        assert max(len(line) for line in wire.split(b"\r\n")) <= 998


def test_a_non_ascii_address_is_left_to_the_email_package(copies):
    rendered, (message, _) = copies
    values = {"message_id": "<1@x>", "preferences_url": "https://mcv.example/p/1/", "text": "Hi", "html": "<p>Hi</p>"}
    assert rendered.wire(to="zoe@example.org", **values) is not None
    assert rendered.wire(to="zoë@example.org", **values) is None
    message.to, message.wire = ["zoë@example.org"], None
    built = email.message_from_bytes(message.message(policy=email.policy.SMTP).as_bytes(), policy=email.policy.default)
    assert built.get_content_type() == "multipart/alternative"
