"""A resident's inbox (the messages sent to them in the app, newest first), and the
browser's side of web push: the service worker, and turning push on or off on a device."""

from __future__ import annotations

import json
from functools import cache

import nh3
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import push, selectors, services
from .models import Delivery

# A browser's subscription is a few hundred bytes.
PUSH_SUBSCRIPTION_MAX_BYTES = 4096


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


# --- web push


@cache
def _service_worker_source() -> bytes:
    with open(finders.find("js/sw.js"), "rb") as source:
        return source.read()


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/js/sw.js, served from the root so that its scope is the whole site: it shows
    pushes and opens their message when clicked. Not cached long: browsers must see a new one."""
    response = HttpResponse(_service_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@login_required
@require_http_methods(["POST", "DELETE"])
def push_subscriptions(request: HttpRequest) -> HttpResponse:
    """A browser turning push on or off for the signed-in resident (static/js/push.js).

    POST the browser's `PushSubscription.toJSON()`: 201 for a new device, 200 for one
    already known (keys renewed). DELETE `{"endpoint": …}`: 204, or 404 if that browser
    is not one of theirs. Errors are JSON `{"error": "…"}` the page shows as they are.
    """
    if len(request.body) > PUSH_SUBSCRIPTION_MAX_BYTES:
        return JsonResponse({"error": "That is too large to be a browser's subscription."}, status=413)
    try:
        data = json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"error": "Send the subscription as JSON."}, status=400)
    if request.method == "DELETE":
        endpoint = data.get("endpoint") if isinstance(data, dict) else None
        if not isinstance(endpoint, str) or not push.push_subscription_delete(member=request.user, endpoint=endpoint):
            return JsonResponse({"error": "This browser is not getting notifications for your account."}, status=404)
        # Shown on the settings page, which the script reloads.
        messages.success(request, "Notifications are off for this device.")
        return HttpResponse(status=204)
    try:
        subscription, created = push.push_subscription_save(
            member=request.user, data=data, user_agent=request.headers.get("User-Agent", "")
        )
    except PermissionDenied as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    messages.success(request, f"Notifications are on for this device ({subscription.label}).")
    return JsonResponse({"id": subscription.pk, "device": subscription.label}, status=201 if created else 200)


@csrf_exempt  # no cookies and no session: the old subscription's secret is the proof
@require_POST
def push_subscription_renew(request: HttpRequest) -> HttpResponse:
    """The service worker replacing a subscription the push service renewed (sw.js,
    `pushsubscriptionchange`), which can happen while no page of the site is open.

    POST `{"old": {"endpoint", "auth"}, "new": PushSubscription.toJSON()}`: 200, or 403
    if `old` is not a subscription of this site, 400 for a new one that cannot work, 409
    if the new one is another account's browser by now (it stays theirs).
    """
    if len(request.body) > 2 * PUSH_SUBSCRIPTION_MAX_BYTES:
        return JsonResponse({"error": "That is too large to be a browser's subscription."}, status=413)
    try:
        data = json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"error": "Send the subscriptions as JSON."}, status=400)
    if not isinstance(data, dict):
        return JsonResponse({"error": "Send {old: {endpoint, auth}, new: subscription}."}, status=400)
    try:
        subscription = push.push_subscription_renew(old=data.get("old"), new=data.get("new"))
    except PermissionDenied as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    if subscription is None:
        return JsonResponse({"error": "This browser now gets notifications for another account."}, status=409)
    return JsonResponse({"device": subscription.label})


@login_required
@require_POST
def push_subscription_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop notifications on one device from the resident's list (works without JavaScript)."""
    if not push.push_subscription_delete(member=request.user, subscription_id=pk):
        raise Http404("No such device on your account.")
    messages.success(request, "That device will get no more notifications.")
    return redirect("members:preferences")
