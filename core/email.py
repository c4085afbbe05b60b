"""Sending one email to one member, from templates, with the footer every message carries."""

from __future__ import annotations

import email.message
import email.policy

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


class UnfoldedHeadersEmail(EmailMultiAlternatives):
    """An email whose header lines may run to RFC 5322's 998 characters.

    Python folds headers at 78, and a List-Unsubscribe URL longer than that with no
    space to fold at comes out as RFC 2047 encoded-words, which mail clients do not
    read as a URL. Only the top-level headers' folding changes; the bodies' encoding
    is already chosen by then.
    """

    def message(self, *, policy: email.policy.Policy = email.policy.default) -> email.message.EmailMessage:
        msg = super().message(policy=policy)
        msg.policy = msg.policy.clone(max_line_length=998)
        return msg


def member_email_send(*, member, template: str, context: dict | None = None) -> None:
    """Render `<template>_subject.txt`, `_message.txt` and `_message.html` and send them.

    Every message carries the signed link to the member's settings (in the footer
    and as the List-Unsubscribe header), so stopping unwanted mail never needs a
    password.
    """
    from members.links import preferences_link_url

    link = preferences_link_url(member=member)
    ctx = {
        "member": member,
        "preferences_url": link,
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        **(context or {}),
    }
    subject = render_to_string(f"{template}_subject.txt", ctx).strip()
    message = UnfoldedHeadersEmail(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=render_to_string(f"{template}_message.txt", ctx),
        to=[member.email],
        headers={"List-Unsubscribe": f"<{link}>"},
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", ctx), "text/html")
    message.send()
