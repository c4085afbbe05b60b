"""Template helpers of alerts: what lies behind a message in the inbox, and who coordinates a group."""

from __future__ import annotations

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def alert_for_dispatch(dispatch):
    """`{% alert_for_dispatch dispatch as about %}`: {"alert", "update"} or {"group_message"}, or None."""
    if dispatch is None or not str(getattr(dispatch, "source_type", "")).startswith("alerts."):
        return None
    return selectors.alert_for_dispatch(dispatch=dispatch)


@register.simple_tag(takes_context=True)
def coordinates_a_group(context) -> bool:
    """`{% coordinates_a_group as is_coordinator %}`: whether the member signed in coordinates any group
    (one indexed query, only for residents), for the "Group messages" link in the navigation."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_officer:
        return False
    return selectors.groups_coordinated_by(member=user).exists()
