"""Template tags other apps' pages use to show a survey's or a poll's part."""

from __future__ import annotations

from django import template
from django.urls import reverse

from notifications.models import Delivery, Dispatch

from .. import selectors
from ..models import Survey
from ..results import charts_visible_to_resident

register = template.Library()


@register.inclusion_tag("surveys/_message_extras.html", takes_context=True)
def message_extras(context, delivery: Delivery, dispatch: Dispatch) -> dict:
    """On a resident's message: the survey it invites them to (a button to answer), or
    the quick poll attached to it (a button per option). One query either way."""
    request = context.get("request")
    member = getattr(request, "user", None)
    extras: dict = {"request": request, "csrf_token": context.get("csrf_token")}
    if dispatch.source_type == Survey._meta.label_lower:
        survey = Survey.objects.filter(pk=dispatch.source_id, organisation_id=dispatch.organisation_id).first()
        if survey is not None and member is not None and member.is_authenticated:
            answered = selectors.has_answered(member=member, survey=survey)
            extras.update(
                survey=survey,
                survey_open=survey.is_open(),
                answered=answered,
                results_link=reverse("surveys:published_results", kwargs={"pk": survey.pk})
                if charts_visible_to_resident(survey=survey) or survey.summary_published_at
                else "",
            )
        return extras
    poll = selectors.poll_for_dispatch(dispatch_id=dispatch.pk)
    if poll is not None:
        extras.update(
            poll=poll,
            vote=selectors.poll_vote_of(member=member, poll=poll),
            counts=selectors.poll_counts(poll=poll),
        )
    return extras


@register.inclusion_tag("surveys/_poll_results.html")
def poll_results_for(dispatch: Dispatch) -> dict:
    """For an officer's alert page: the live results of the alert's quick poll, if it has one.

    `{% load surveys %}{% poll_results_for alert_dispatch %}`
    """
    poll = selectors.poll_for_dispatch(dispatch_id=dispatch.pk) if dispatch is not None else None
    if poll is None:
        return {"poll": None}
    return {"poll": poll, "counts": selectors.poll_counts(poll=poll)}
