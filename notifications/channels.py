"""Channel backends: how a batch of deliveries leaves the building, and what came of each.

A backend takes one dispatch and a batch of its deliveries on one channel, and yields
an outcome per delivery as it goes (so the caller can record outcomes while the
batch is still running, and a crash loses the record of only the last few):

* `Sent(provider_id)`: handed over; the provider's id if it gave one;
* `TemporaryFailure(error)`: try again later (a 4xx from SMTP, a timeout, Notify's
  rate limit or a 5xx);
* `PermanentFailure(error)`: do not try again (a 5xx from SMTP, an invalid number).

Backends render the message once per dispatch and personalise each copy cheaply
(string replacement, never a template render per member). Which SMS backend runs is
the SMS_BACKEND setting; email goes through the DISPATCH_MAILER entry of MAILERS.
Web push is notifications/push.py's PushChannel (pywebpush, VAPID keys from settings).
"""

from __future__ import annotations

import binascii
import contextlib
import dataclasses
import email.message
import email.policy
import logging
import secrets
import smtplib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.core.mail import mailers
from django.template.loader import render_to_string
from django.utils.html import escape, linebreaks
from django.utils.module_loading import import_string

from core.email import UnfoldedHeadersEmail

from .personalise import blocks_for

if TYPE_CHECKING:
    from .models import Delivery, Dispatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    provider_id: str = ""


@dataclass(frozen=True)
class TemporaryFailure:
    error: str


@dataclass(frozen=True)
class PermanentFailure:
    error: str


Outcome = Sent | TemporaryFailure | PermanentFailure


class ChannelBackend(Protocol):
    def send(self, *, dispatch: Dispatch, deliveries: Sequence[Delivery]) -> Iterator[tuple[Delivery, Outcome]]:
        """Send the dispatch to each delivery's member; yield each delivery with its outcome."""
        ...


def _short(error: object) -> str:
    text = str(error).replace("\n", " ").strip() or type(error).__name__
    return text[:300]


PRIORITY_LABELS = {1: "Urgent", 2: "High priority", 3: "", 4: "", 5: ""}


# --- email


class WireMessage:
    """A message already in its wire form: what `DispatchMessage.message()` returns.

    Django's backends only call `as_bytes()` on it (SMTP, file, console); anything
    else parses the bytes with the standard library, as the slow path would have
    built them.
    """

    def __init__(self, wire: bytes) -> None:
        self.wire = wire

    def as_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        return self.wire

    def __bytes__(self) -> bytes:
        return self.wire

    def __getattr__(self, name: str) -> Any:
        parsed = email.message_from_bytes(self.wire, policy=email.policy.default)
        return getattr(parsed, name)

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__("__getitem__")(name)


class DispatchMessage(UnfoldedHeadersEmail):
    """One member's copy of a dispatch's email (the long List-Unsubscribe header must
    not fold into encoded-words: core.email's class).

    `wire`, when DispatchEmail set it, is this very message as bytes, assembled from
    the dispatch's one rendering: `message()` returns it instead of building the MIME
    tree again through the email package, which costs 5 ms a message (bench/fanout.py),
    more than handing the message to the SMTP server.
    """

    wire: bytes | None = None

    def message(self, *, policy: email.policy.Policy = email.policy.default) -> Any:
        if self.wire is None:
            return super().message(policy=policy)
        return WireMessage(self.wire)


_PART = (
    b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
)


