// The service worker: shows web push notifications, and opens their message when one is clicked.
//
// Served at /sw.js by notifications.views.service_worker (not from /static/), so that
// its scope is the whole site. It caches nothing and fetches nothing: every page still
// comes from the server. A push's payload (notifications/push.py) is small JSON:
// {title, body, url, tag}, where tag is the delivery's id, so a message pushed twice
// after a crash replaces itself instead of showing twice.
"use strict";

const INBOX = "/inbox/";
// notifications:push_subscription_renew
const RENEW = "/push/renew/";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data ? event.data.text() : "" };
  }
  const options = {
    body: message.body || "",
    data: { url: message.url || INBOX },
    icon: "/static/img/favicon.svg",
    lang: "en-GB",
  };
  if (message.tag) options.tag = message.tag;
  event.waitUntil(self.registration.showNotification(message.title || "New message", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const wanted = new URL((event.notification.data && event.notification.data.url) || INBOX, self.location.origin);
  // Only our own pages: a notification never opens another site.
  const url = wanted.origin === self.location.origin ? wanted.href : new URL(INBOX, self.location.origin).href;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const tab = open.find((client) => client.url === url && "focus" in client);
    return tab ? tab.focus() : self.clients.openWindow(url);
  })());
});

// The push service renewed or expired this browser's subscription (Firefox does; some
// browsers never fire this), possibly with no page of the site open. Subscribe again with
// the same key if the browser has not already, and hand the server the new subscription
// with the old one's endpoint and secret, which prove it is the same browser: no cookie,
// no sign-in needed. Without the old subscription there is nothing to prove that with;
// the resident turns notifications on again from their settings.
self.addEventListener("pushsubscriptionchange", (event) => {
  const old = event.oldSubscription;
  if (!old) return;
  event.waitUntil((async () => {
    const renewed = event.newSubscription || await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: old.options.applicationServerKey,
    });
    await fetch(RENEW, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ old: { endpoint: old.endpoint, auth: old.toJSON().keys.auth }, new: renewed.toJSON() }),
    });
  })());
});
