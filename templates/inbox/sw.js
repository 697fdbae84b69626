/* The inbox's service worker: shows what the service pushes (title, body, url) and
   opens the url when the notification is clicked. Scope: /inbox/. */
"use strict";

// The service's link rule (apps/common/links.py), again at the last step: http(s) or a
// path on this site. Anything else (javascript:, data:, //other-host, backslashes,
// whitespace or control characters) opens the inbox instead.
function safeUrl(value) {
  var fallback = new URL("/inbox/", self.location.origin).href;
  if (typeof value !== "string" || !value || /[\s\u0000-\u001f\u007f\\]/.test(value) || value.startsWith("//")) {
    return fallback;
  }
  try {
    var url = new URL(value, self.location.origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : fallback;
  } catch (error) {
    return fallback;
  }
}

function payloadOf(event) {
  if (!event.data) {
    return {};
  }
  try {
    return event.data.json();
  } catch (error) {
    return { body: event.data.text() };
  }
}

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var payload = payloadOf(event);
  var title = typeof payload.title === "string" && payload.title ? payload.title : "New notification";
  var options = {
    body: typeof payload.body === "string" ? payload.body : "",
    data: { url: safeUrl(payload.url) },
  };
  // A re-sent push replaces its notification instead of showing it twice.
  if (typeof payload.tag === "string" && payload.tag) {
    options.tag = payload.tag;
  } else if (payload.notification_id) {
    options.tag = "notification-" + payload.notification_id;
  }
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = safeUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(self.clients.openWindow(url));
});
