"""Web push in a real browser: the resident turns notifications on for this device, and
the service worker shows a push and opens its message.

Debian's Chromium, driven by Playwright, against pytest-django's live server. Headless
Chromium has no push service to reach (Google's, on the internet), so the page's
`PushManager.subscribe` is replaced by one returning a subscription as Chrome would,
for keys made here; everything else is real: the permission prompt (granted by the
test), the service worker registered from /sw.js with the whole site as its scope,
the CSRF-protected POST, the page reloading to the server's message, the device list.
A push is then delivered to that service worker through the DevTools protocol, as
the push service would, and the notification it shows is read back.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from notifications.models import PushSubscription
from tests.e2e.pages import cast_create, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ENDPOINT = "https://fcm.googleapis.com/fcm/send/e2e-browser"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def vapid(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PRIVATE_KEY = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = ""


def fake_push_manager() -> str:
    """An init script: PushManager as Chrome's, minus the trip to Google's push service."""
    browser_key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    subscription = {
        "endpoint": ENDPOINT,
        "expirationTime": None,
        "keys": {"p256dh": b64url(browser_key), "auth": b64url(os.urandom(16))},
    }
    script = """(() => {
        const json = SUBSCRIPTION;
        const KEY = "mcv-fake-push-subscription";
        const make = (applicationServerKey) => ({
            endpoint: json.endpoint,
            options: { applicationServerKey, userVisibleOnly: true },
            toJSON: () => json,
            unsubscribe: async () => { localStorage.removeItem(KEY); return true; },
        });
        PushManager.prototype.subscribe = async function (options) {
            const key = new Uint8Array(options.applicationServerKey);
            localStorage.setItem(KEY, btoa(String.fromCharCode(...key)));
            return make(key.buffer);
        };
        PushManager.prototype.getSubscription = async function () {
            const saved = localStorage.getItem(KEY);
            return saved ? make(Uint8Array.from(atob(saved), (c) => c.charCodeAt(0)).buffer) : null;
        };
    })();"""
    return script.replace("SUBSCRIPTION", json.dumps(subscription))


@pytest.fixture
def resident_tab(browser, live_server, client, vapid):
    cast = cast_create()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.grant_permissions(["notifications"], origin=live_server.url)
    log_in(client, "resident", cast)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.add_init_script(fake_push_manager())
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page, cast["resident"], live_server.url, problems
    context.close()


def test_a_resident_turns_notifications_on_and_off_for_this_device(resident_tab, axe_script):
    page, resident, origin, problems = resident_tab
    page.goto(origin + "/me/preferences/")
    on = page.get_by_role("button", name="Turn on notifications on this device")
    assert on.is_visible()
    assert not page.locator("#push-unsupported").is_visible()

    with page.expect_navigation():
        on.click()

    assert page.get_by_role("status").filter(has_text="Notifications are on for this device").is_visible()
    subscription = PushSubscription.objects.get(member=resident)
    assert subscription.endpoint == ENDPOINT
    assert page.get_by_role("cell", name=subscription.label, exact=True).is_visible()
    scope = page.evaluate("async () => (await navigator.serviceWorker.getRegistration('/')).scope")
    assert scope == origin + "/"
    off = page.get_by_role("button", name="Turn off notifications on this device")
    assert off.is_visible() and not on.is_visible()

    page.evaluate(axe_script)
    results = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA_TAGS)
    assert [v["id"] for v in results["violations"]] == []

    with page.expect_navigation():
        off.click()

    assert page.get_by_role("status").filter(has_text="Notifications are off for this device").is_visible()
    assert not PushSubscription.objects.exists()
    assert page.get_by_role("button", name="Turn on notifications on this device").is_visible()
    assert problems == []


def test_the_service_worker_shows_a_push_and_opens_its_message(resident_tab):
    page, _, origin, problems = resident_tab
    page.goto(origin + "/me/preferences/")
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on notifications on this device").click()
    page.evaluate("() => navigator.serviceWorker.ready")

    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if any(r["scopeURL"] == origin + "/" for r in registrations):
            break
        page.wait_for_timeout(100)
    registration = next(r for r in registrations if r["scopeURL"] == origin + "/")
    message = {
        "title": "Urgent: Missing child: Amy, 7",
        "body": "Kent Police: Amy was last seen…",
        "url": origin + "/inbox/",
        "tag": "delivery-uuid-1",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": origin + "/",
            "registrationId": registration["registrationId"],
            "data": json.dumps(message),
        },
    )

    shown = None
    for _ in range(50):
        shown = page.evaluate(
            """async () => {
                const list = await (await navigator.serviceWorker.ready).getNotifications();
                return list.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}));
            }"""
        )
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [
        {"title": message["title"], "body": message["body"], "tag": "delivery-uuid-1", "url": origin + "/inbox/"}
    ]
    assert problems == []


@pytest.fixture(scope="module")
def axe_script():
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script
