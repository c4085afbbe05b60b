// Web push on the settings page: turn notifications on or off for this device.
//
// Progressive enhancement: without JavaScript or without push support the page says
// so, and the list of devices (with its Remove buttons) works as plain forms. The
// browser asks for permission only when the resident presses the button, never on
// page load. The subscription goes to notifications:push_subscriptions as JSON with
// the CSRF token; the server answers with a message shown after the page reloads.
(() => {
  "use strict";
  const section = document.getElementById("push");
  if (!section) return;
  const controls = section.querySelector(".push-controls");
  const unsupported = document.getElementById("push-unsupported");
  const status = document.getElementById("push-status");
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const key = section.dataset.pushKey;
  const url = section.dataset.pushUrl;
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!key || !url || !supported || !window.isSecureContext) return;
  controls.hidden = false;
  unsupported.hidden = true;
  const csrf = section.querySelector("input[name=csrfmiddlewaretoken]").value;
  // The endpoints of the devices this account has: is this browser one of them?
  const known = new Set(Array.from(section.querySelectorAll("tr[data-endpoint]"), (row) => row.dataset.endpoint));

  const say = (text) => { status.textContent = text; };

  const keyBytes = (base64url) => {
    const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  };

  const sameKey = (buffer, expected) => {
    if (!buffer) return false;
    const a = new Uint8Array(buffer);
    return a.length === expected.length && a.every((byte, i) => byte === expected[i]);
  };

  const send = (method, body) => fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });

  const errorOf = async (response) => {
    const data = await response.json().catch(() => ({}));
    return data.error || "Something went wrong. Please try again.";
  };

  const current = async () => {
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  };

  const show = (subscribed) => {
    document.getElementById("push-on-wrap").hidden = subscribed;
    document.getElementById("push-off-wrap").hidden = !subscribed;
  };

  on.addEventListener("click", async () => {
    on.disabled = true;
    say("Asking your browser…");
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say("Notifications are blocked for this site. To get them, allow notifications for this site in your browser's settings, then try again.");
        return;
      }
      const registration = await navigator.serviceWorker.register(section.dataset.workerUrl || "/sw.js", { scope: "/" });
      await navigator.serviceWorker.ready;
      const applicationServerKey = keyBytes(key);
      let subscription = await registration.pushManager.getSubscription();
      // Made under another key (the site's keys changed): it cannot carry our messages.
      if (subscription && !sameKey(subscription.options.applicationServerKey, applicationServerKey)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription = subscription || await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
      const response = await send("POST", subscription.toJSON());
      if (!response.ok) {
        say(await errorOf(response));
        return;
      }
      say("Notifications are on for this device.");
      window.location.reload();
    } catch (error) {
      say(`This browser could not turn notifications on (${error.message || error.name}).`);
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    off.disabled = true;
    try {
      const subscription = await current();
      if (subscription) {
        const response = await send("DELETE", { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
        if (!response.ok && response.status !== 404) {
          say(await errorOf(response));
          return;
        }
      }
      say("Notifications are off for this device.");
      window.location.reload();
    } catch (error) {
      say(`This browser could not turn notifications off (${error.message || error.name}).`);
    } finally {
      off.disabled = false;
    }
  });

  current().then((subscription) => {
    show(Boolean(subscription) && known.has(subscription.endpoint) && Notification.permission === "granted");
  }).catch(() => show(false));
})();