def _quoted_printable(text: str) -> bytes:
    """A body part as quoted-printable with CRLF line ends (binascii: C, not the email package)."""
    data = binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True)
    return data.replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class DispatchEmail:
    """A dispatch rendered once as an email, with markers where each member's details go.

    The templates are rendered with a random marker standing for the member's name
    and another for their settings link; each copy is then a few `str.replace` calls.
    HTML copies get the values escaped. The markers are random per dispatch, so
    nothing an officer writes can collide with them.
    """

    subject: str
    text: str
    html: str
    from_email: str
    domain: str
    name_marker: str
    link_marker: str
    # The headers every copy shares, as bytes with markers for the recipient, the
    # Message-ID and the link (see `wire`), and the MIME boundary they announce.
    head: bytes = b""
    boundary: bytes = b""
    to_marker: str = ""
    id_marker: str = ""
    # Parts that differ per recipient (notifications.personalise), put where the marker is.
    blocks: tuple = ()
    block_marker: str = ""

    @classmethod
    def render(cls, dispatch: Dispatch) -> DispatchEmail:
        name_marker, link_marker = f"mcv{secrets.token_hex(8)}", f"mcv{secrets.token_hex(8)}"
        blocks = tuple(blocks_for(dispatch))
        block_marker = f"mcv{secrets.token_hex(8)}" if blocks else ""
        # The publisher stores sanitised HTML; cleaning it again here (once per
        # dispatch) means no future publisher can put a script in a resident's mail.
        body_html = nh3.clean(dispatch.body_html) if dispatch.body_html else linebreaks(dispatch.body_text)
        context = {
            "dispatch": dispatch,
            "organisation": dispatch.organisation,
            "priority_label": PRIORITY_LABELS.get(dispatch.priority, ""),
            "body_html": body_html,
            "member_name": name_marker,
            "preferences_url": link_marker,
            "personal_block": block_marker,
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
        }
        _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        rendered = cls(
            subject=" ".join(render_to_string("notifications/email/dispatch_subject.txt", context).split()),
            text=render_to_string("notifications/email/dispatch_message.txt", context),
            html=render_to_string("notifications/email/dispatch_message.html", context),
            # "Kent Police via My Community Voice" <no-reply@…>: residents see who is speaking.
            from_email=formataddr((f"{dispatch.organisation.name} via {settings.SITE_NAME}", address)),
            domain=urlsplit(settings.SITE_URL).hostname or "localhost",
            name_marker=name_marker,
            link_marker=link_marker,
            blocks=blocks,
            block_marker=block_marker,
        )
        return rendered._with_head()

    def _with_head(self) -> DispatchEmail:
        """Build the shared headers once, through Django and the email package exactly as
        a message of its own would have them (encoded subject and sender, Date,
        MIME-Version, the multipart boundary), with markers where each copy differs."""
        to_marker, id_marker = f"mcv{secrets.token_hex(8)}@invalid.invalid", f"mcv{secrets.token_hex(8)}"
        sample = DispatchMessage(
            subject=self.subject,
            body="",
            from_email=self.from_email,
            to=[to_marker],
            headers=self._headers(message_id=id_marker, preferences_url=self.link_marker),
        )
        sample.attach_alternative("", "text/html")
        raw = sample.message(policy=email.policy.SMTP).as_bytes()
        head = raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
        boundary = email.message_from_bytes(raw, policy=email.policy.default).get_boundary()
        return dataclasses.replace(
            self, head=head, boundary=boundary.encode(), to_marker=to_marker, id_marker=id_marker
        )

    def _headers(self, *, message_id: str, preferences_url: str) -> dict[str, str]:
        return {
            # The delivery's uuid: a copy sent again after a crash carries the same id.
            "Message-ID": message_id,
            # RFC 8058 one-click unsubscribe. The link is the member's signed settings
            # page; answering the one-click POST there is the unsubscribe work still to do.
            "List-Unsubscribe": f"<{preferences_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # RFC 3834: tells auto-responders not to answer (replies go through the app).
            "Auto-Submitted": "auto-generated",
        }

    def wire(self, *, to: str, message_id: str, preferences_url: str, text: str, html: str) -> bytes | None:
        """One copy on the wire: the shared headers with this member's three values, then
        the two bodies, quoted-printable. None (build it the slow way) when a value is
        not plain ASCII and needs the email package's encoding."""
        if not (self.head and to.isascii() and preferences_url.isascii() and message_id.isascii()):
            return None
        head = (
            self.head.replace(self.to_marker.encode(), to.encode())
            .replace(self.id_marker.encode(), message_id.encode())
            .replace(self.link_marker.encode(), preferences_url.encode())
        )
        dash = b"--" + self.boundary
        return b"".join(
            (
                head,
                dash,
                b"\r\n",
                _PART % b"plain",
                _quoted_printable(text),
                b"\r\n",
                dash,
                b"\r\n",
                _PART % b"html",
                _quoted_printable(html),
                b"\r\n",
                dash,
                b"--\r\n",
            )
        )

    def message_for(self, *, delivery: Delivery, name: str, preferences_url: str) -> DispatchMessage:
        text = self.text.replace(self.name_marker, name).replace(self.link_marker, preferences_url)
        html = self.html.replace(self.name_marker, escape(name)).replace(self.link_marker, escape(preferences_url))
        if self.blocks:
            parts = [block(delivery) for block in self.blocks]
            text = text.replace(self.block_marker, "\n\n".join(t for t, _ in parts))
            html = html.replace(self.block_marker, "".join(h for _, h in parts))
        message_id = f"<{delivery.uuid}@{self.domain}>"
        message = DispatchMessage(
            subject=self.subject,
            body=text,
            from_email=self.from_email,
            to=[delivery.member.email],
            headers=self._headers(message_id=message_id, preferences_url=preferences_url),
        )
        message.attach_alternative(html, "text/html")
        message.wire = self.wire(
            to=delivery.member.email, message_id=message_id, preferences_url=preferences_url, text=text, html=html
        )
        return message


