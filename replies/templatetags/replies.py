"""Template tags of replies: the resident's panel under a message, and the officers' nav counts.

`{% load replies %}{% reply_panel dispatch %}` shows a resident, under a message they
were sent, how to rate it and their private conversation about it. Under the notice
that an officer answered ("Kent Police answered your message"), it shows that
conversation, so the resident can answer straight back. It shows nothing to anyone
else, or under messages that are not for answering.

`{% reply_nav_counts as counts %}` gives an officer their organisation's urgent and
unread thread counts (one query), for the nav.
"""

from __future__ import annotations

from django import template

from notifications.models import Dispatch
from replies import selectors
from replies.forms import RatingForm, ReplyForm
from replies.models import Message
from replies.permissions import is_replyable, is_resident

register = template.Library()


def panel_context(*, member, dispatch: Dispatch, reply_form=None, rating_form=None) -> dict:
    """What replies/_panel.html needs (also used by the pages that show a form's errors)."""
    if not is_resident(member=member):
        return {"show": False}
    notice = dispatch.source_type == Message._meta.label_lower
    if notice:
        # "Kent Police answered your message": the conversation it is about.
        message = (
            Message.objects.select_related("thread__dispatch__organisation")
            .filter(pk=dispatch.source_id, thread__resident=member)
            .first()
            if dispatch.source_id.isdigit()
            else None
        )
        if message is None:
            return {"show": False}
        thread, dispatch = message.thread, message.thread.dispatch
    else:
        thread = selectors.thread_for_dispatch(member=member, dispatch=dispatch)
    can_reply = is_replyable(dispatch=dispatch)
    if not can_reply and thread is None:
        return {"show": False}
    rateable = can_reply and not notice
    rating = selectors.rating_of(member=member, dispatch=dispatch) if rateable else None
    organisation = dispatch.organisation
    return {
        "show": True,
        "dispatch": dispatch,
        "organisation": organisation,
        "thread": thread,
        "conversation": list(selectors.thread_messages(thread=thread)) if thread else [],
        "rateable": rateable,
        "can_reply": can_reply,
        "rating": rating,
        "rating_form": rating_form or RatingForm(initial={"score": rating.score if rating else None}),
        "reply_form": reply_form or ReplyForm(organisation_name=organisation.name),
    }


@register.inclusion_tag("replies/_panel.html", takes_context=True)
def reply_panel(context, dispatch: Dispatch) -> dict:
    request = context.get("request")
    if request is None or dispatch is None:
        return {"show": False}
    return {**panel_context(member=request.user, dispatch=dispatch), "csrf_token": context.get("csrf_token")}


@register.simple_tag(takes_context=True)
def reply_nav_counts(context) -> dict[str, int]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"urgent": 0, "unread": 0}
    return selectors.reply_nav_counts(viewer=request.user)
