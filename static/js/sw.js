// The service worker: shows web push notifications, and opens their message when one is clicked.
//
// Served at /sw.js by notifications.views.service_worker (not from /static/), so that
// its scope is the whole site. It caches nothing and fetches nothing: every page still
// comes from the server. A push's payload (notifications/push.py) is small JSON:
// {title, body, url, tag}, where tag is the delivery's id, so a message pushed twice
// after a crash replaces itself instead of showing twice.
"use strict";

const INBOX = "/inbox/";

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
