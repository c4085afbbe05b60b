"""A resident's inbox: the messages sent to them in the app, newest first."""

from __future__ import annotations

import nh3
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from . import selectors, services
from .models import Delivery


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.inbox_for(member=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
@require_safe
def message(request: HttpRequest, pk: int) -> HttpResponse:
    """One message of the member's own inbox; opening it marks it read."""
    try:
        delivery = services.delivery_mark_read(member=request.user, delivery_id=pk)
    except Delivery.DoesNotExist as exc:
        raise Http404("No such message in your inbox.") from exc
    dispatch = delivery.dispatch
    # Cleaned again on the way out, whatever wrote it: the inbox shows officers' HTML.
    body = nh3.clean(dispatch.body_html) if dispatch.body_html else linebreaks(dispatch.body_text)
    link = dispatch.url if dispatch.url.startswith(("https://", "http://")) else ""
    return render(
        request,
        "notifications/message.html",
        {"delivery": delivery, "dispatch": dispatch, "body": mark_safe(body), "link": link},  # noqa: S308
    )