def _smtp_outcome(exc: Exception) -> Outcome:
    """4xx is temporary, 5xx permanent, anything about the connection or our own set-up temporary.

    A rejected sender, a failed login or a broken connection says nothing about this
    recipient: failing the delivery for it would lose a message to a fixable mistake,
    so those are retried (and give up after DISPATCH_MAX_ATTEMPTS like any other).
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (450, b"refused"))
    elif isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
        exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError | smtplib.SMTPHeloError
    ):
        code, reply = exc.smtp_code, exc.smtp_error
    else:
        return TemporaryFailure(_short(exc))
    reply = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    error = _short(f"{code} {reply}")
    return PermanentFailure(error) if 500 <= code < 600 else TemporaryFailure(error)


class EmailChannel:
    """Email through Django's mailers: one connection per batch, one message per delivery."""

    def __init__(self, *, mailer: str | None = None) -> None:
        self.mailer = mailer or settings.DISPATCH_MAILER

    def send(self, *, dispatch: Dispatch, deliveries: Sequence[Delivery]) -> Iterator[tuple[Delivery, Outcome]]:
        from members.links import preferences_link_url

        rendered = DispatchEmail.render(dispatch)
        connection = mailers[self.mailer]
        try:
            connection.open()
        except Exception as exc:  # whatever the backend raises, the batch waits
            for delivery in deliveries:
                yield delivery, TemporaryFailure(_short(f"cannot connect: {exc}"))
            return
        try:
            for i, delivery in enumerate(deliveries):
                member = delivery.member
                message = rendered.message_for(
                    delivery=delivery,
                    name=member.first_name or "there",
                    preferences_url=preferences_link_url(member=member),
                )
                lost = None
                try:
                    # Sent one at a time on the open connection, so each gets its own outcome.
                    connection.send_messages([message])
                except smtplib.SMTPServerDisconnected as exc:
                    lost = exc
                except smtplib.SMTPException as exc:  # the server answered: this message's own fate
                    yield delivery, _smtp_outcome(exc)
                    continue
                except OSError as exc:  # a socket error or timeout (smtplib's errors are OSErrors too)
                    lost = exc
                if lost is not None:
                    # Whether it arrived is unknown: it goes again (same Message-ID) later.
                    yield delivery, TemporaryFailure(_short(lost))
                    if not self._reopen(connection):
                        for rest in deliveries[i + 1 :]:
                            yield rest, TemporaryFailure(_short(f"connection lost: {lost}"))
                        return
                    continue
                # With django-anymail the provider's id is there; plain SMTP gives none.
                status = getattr(message, "anymail_status", None)
                yield delivery, Sent(provider_id=str(getattr(status, "message_id", "") or "")[:100])
        finally:
            connection.close()

    @staticmethod
    def _reopen(connection: Any) -> bool:
        # A dead connection may fail to close; it is dropped anyway.
        with contextlib.suppress(Exception):
            connection.close()
        try:
            connection.open()
        except Exception:
            logger.warning("Email connection could not be reopened; the rest of the batch will be retried.")
            return False
        return True


