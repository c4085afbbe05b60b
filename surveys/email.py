"""A quick poll in an email: one signed link per option, personalised per delivery.

`poll_email_block(dispatch)` is the hook notifications/channels.py would call once per
dispatch (None when the message has no poll); the function it returns is called per
delivery and gives the text and HTML to put under the message. Signing a token is a few
microseconds, so personalising a million emails stays cheap. Until channels.py calls it
(see the surveys report), emails carry the message's link and residents answer in the app.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from notifications.models import Delivery, Dispatch

from .selectors import poll_for_dispatch
from .views import poll_link_token


def poll_email_block(dispatch: Dispatch) -> Callable[[Delivery], tuple[str, str]] | None:
    """For a dispatch with an open poll: a function of a delivery giving (text, html)."""
    poll = poll_for_dispatch(dispatch_id=dispatch.pk)
    if poll is None or not poll.is_open():
        return None
    options = [(o.pk, o.label) for o in poll.options.all()]
    question = poll.question

    def block(delivery: Delivery) -> tuple[str, str]:
        links = [
            (label, urljoin(settings.SITE_URL, reverse("surveys:poll_link", kwargs={
                "token": poll_link_token(delivery_id=delivery.pk, option_id=pk)})))
            for pk, label in options
        ]  # fmt: skip
        text = "\n".join([question, *(f"{label}: {url}" for label, url in links)])
        buttons = " ".join(
            f'<a href="{escape(url)}" style="display:inline-block;padding:8px 16px;margin:4px;'
            f'background:#00703c;color:#ffffff;text-decoration:none;font-weight:bold">{escape(label)}</a>'
            for label, url in links
        )
        html = f"<p><strong>{escape(question)}</strong></p><p>{buttons}</p>"
        return text, html

    return block
