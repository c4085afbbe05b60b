"""Web push: the browsers residents turned notifications on for, and sending to them.

A resident presses "Turn on notifications on this device" on their settings page;
the browser asks their permission, subscribes with its push service (Google's for
Chrome, Mozilla's for Firefox, Apple's for Safari…) under our VAPID public key, and
static/js/push.js posts the subscription here (`push_subscription_save`). From then
on a message for them on the push channel is encrypted for that browser
(RFC 8291, aes128gcm), signed with our VAPID key (RFC 8292) and posted to the
subscription's endpoint with pywebpush; the service worker (static/js/sw.js, served
at /sw.js) shows it and opens the message when it is clicked.

Without VAPID_PRIVATE_KEY nothing here runs: `push_configured()` is False, the
audience gives nobody the push channel, and the settings page says push is not
available.

Endpoints are addresses our server will POST to, handed in by a browser, so they are
checked against PUSH_SERVICE_HOSTS (the browsers' real push services): a resident
cannot make the server call an address of their choosing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from core import personal_data
from core.services import audit_record

from .channels import Outcome, PermanentFailure, Sent, TemporaryFailure, _short
from .models import Delivery, PushSubscription

if TYPE_CHECKING:
    from members.models import Member

    from .models import Dispatch

logger = logging.getLogger(__name__)

# More browsers than this for one member is not a household: refuse, say why.
MAX_DEVICES = 20
# Pushes in flight at once within a batch. A push is one HTTPS request to the push
# service (tens of milliseconds): one at a time, a batch of 500 would take half a minute.
CONCURRENCY = 16
# A push body the resident reads on a lock screen: long enough for a sentence or two.
BODY_MAX_CHARS = 200
URGENCY = {1: "high", 2: "high", 3: "normal", 4: "low", 5: "low"}
TIMEOUT = (5, 15)  # seconds: connecting, then waiting for the answer


# --- configuration


@dataclass(frozen=True)
class VapidKeys:
    signer: Any  # py_vapid.Vapid02
    public_key: str  # base64url of the uncompressed P-256 point: the browser's applicationServerKey


@lru_cache(maxsize=4)
def _vapid_keys(private_key: str, public_key: str) -> VapidKeys | None:
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02

    try:
        signer = Vapid02.from_string(private_key=private_key)
    except Exception:
        logger.exception("VAPID_PRIVATE_KEY cannot be read: web push is off. Make a key pair: manage.py vapid_keys")
        return None
    point = signer.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    derived = base64.urlsafe_b64encode(point).rstrip(b"=").decode()
    if public_key and public_key.rstrip("=") != derived:
        logger.error("VAPID_PUBLIC_KEY is not the public half of VAPID_PRIVATE_KEY: web push is off.")
        return None
    return VapidKeys(signer=signer, public_key=derived)


def vapid_keys() -> VapidKeys | None:
    """The site's VAPID key pair, or None when web push is not set up (or set up wrong)."""
    if not settings.VAPID_PRIVATE_KEY:
        return None
    return _vapid_keys(settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY)


def push_configured() -> bool:
    """Whether this site can send web push at all (a valid VAPID key pair is set)."""
    return vapid_keys() is not None


# --- subscriptions: what a resident's browser hands us


def _b64url_decode(value: Any, *, name: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+=*", value):
        raise ValidationError(f"The subscription's {name} key is missing or not base64url.")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"The subscription's {name} key is not base64url.") from exc


def _endpoint_clean(endpoint: Any) -> str:
    if not isinstance(endpoint, str) or len(endpoint) > 2000:
        raise ValidationError("The subscription needs its endpoint, a URL of at most 2,000 characters.")
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise ValidationError("The subscription's endpoint must be an https address of a push service.")
    if not any(host == h or host.endswith("." + h) for h in settings.PUSH_SERVICE_HOSTS):
        raise ValidationError(f"{host} is not a browser push service this site sends to.")
    return endpoint