# --- SMS


def sms_text(dispatch: Dispatch) -> str:
    """The text message for a dispatch (once per dispatch): who, what, and the link.

    At most SMS_MAX_CHARS characters (306 by default: two fragments), the body cut
    to fit; the link always survives the cut.
    """
    limit = settings.SMS_MAX_CHARS
    head = f"{dispatch.organisation.name}: {dispatch.subject}"
    tail = f"\n{dispatch.url}" if dispatch.url else ""
    room = limit - len(head) - len(tail) - 1
    body = " ".join(dispatch.body_text.split())
    if room <= 1:
        return (head[: max(0, limit - len(tail))] + tail)[:limit]
    if len(body) > room:
        body = body[: room - 1].rstrip() + "…"
    return f"{head}\n{body}{tail}" if body else f"{head}{tail}"


class ConsoleSMSBackend:
    """Development and tests: texts go to the log, never to a phone."""

    def send(self, *, dispatch: Dispatch, deliveries: Sequence[Delivery]) -> Iterator[tuple[Delivery, Outcome]]:
        text = sms_text(dispatch)
        for delivery in deliveries:
            logger.info("SMS to %s (delivery %s):\n%s", delivery.member.phone, delivery.uuid, text)
            yield delivery, Sent(provider_id=f"console-{delivery.uuid}")


class NotifySMSBackend:
    """GOV.UK Notify: https://docs.notifications.service.gov.uk/python.html

    NOTIFY_API_KEY and NOTIFY_SMS_TEMPLATE_ID come from settings; the template's
    content is just `((body))`. The delivery's uuid goes as Notify's `reference`, so a
    text sent twice after a crash can be matched in Notify's records.

    Notify answers 400 for a bad request (an invalid number: permanent), 403 for a bad
    key or clock (our set-up: retried, so fixing it loses nothing), 429 for the rate
    limit and 5xx for its own trouble (temporary). `client` is for tests.
    """

    def __init__(self, *, client: Any = None) -> None:
        if client is None:
            from notifications_python_client.notifications import NotificationsAPIClient

            client = NotificationsAPIClient(settings.NOTIFY_API_KEY)
        self.client = client

    def send(self, *, dispatch: Dispatch, deliveries: Sequence[Delivery]) -> Iterator[tuple[Delivery, Outcome]]:
        from notifications_python_client.errors import APIError

        text = sms_text(dispatch)
        for delivery in deliveries:
            try:
                response = self.client.send_sms_notification(
                    phone_number=str(delivery.member.phone),
                    template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
                    personalisation={"body": text},
                    reference=str(delivery.uuid),
                )
            except APIError as exc:
                error = _short(f"Notify {exc.status_code}: {exc.message}")
                yield delivery, PermanentFailure(error) if exc.status_code == 400 else TemporaryFailure(error)
                continue
            except Exception as exc:  # a network error or a bug: try again later
                yield delivery, TemporaryFailure(_short(exc))
                continue
            yield delivery, Sent(provider_id=str(response.get("id", ""))[:100])


def channel_backend(channel: str) -> ChannelBackend:
    """The backend for a channel, as configured. The inbox has none (see the module)."""
    if channel == "email":
        return EmailChannel()
    if channel == "sms":
        return import_string(settings.SMS_BACKEND)()
    if channel == "push":
        from .push import PushChannel

        return PushChannel()
    raise ValueError(f"No backend sends the {channel} channel.")
