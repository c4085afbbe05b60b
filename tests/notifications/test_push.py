"""Web push: a resident turns notifications on for a browser, and alerts reach it.

The push service is faked at pywebpush's HTTP boundary (the requests session it posts
with): what goes over the wire is the real thing (aes128gcm-encrypted for the
browser's keys, VAPID-signed), and the tests decrypt it with the browser's private key
as the browser would.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from py_vapid import Vapid02

from core import personal_data
from core.models import AuditEvent
from members.links import preferences_link_url
from members.models import Preferences
from notifications import push, views
from notifications.audience import audience_size_by_channel
from notifications.models import Delivery, PushSubscription
from notifications.services import delivery_batch_send, dispatch_fan_out
from tests.factories import MemberFactory

from .conftest import everything

pytestmark = pytest.mark.django_db

CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return private, b64url(public)


@pytest.fixture
def vapid(settings):
    """The site's VAPID key pair, as `manage.py vapid_keys` makes it."""
    private, public = key_pair()
    settings.VAPID_PRIVATE_KEY = b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = public
    settings.VAPID_SUBJECT = "mailto:digital@kent.police.example"
    settings.PUSH_TTL_SECONDS = 3600
    return public


@pytest.fixture
def no_vapid(settings):
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""


class Browser:
    """A browser's side of a push subscription: its keys, and reading what arrives."""

    def __init__(self, host: str = "fcm.googleapis.com") -> None:
        self.private, public = key_pair()
        self.auth = os.urandom(16)
        self.endpoint = f"https://{host}/fcm/send/{secrets.token_urlsafe(24)}"
        self.subscription = {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": public, "auth": b64url(self.auth)},
        }

    def read(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.private, auth_secret=self.auth, version="aes128gcm"))


class PushService:
    """Google's, Mozilla's or Apple's push service, as pywebpush's requests session sees it.

    `answers[endpoint] = [status or exception, …]`, one per request to that endpoint
    (201 Created once they run out); every request is kept in `requests`.
    """

    def __init__(self) -> None:
        self.requests: list[SimpleNamespace] = []
        self.answers: dict[str, list] = {}

    def post(self, url, data=None, headers=None, timeout=None, **_):
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.requests.append(SimpleNamespace(url=url, body=data, headers=headers, timeout=timeout))
        answer = self.answers.get(url, []).pop(0) if self.answers.get(url) else 201
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(
            status_code=answer,
            reason="",
            text="" if answer < 300 else "push service says no",
            headers={"Location": f"{url}/messages/{len(self.requests)}"} if answer < 300 else {},
        )

    def close(self) -> None:
        pass

    def to(self, browser: Browser) -> list[SimpleNamespace]:
        return [r for r in self.requests if r.url == browser.endpoint]


@pytest.fixture
def push_service(monkeypatch):
    service = PushService()
    monkeypatch.setattr(push, "_session", lambda: service)
    return service


def subscribe(member, browser: Browser, user_agent: str = CHROME_ON_ANDROID) -> PushSubscription:
    subscription, _ = push.push_subscription_save(member=member, data=browser.subscription, user_agent=user_agent)
    return subscription


# --- turning push on and off for a browser


def test_a_resident_turns_on_notifications_for_a_browser(vapid, client, resident):
    browser = Browser()
    client.force_login(resident)
    assert resident.preferences.channel_push is False

    response = client.post(
        "/push/subscriptions/",
        json.dumps(browser.subscription),
        content_type="application/json",
        HTTP_USER_AGENT=CHROME_ON_ANDROID,
    )

    assert response.status_code == 201
    subscription = PushSubscription.objects.get(member=resident)
    assert response.json() == {"id": subscription.pk, "device": "Chrome on Android"}
    assert (subscription.endpoint, subscription.p256dh) == (browser.endpoint, browser.subscription["keys"]["p256dh"])
    # Turning a browser on is asking for pushes: the channel is on too, and the change recorded.
    assert Preferences.objects.get(member=resident).channel_push is True
    assert AuditEvent.objects.filter(
        action="notifications.push_subscription.added", target_id=str(resident.pk)
    ).exists()
    page = client.get("/me/preferences/").content.decode()
    assert "Notifications are on for this device (Chrome on Android)." in page
    assert re.search(r'<tr data-endpoint="' + re.escape(browser.endpoint) + r'">\s*<td>Chrome on Android</td>', page)

    # The same browser again (its keys renewed): the same row, no second device.
    again = client.post("/push/subscriptions/", json.dumps(browser.subscription), content_type="application/json")
    assert again.status_code == 200
    assert PushSubscription.objects.filter(member=resident).count() == 1