def subscription_clean(data: Any) -> dict[str, str]:
    """Check what a browser's `PushSubscription.toJSON()` gave; raise ValidationError saying what is wrong.

    The keys must be real: a P-256 public point (65 bytes, on the curve) and a 16-byte
    secret, or nothing could ever be encrypted for the browser.
    """
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise ValidationError("Send the browser's subscription: {endpoint, keys: {p256dh, auth}}.")
    endpoint = _endpoint_clean(data.get("endpoint"))
    p256dh, auth = data["keys"].get("p256dh"), data["keys"].get("auth")
    point = _b64url_decode(p256dh, name="p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise ValidationError("The subscription's p256dh key is not a P-256 public key.") from exc
    if len(point) != 65 or len(_b64url_decode(auth, name="auth")) != 16:
        raise ValidationError("The subscription's keys have the wrong length.")
    return {"endpoint": endpoint, "p256dh": p256dh.rstrip("="), "auth": auth.rstrip("=")}


_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """What a resident will recognise a browser by in their list: "Firefox on Android"."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "A browser")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    return f"{browser} on {system}" if system else browser


@transaction.atomic
def push_subscription_save(*, member: Member, data: Any, user_agent: str = "") -> tuple[PushSubscription, bool]:
    """Keep a browser's push subscription for a resident and turn their push channel on.

    Returns the subscription and whether it is new to them. The same browser sending
    its subscription again (keys renewed) updates it; a browser another member
    subscribed on before now belongs to this one (whoever subscribed last is who uses
    it). Raises ValidationError for a subscription that could never work, or a 21st
    device, and PermissionDenied for staff: pushes carry residents' messages.
    """
    from members.models import ConsentRecord
    from members.services import preferences_update

    if member.is_officer:
        raise PermissionDenied("Web push carries messages to residents; officers' accounts get none.")
    if not push_configured():
        raise ValidationError("Web push notifications are not available on this site.")
    clean = subscription_clean(data)
    existing = PushSubscription.objects.select_for_update().filter(endpoint=clean["endpoint"]).first()
    created = existing is None or existing.member_id != member.pk
    if created and PushSubscription.objects.filter(member=member).count() >= MAX_DEVICES:
        raise ValidationError(f"You can have notifications on at most {MAX_DEVICES} devices. Remove one first.")
    subscription = existing or PushSubscription(endpoint=clean["endpoint"])
    subscription.member = member
    subscription.p256dh, subscription.auth = clean["p256dh"], clean["auth"]
    subscription.label = device_label(user_agent)[:100]
    subscription.failure_count, subscription.last_error = 0, ""
    if created:
        subscription.created_at = timezone.now()
    subscription.save()
    if created:
        audit_record(
            actor=member,
            action="notifications.push_subscription.added",
            target=member,
            data={"device": subscription.label},
        )
    # Subscribing a browser is asking for pushes: the channel goes on with it.
    preferences_update(member=member, actor=member, data={"channel_push": True}, source=ConsentRecord.Source.SETTINGS)
    return subscription, created


@transaction.atomic
def push_subscription_renew(*, old: Any, new: Any) -> PushSubscription | None:
    """A browser replacing a subscription its push service renewed or expired (the
    service worker's `pushsubscriptionchange`), with no one signed in.

    `old` is `{"endpoint", "auth"}` of the subscription being replaced: its 16-byte
    secret, which only that browser and this site know, is the proof that the caller is
    that browser. `new` is the new `PushSubscription.toJSON()`. The device stays the same
    member's, under the same name, with its failures forgotten. Raises PermissionDenied
    when `old` is not a subscription of this site (or its secret does not match: the
    same answer, so nobody learns which endpoints exist) and ValidationError for a new
    subscription that could never work. If the new endpoint is another member's browser
    already (someone else turned notifications on in it since), it stays theirs: the old
    row is deleted and None returned. A renewal never changes another member's row.
    """
    if not isinstance(old, dict) or not isinstance(old.get("endpoint"), str) or not isinstance(old.get("auth"), str):
        raise ValidationError("Send the old subscription's endpoint and auth key, and the new subscription.")
    if not push_configured():
        raise ValidationError("Web push notifications are not available on this site.")
    clean = subscription_clean(new)
    subscription = PushSubscription.objects.select_for_update().filter(endpoint=old["endpoint"]).first()
    given = old["auth"].rstrip("=").encode()
    if subscription is None or not hmac.compare_digest(subscription.auth.encode(), given):
        raise PermissionDenied("That is not a subscription of this site.")
    if clean["endpoint"] != subscription.endpoint:
        known = PushSubscription.objects.select_for_update().filter(endpoint=clean["endpoint"]).first()
        if known is not None and known.member_id != subscription.member_id:
            # The browser now belongs to whoever subscribed on it last (push_subscription_save):
            # their row stays theirs; the old one's endpoint is dead, so it goes.
            subscription.delete()
            return None
        if known is not None:  # the page subscribed it first, for the same member: keep one row
            known.delete()
    subscription.endpoint, subscription.p256dh, subscription.auth = clean["endpoint"], clean["p256dh"], clean["auth"]
    subscription.failure_count, subscription.last_error = 0, ""
    subscription.save()
    audit_record(
        actor=None,
        action="notifications.push_subscription.renewed",
        target=subscription.member,
        data={"device": subscription.label},
    )
    return subscription


def push_subscription_delete(*, member: Member, subscription_id: int | None = None, endpoint: str = "") -> bool:
    """Stop pushes to one of a resident's browsers (by id from their list, or by the
    endpoint the browser knows). Only their own: returns False if it is not theirs."""
    subscriptions = push_subscriptions_of(member=member)
    if subscription_id is not None:
        subscriptions = subscriptions.filter(pk=subscription_id)
    elif endpoint:
        subscriptions = subscriptions.filter(endpoint=endpoint)
    else:
        return False
    subscription = subscriptions.first()
    if subscription is None:
        return False
    subscription.delete()
    audit_record(
        actor=member,
        action="notifications.push_subscription.removed",
        target=member,
        data={"device": subscription.label},
    )
    return True


def push_subscriptions_of(*, member: Member) -> QuerySet[PushSubscription]:
    """A member's own browsers, newest first (nobody else's, whoever asks)."""
    return PushSubscription.objects.filter(member=member).order_by("-created_at", "-pk")


def preferences_page_context(*, member: Member, devices: bool = True) -> dict[str, Any]:
    """What the settings pages show about web push (whether the site has it, the key a
    browser subscribes with and, signed in, the member's devices) and the digest time."""
    keys = vapid_keys()
    return {
        "push": {
            "available": keys is not None,
            "public_key": keys.public_key if keys else "",
            "for_residents": not member.is_officer,
            "devices": list(push_subscriptions_of(member=member)[:MAX_DEVICES]) if devices and keys else [],
        },
        "digest_time": settings.DISPATCH_DIGEST_TIME,
    }


# --- sending


def push_payload(*, title: str, body: str, url: str, tag: str) -> bytes:
    """The JSON the service worker shows: small, as push services cap payloads near 4 KB."""
    body = " ".join(body.split())
    if len(body) > BODY_MAX_CHARS:
        body = body[: BODY_MAX_CHARS - 1].rstrip() + "…"
    return json.dumps({"title": title[:120], "body": body, "url": url, "tag": tag}, ensure_ascii=False).encode()


@dataclass(frozen=True)
class _Attempt:
    subscription: PushSubscription
    kind: str  # "sent", "gone", "temporary", "refused"
    detail: str = ""


class PushChannel:
    """Web push through pywebpush: every browser a member subscribed, one HTTPS request each.

    A delivery is sent when at least one of the member's browsers accepted it. The
    push service's answer decides the rest: 404 or 410, the browser dropped the
    subscription (deleted here; with none left the delivery has failed for good);
    429 or 5xx, or no answer, try again later; any other refusal (400, 403: a key
    the browser no longer matches, 413) fails the delivery. `session` is the HTTP
    client (a requests.Session); tests give a fake push service.
    """

    def __init__(self, *, session: Any = None) -> None:
        self.session = session

    def send(self, *, dispatch: Dispatch, deliveries: Sequence[Delivery]) -> Iterator[tuple[Delivery, Outcome]]:
        keys = vapid_keys()
        if keys is None:
            for delivery in deliveries:
                yield delivery, TemporaryFailure("Web push is not configured (VAPID_PRIVATE_KEY).")
            return
        # Slicing gives the rows themselves; iterating (below) may be a rate limit's gate.
        members = {d.member_id for d in deliveries[:]}
        browsers: dict[int, list[PushSubscription]] = defaultdict(list)
        for subscription in PushSubscription.objects.filter(member_id__in=members).order_by("pk"):
            browsers[subscription.member_id].append(subscription)
        # A click opens the member's own inbox copy of the message (which marks it read).
        inbox = dict(
            Delivery.objects.filter(dispatch=dispatch, channel=Delivery.Channel.INBOX, member_id__in=members)
            .values_list("member_id", "pk")
            .order_by()
        )
        label = {1: "Urgent: ", 2: "High priority: "}.get(dispatch.priority, "")
        title = f"{label}{dispatch.subject}"
        body = f"{dispatch.organisation.name}: {dispatch.body_text}"
        fallback = (
            dispatch.url if dispatch.url.startswith(("https://", "http://")) else _absolute("notifications:inbox")
        )
        headers = {"Urgency": URGENCY.get(dispatch.priority, "normal")}

        session, own_session = self.session, self.session is None
        if own_session:
            session = _session()

        def push_to_member(delivery: Delivery) -> list[_Attempt]:
            copy = inbox.get(delivery.member_id)
            url = _absolute("notifications:message", pk=copy) if copy else fallback
            data = push_payload(title=title, body=body, url=url, tag=str(delivery.uuid))
            return [
                _push_one(subscription, data=data, headers=headers, keys=keys, session=session)
                for subscription in browsers.get(delivery.member_id, [])
            ]

        attempts: list[_Attempt] = []
        try:
            with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
                started = [(delivery, pool.submit(push_to_member, delivery)) for delivery in deliveries]
                for delivery, future in started:
                    tried = future.result()
                    attempts.extend(tried)
                    yield delivery, _outcome(tried)
        finally:
            _subscriptions_record(attempts)
            if own_session:
                session.close()


def _absolute(name: str, **kwargs: Any) -> str:
    return urljoin(settings.SITE_URL, reverse(name, kwargs=kwargs or None))


def _session() -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    # One kept-alive connection per thread to each push service.
    session.mount("https://", HTTPAdapter(pool_connections=8, pool_maxsize=CONCURRENCY))
    return session


def _push_one(subscription: PushSubscription, *, data: bytes, headers: dict, keys: VapidKeys, session: Any) -> _Attempt:
    import requests
    from pywebpush import WebPushException, webpush

    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    try:
        response = webpush(
            info,
            data=data,
            vapid_private_key=keys.signer,
            # A new dict each time: pywebpush writes the audience (the endpoint's
            # origin) into it, which must not leak to another push service.
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=settings.PUSH_TTL_SECONDS,
            headers=headers,
            requests_session=session,
            timeout=TIMEOUT,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        detail = _short(f"push service {status}: {getattr(exc.response, 'text', '')[:200]}" if status else exc)
        if status in (404, 410):
            return _Attempt(subscription, "gone", detail)
        if status is None or status == 429 or status >= 500:
            return _Attempt(subscription, "temporary", detail)
        return _Attempt(subscription, "refused", detail)
    except (requests.RequestException, OSError) as exc:  # no answer: try again later
        return _Attempt(subscription, "temporary", _short(exc))
    # FCM and Mozilla give the message's address in Location: the provider's id.
    return _Attempt(subscription, "sent", str(response.headers.get("Location", ""))[-100:])


def _outcome(tried: list[_Attempt]) -> Outcome:
    if not tried:
        return PermanentFailure("No browser is subscribed to web push any more.")
    sent = [a for a in tried if a.kind == "sent"]
    if sent:
        return Sent(provider_id=sent[0].detail)
    temporary = [a for a in tried if a.kind == "temporary"]
    if temporary:
        return TemporaryFailure(temporary[0].detail)
    if all(a.kind == "gone" for a in tried):
        return PermanentFailure("Every browser of the member has dropped its subscription.")
    return PermanentFailure(next(a.detail for a in tried if a.kind == "refused"))


def _subscriptions_record(attempts: list[_Attempt]) -> None:
    """What each browser's push service said, in a few statements for the whole batch."""
    now = timezone.now()
    by_kind: dict[str, set[int]] = defaultdict(set)
    errors: dict[str, set[int]] = defaultdict(set)
    for attempt in attempts:
        by_kind[attempt.kind].add(attempt.subscription.pk)
        if attempt.kind in ("temporary", "refused"):
            errors[attempt.detail].add(attempt.subscription.pk)
    if by_kind["gone"]:
        PushSubscription.objects.filter(pk__in=by_kind["gone"]).delete()
    if by_kind["sent"]:
        PushSubscription.objects.filter(pk__in=by_kind["sent"]).update(
            last_success_at=now, failure_count=0, last_error=""
        )
    for error, ids in errors.items():
        PushSubscription.objects.filter(pk__in=ids - by_kind["sent"]).update(
            failure_count=F("failure_count") + 1, last_error=error
        )
    if by_kind["refused"]:
        # Refused again and again, never taken lately: it cannot work (see the setting).
        PushSubscription.objects.filter(
            Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - timedelta(days=7)),
            pk__in=by_kind["refused"] - by_kind["sent"],
            failure_count__gte=settings.PUSH_FORGET_AFTER_REFUSALS,
        ).delete()


# --- personal data: the browsers a member subscribed


def _export_subscriptions(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "device": s.label,
            "endpoint": s.endpoint,
            "subscribed_at": s.created_at.isoformat(),
            "last_push_at": s.last_success_at.isoformat() if s.last_success_at else None,
        }
        for s in push_subscriptions_of(member=member)
    ]


def _erase_subscriptions(member: Member) -> None:
    PushSubscription.objects.filter(member=member).delete()


personal_data.register("push_subscriptions", export=_export_subscriptions, erase=_erase_subscriptions)
