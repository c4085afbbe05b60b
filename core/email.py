"""Sending one email to one member, from templates, with the footer every message carries."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


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
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=render_to_string(f"{template}_message.txt", ctx),
        to=[member.email],
        headers={"List-Unsubscribe": f"<{link}>"},
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", ctx), "text/html")
    message.send()