def test_the_subscription_needs_the_csrf_token_the_page_gives(vapid, resident):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    page = client.get("/me/preferences/").content.decode()
    token = re.search(r'id="push".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S).group(1)
    body = json.dumps(Browser().subscription)

    refused = client.post("/push/subscriptions/", body, content_type="application/json")
    assert refused.status_code == 403
    assert not PushSubscription.objects.exists()

    accepted = client.post("/push/subscriptions/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("mangle", "status", "message"),
    [
        (lambda s: "not json", 400, "Send the subscription as JSON."),
        (lambda s: {**s, "keys": None}, 400, "Send the browser's subscription"),
        # The server POSTs to the endpoint: only browsers' push services, never an address of the resident's choosing.
        (
            lambda s: {**s, "endpoint": "https://169.254.169.254/latest/meta-data/"},
            400,
            "169.254.169.254 is not a browser push service",
        ),
        (lambda s: {**s, "endpoint": "http://fcm.googleapis.com/fcm/send/x"}, 400, "must be an https address"),
        (
            lambda s: {**s, "endpoint": "https://fcm.googleapis.com.evil.example/x"},
            400,
            "is not a browser push service",
        ),
        (
            lambda s: {**s, "keys": {**s["keys"], "p256dh": b64url(b"\x04" + b"\x01" * 64)}},
            400,
            "not a P-256 public key",
        ),
        (lambda s: {**s, "keys": {**s["keys"], "auth": b64url(b"short")}}, 400, "the wrong length"),
        (lambda s: {**s, "padding": "x" * 5000}, 413, "too large"),
    ],
)
def test_a_subscription_that_could_never_work_is_refused_with_a_reason(
    vapid, client, resident, mangle, status, message
):
    client.force_login(resident)
    data = mangle(Browser().subscription)
    body = data if isinstance(data, str) else json.dumps(data)

    response = client.post("/push/subscriptions/", body, content_type="application/json")

    assert response.status_code == status
    assert message in response.json()["error"]
    assert not PushSubscription.objects.exists()
    assert Preferences.objects.get(member=resident).channel_push is False


def test_without_vapid_keys_nobody_can_subscribe(no_vapid, client, resident):
    client.force_login(resident)
    response = client.post("/push/subscriptions/", json.dumps(Browser().subscription), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "Web push notifications are not available on this site."}
    assert not PushSubscription.objects.exists()


def test_officers_get_no_pushes(vapid, client, officer):
    client.force_login(officer)
    response = client.post("/push/subscriptions/", json.dumps(Browser().subscription), content_type="application/json")
    assert response.status_code == 403
    assert not PushSubscription.objects.exists()


def test_a_browser_belongs_to_whoever_subscribed_on_it_last(vapid, resident, other_resident):
    browser = Browser()
    subscribe(resident, browser)

    subscription = subscribe(other_resident, browser, user_agent=FIREFOX_ON_WINDOWS)

    assert PushSubscription.objects.get().member == other_resident
    assert subscription.label == "Firefox on Windows"
    assert not push.push_subscriptions_of(member=resident).exists()


def test_at_most_twenty_devices(vapid, client, resident):
    for _ in range(push.MAX_DEVICES):
        subscribe(resident, Browser())
    client.force_login(resident)

    response = client.post("/push/subscriptions/", json.dumps(Browser().subscription), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "You can have notifications on at most 20 devices. Remove one first."}
    assert PushSubscription.objects.filter(member=resident).count() == 20


def test_turning_off_this_browser_and_removing_a_device_from_the_list(vapid, client, resident, other_resident):
    mine, theirs, second = Browser(), Browser(), Browser()
    subscribe(resident, mine)
    other = subscribe(other_resident, theirs)
    listed = subscribe(resident, second)
    client.force_login(resident)

    # Someone else's browser is not theirs to switch off, by endpoint or by id.
    body = json.dumps({"endpoint": theirs.endpoint})
    assert client.delete("/push/subscriptions/", body, content_type="application/json").status_code == 404
    assert client.post(f"/push/subscriptions/{other.pk}/remove/").status_code == 404
    assert PushSubscription.objects.filter(pk=other.pk).exists()

    off = client.delete(
        "/push/subscriptions/", json.dumps({"endpoint": mine.endpoint}), content_type="application/json"
    )
    assert off.status_code == 204
    removed = client.post(f"/push/subscriptions/{listed.pk}/remove/")
    assert removed.status_code == 302 and removed["Location"] == "/me/preferences/"

    assert list(PushSubscription.objects.values_list("member_id", flat=True)) == [other_resident.pk]
    assert AuditEvent.objects.filter(action="notifications.push_subscription.removed").count() == 2


def test_the_service_worker_is_served_from_the_root_with_root_scope(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    source = response.content.decode()
    assert 'addEventListener("push"' in source and "showNotification" in source
    assert 'addEventListener("notificationclick"' in source and "openWindow" in source


# --- a subscription the push service renewed (the service worker's pushsubscriptionchange)


def renew(client, old: Browser, new: Browser, *, auth: bytes | None = None):
    body = {
        "old": {"endpoint": old.endpoint, "auth": b64url(old.auth if auth is None else auth)},
        "new": new.subscription,
    }
    # The service worker sends no cookie and no CSRF token: it has neither.
    return client.post("/push/renew/", json.dumps(body), content_type="application/json")


def test_a_renewed_subscription_replaces_the_old_one_for_the_same_resident(vapid, resident, push_service):
    client = Client(enforce_csrf_checks=True)
    old, new = Browser(), Browser(host="updates.push.services.mozilla.com")
    device = subscribe(resident, old, user_agent=FIREFOX_ON_WINDOWS)
    PushSubscription.objects.filter(pk=device.pk).update(failure_count=2, last_error="410 Gone")

    response = renew(client, old, new)

    assert response.status_code == 200 and response.json() == {"device": "Firefox on Windows"}
    device.refresh_from_db()
    assert (device.member_id, device.endpoint, device.label) == (resident.pk, new.endpoint, "Firefox on Windows")
    assert (device.p256dh, device.failure_count, device.last_error) == (new.subscription["keys"]["p256dh"], 0, "")
    assert PushSubscription.objects.count() == 1
    assert AuditEvent.objects.filter(
        action="notifications.push_subscription.renewed", target_id=str(resident.pk)
    ).exists()
    # The next push goes to the new address, encrypted for the new keys.
    assert renew(client, old, new).status_code == 403  # the old one is gone for good
    push_service.requests.clear()
    subscription = PushSubscription.objects.get()
    attempt = push._push_one(
        subscription,
        data=push.push_payload(title="T", body="B", url="/", tag="x"),
        headers={},
        keys=push.vapid_keys(),
        session=push_service,
    )
    assert attempt.kind == "sent" and [r.url for r in push_service.requests] == [new.endpoint]
    assert new.read(push_service.requests[0].body)["title"] == "T"


def test_renewing_needs_the_old_subscriptions_secret(vapid, resident, other_resident):
    client = Client(enforce_csrf_checks=True)
    old, new = Browser(), Browser()
    subscribe(resident, old)

    wrong = renew(client, old, new, auth=os.urandom(16))
    unknown = renew(client, Browser(), new)

    # Same refusal for a wrong secret and an endpoint we never had: nobody learns which exist.
    assert wrong.status_code == unknown.status_code == 403
    assert wrong.json() == unknown.json() == {"error": "That is not a subscription of this site."}
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [old.endpoint]


def test_a_renewal_that_could_never_work_is_refused_and_changes_nothing(vapid, resident):
    client = Client(enforce_csrf_checks=True)
    old, new = Browser(), Browser(host="push.example.com")  # not a browser push service
    subscribe(resident, old)

    response = renew(client, old, new)

    assert response.status_code == 400 and "not a browser push service" in response.json()["error"]
    assert client.post("/push/renew/", "{not json", content_type="application/json").status_code == 400
    too_big = client.post("/push/renew/", json.dumps({"old": "x" * 9000}), content_type="application/json")
    assert too_big.status_code == 413
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [old.endpoint]


def test_a_renewed_endpoint_the_page_already_subscribed_stays_one_device(vapid, resident):
    old, new = Browser(), Browser()
    subscribe(resident, old)
    subscribe(resident, new)  # the settings page got there first

    assert renew(Client(enforce_csrf_checks=True), old, new).status_code == 200
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [new.endpoint]


def test_a_renewal_never_takes_another_members_browser(vapid, resident, other_resident):
    """Someone else turned notifications on in the browser since (it is theirs now, as the
    last to subscribe on it), or a caller names another member's endpoint as its "new"
    one: that member's row stays theirs, untouched; the caller's old row goes."""
    old, theirs = Browser(), Browser()
    subscribe(resident, old)
    subscribe(other_resident, theirs)
    before = PushSubscription.objects.filter(member=other_resident).values_list("endpoint", "p256dh", "auth").get()
    hijack = Browser()
    hijack.subscription = {**hijack.subscription, "endpoint": theirs.endpoint}  # their address, the caller's keys

    response = renew(Client(enforce_csrf_checks=True), old, hijack)

    assert response.status_code == 409
    assert response.json() == {"error": "This browser now gets notifications for another account."}
    assert (
        PushSubscription.objects.filter(member=other_resident).values_list("endpoint", "p256dh", "auth").get() == before
    )
    assert not PushSubscription.objects.filter(member=resident).exists()


def test_the_service_worker_renews_at_the_renewal_address():
    from django.urls import reverse

    source = views._service_worker_source().decode()
    assert 'addEventListener("pushsubscriptionchange"' in source
    assert f'const RENEW = "{reverse("notifications:push_subscription_renew")}";' in source


# --- the settings page


def test_the_settings_page_says_when_push_is_not_available(no_vapid, client, resident):
    Preferences.objects.filter(member=resident).update(channel_push=True)
    client.force_login(resident)

    page = client.get("/me/preferences/").content.decode()

    assert "Web push notifications are not available on this site." in page
    assert 'type="checkbox" name="channel_push"' not in page
    assert 'id="push"' not in page and "js/push.js" not in page
    # Saving the other settings leaves the push choice as it was.
    assert '<input type="hidden" name="channel_push" value="on">' in page


def test_the_settings_page_shows_the_push_controls_and_devices(vapid, client, resident, django_assert_max_num_queries):
    for agent in (CHROME_ON_ANDROID, FIREFOX_ON_WINDOWS):
        subscribe(resident, Browser(), user_agent=agent)
    client.force_login(resident)

    with django_assert_max_num_queries(12):
        page = client.get("/me/preferences/").content.decode()

    assert 'type="checkbox" name="channel_push"' in page
    assert f'data-push-key="{vapid}"' in page
    assert 'data-worker-url="/sw.js"' in page
    assert re.search(r'<script src="/static/js/push\.js" defer></script>', page)
    assert "Turn on notifications on this device" in page
    assert page.count('action="/push/subscriptions/') == 2
    assert "Chrome on Android" in page and "Firefox on Windows" in page


def test_the_signed_link_page_offers_the_push_choice_but_no_devices(vapid, client, resident):
    subscribe(resident, Browser())
    page = client.get(preferences_link_url(member=resident).removeprefix("http://127.0.0.1:8000")).content.decode()

    assert 'type="checkbox" name="channel_push"' in page
    # Devices are managed signed in: a forwarded link shows none of them.
    assert 'id="push"' not in page and "Chrome on Android" not in page


def test_an_officer_sees_no_push_device_controls(vapid, client, officer):
    client.force_login(officer)
    page = client.get("/me/preferences/").content.decode()
    assert 'id="push"' not in page and "js/push.js" not in page


# --- who gets push deliveries


@pytest.fixture
def north(wards):
    return {"include": [{"area": wards[0].pk}]}


def test_push_goes_to_members_who_want_it_and_have_a_browser(vapid, place, make_dispatch, north, organisation):
    pushed = place(0.01, 51.01, channel_push=True)
    subscribe(pushed, Browser())
    no_browser = place(0.02, 51.02, channel_push=True)
    browser_but_off = place(0.03, 51.03)
    subscribe(browser_but_off, Browser())
    Preferences.objects.filter(member=browser_but_off).update(channel_push=False)

    assert audience_size_by_channel(spec=north, organisation=organisation, priority=3)["push"] == 1
    dispatch = make_dispatch(north)
    assert dispatch_fan_out(dispatch_id=dispatch.pk)["push"] == 1

    assert list(Delivery.objects.filter(channel="push").values_list("member_id", "status")) == [(pushed.pk, "pending")]
    assert no_browser.pk and browser_but_off.pk  # both reached by email and inbox only


def test_without_vapid_keys_nobody_gets_push_deliveries(vapid, settings, place, make_dispatch, north, organisation):
    member = place(0.01, 51.01)
    subscribe(member, Browser())
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""

    assert audience_size_by_channel(spec=north, organisation=organisation, priority=1)["push"] == 0
    dispatch_fan_out(dispatch_id=make_dispatch(north, priority=1).pk)
    assert not Delivery.objects.filter(channel="push").exists()


def test_a_wrong_public_key_turns_push_off(vapid, settings):
    assert push.push_configured()
    settings.VAPID_PUBLIC_KEY = key_pair()[1]  # not the private key's half
    assert not push.push_configured()


def test_daily_digest_members_get_pushes_and_texts_only_for_urgent_messages(
    vapid, place, make_dispatch, north, organisation
):
    member = place(
        0.01, 51.01, phone="+447700900001", channel_sms=True, sms_lowest_priority=5, frequency="daily_digest"
    )
    subscribe(member, Browser())
    assert audience_size_by_channel(spec=north, organisation=organisation, priority=3) == {
        "members": 1,
        "inbox": 1,
        "email": 1,
        "sms": 0,
        "push": 0,
    }

    routine = make_dispatch(north, priority=3)
    urgent = make_dispatch(north, priority=1, subject="Missing child")
    dispatch_fan_out(dispatch_id=routine.pk)
    dispatch_fan_out(dispatch_id=urgent.pk)

    def rows(dispatch):
        return dict(Delivery.objects.filter(dispatch=dispatch).values_list("channel", "status"))

    assert rows(routine) == {"inbox": "sent", "email": "digest"}
    assert rows(urgent) == {"inbox": "sent", "email": "pending", "sms": "pending", "push": "pending"}


# --- sending


@pytest.fixture
def pushed_alert(vapid, place, make_dispatch, north):
    """A resident with a browser subscribed, and a fanned-out priority-1 alert to them."""
    member = place(0.01, 51.01, channel_push=True)
    browser = Browser()
    subscribe(member, browser)
    dispatch = make_dispatch(north, priority=1, subject="Missing child: Amy, 7", body_text="Amy " + "x" * 400)
    dispatch_fan_out(dispatch_id=dispatch.pk)
    return dispatch, member, browser


def test_a_push_is_encrypted_for_the_browser_signed_and_marked_urgent(pushed_alert, push_service, vapid, mailoutbox):
    dispatch, member, browser = pushed_alert

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    (request,) = push_service.to(browser)
    headers = request.headers
    assert headers["ttl"] == "3600"
    assert headers["urgency"] == "high"
    assert headers["content-encoding"] == "aes128gcm"
    # RFC 8292: signed with our key, for this push service's origin, naming who we are.
    assert Vapid02.verify(headers["authorization"])
    assert headers["authorization"].endswith(f",k={vapid}")
    token = headers["authorization"].split("t=", 1)[1].split(",", 1)[0]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"] == "https://fcm.googleapis.com"
    assert claims["sub"] == "mailto:digital@kent.police.example"

    delivery = Delivery.objects.get(channel="push")
    inbox_copy = Delivery.objects.get(channel="inbox", member=member)
    message = browser.read(request.body)
    assert message["title"] == "Urgent: Missing child: Amy, 7"
    assert message["body"].startswith("Kent Police: Amy xxx") and len(message["body"]) == 200
    assert message["body"].endswith("…")
    assert message["url"] == f"http://127.0.0.1:8000/inbox/{inbox_copy.pk}/"
    assert message["tag"] == str(delivery.uuid)

    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert delivery.provider_id == f"{browser.endpoint}/messages/1"[-100:]
    assert PushSubscription.objects.get().last_success_at is not None

    # Run again: nothing goes twice.
    assert delivery_batch_send(dispatch_id=dispatch.pk, **everything()) == {}
    assert len(push_service.requests) == 1


@pytest.mark.parametrize(("priority", "urgency"), [(2, "high"), (3, "normal"), (5, "low")])
def test_urgency_follows_the_priority(vapid, place, make_dispatch, north, push_service, priority, urgency):
    member = place(0.01, 51.01, channel_push=True)
    browser = Browser()
    subscribe(member, browser)
    dispatch = make_dispatch(north, priority=priority)
    dispatch_fan_out(dispatch_id=dispatch.pk)

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    (request,) = push_service.to(browser)
    assert request.headers["urgency"] == urgency


def test_a_browser_gone_from_its_push_service_is_forgotten(pushed_alert, push_service):
    dispatch, _, browser = pushed_alert
    push_service.answers[browser.endpoint] = [410]

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    delivery = Delivery.objects.get(channel="push")
    assert delivery.status == "failed"
    assert delivery.error == "Every browser of the member has dropped its subscription."
    assert not PushSubscription.objects.exists()


def test_one_browser_gone_and_one_still_there_is_a_sent_push(pushed_alert, push_service, vapid):
    dispatch, member, old_phone = pushed_alert
    laptop = Browser(host="updates.push.services.mozilla.com")
    subscribe(member, laptop, user_agent=FIREFOX_ON_WINDOWS)
    push_service.answers[old_phone.endpoint] = [404]

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    assert Delivery.objects.get(channel="push").status == "sent"
    assert list(PushSubscription.objects.values_list("label", flat=True)) == ["Firefox on Windows"]
    (request,) = push_service.to(laptop)
    assert urlsplit(request.url).hostname == "updates.push.services.mozilla.com"


@pytest.mark.parametrize(
    "answer", [429, 503, requests.ConnectionError("connection refused"), requests.Timeout("read timed out")]
)
def test_a_busy_or_unreachable_push_service_means_try_again_later(pushed_alert, push_service, answer):
    dispatch, _, browser = pushed_alert
    push_service.answers[browser.endpoint] = [answer]

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    delivery = Delivery.objects.get(channel="push")
    assert delivery.status == "retry" and delivery.next_attempt_at is not None
    subscription = PushSubscription.objects.get()
    assert subscription.failure_count == 1 and subscription.last_error

    # The retry, once due, goes through and clears the count.
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    delivery_batch_send(dispatch_id=dispatch.pk, **everything())
    assert Delivery.objects.get(pk=delivery.pk).status == "sent"
    assert PushSubscription.objects.get().failure_count == 0
    assert len(push_service.to(browser)) == 2


def test_a_refused_push_fails_without_forgetting_the_browser(pushed_alert, push_service):
    dispatch, _, browser = pushed_alert
    push_service.answers[browser.endpoint] = [403]  # e.g. subscribed under keys the site no longer has

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    delivery = Delivery.objects.get(channel="push")
    assert delivery.status == "failed" and delivery.error.startswith("push service 403")
    assert PushSubscription.objects.get().failure_count == 1


def test_a_browser_refused_again_and_again_is_forgotten(
    pushed_alert, push_service, settings, vapid, place, make_dispatch, north
):
    """A subscription made under keys the site no longer has is refused (403) every time:
    after PUSH_FORGET_AFTER_REFUSALS refusals in a row, with no push taken for a week,
    it is forgotten like one the push service says is gone; one refusal is not enough."""
    settings.PUSH_FORGET_AFTER_REFUSALS = 3
    dispatch, _, browser = pushed_alert
    push_service.answers[browser.endpoint] = [403] * 10
    subscription = PushSubscription.objects.get()
    PushSubscription.objects.filter(pk=subscription.pk).update(failure_count=1)

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())
    assert PushSubscription.objects.get().failure_count == 2  # still tried next time

    again = make_dispatch(north, priority=1)
    dispatch_fan_out(dispatch_id=again.pk)
    delivery_batch_send(dispatch_id=again.pk, **everything())

    assert not PushSubscription.objects.exists()  # the third refusal in a row: forgotten
    assert Delivery.objects.get(dispatch=again, channel="push").status == "failed"


def test_a_browser_that_took_a_push_this_week_is_kept_however_often_refused(pushed_alert, push_service, settings):
    settings.PUSH_FORGET_AFTER_REFUSALS = 1
    dispatch, _, browser = pushed_alert
    push_service.answers[browser.endpoint] = [403]
    PushSubscription.objects.update(last_success_at=timezone.now() - timedelta(days=2))

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    assert PushSubscription.objects.get().failure_count == 1


def test_a_member_who_turned_push_off_before_sending_gets_nothing(pushed_alert, push_service):
    dispatch, member, _ = pushed_alert
    Preferences.objects.filter(member=member).update(channel_push=False)

    delivery_batch_send(dispatch_id=dispatch.pk, **everything())

    assert Delivery.objects.get(channel="push").status == "cancelled"
    assert push_service.requests == []


# --- personal data, and the operator's key pair


def test_the_data_download_lists_the_browsers_and_erasure_forgets_them(vapid, resident):
    browser = Browser()
    subscribe(resident, browser)
    section = next(s for s in personal_data.sections() if s.name == "push_subscriptions")

    (exported,) = section.export(resident)
    assert (exported["device"], exported["endpoint"]) == ("Chrome on Android", browser.endpoint)

    section.erase(resident)
    assert not PushSubscription.objects.exists()


def test_the_vapid_keys_command_makes_a_working_pair(settings, capsys):
    call_command("vapid_keys")

    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = lines["VAPID_PRIVATE_KEY"], lines["VAPID_PUBLIC_KEY"]
    assert push.push_configured()
    assert push.vapid_keys().public_key == lines["VAPID_PUBLIC_KEY"]
    assert len(base64.urlsafe_b64decode(lines["VAPID_PUBLIC_KEY"] + "=")) == 65


def test_members_of_another_household_never_see_each_others_devices(vapid, resident):
    subscribe(resident, Browser())
    stranger = MemberFactory()
    assert not push.push_subscriptions_of(member=stranger).exists()
