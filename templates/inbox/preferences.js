(function () {
  "use strict";
  var form = document.getElementById("preferences-form");
  var saveStatus = document.getElementById("save-status");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  // A message rendered with the page may not be announced: set it again once loaded.
  if (saveStatus.textContent) {
    var text = saveStatus.textContent;
    saveStatus.textContent = "";
    setTimeout(function () { saveStatus.textContent = text; }, 100);
  }

  function showErrors(details) {
    form.querySelectorAll(".field-errors").forEach(function (box) {
      var messages = details[box.dataset.field] || [];
      box.textContent = "";
      messages.forEach(function (message) {
        var p = document.createElement("p");
        p.className = "field-error";
        p.textContent = message;
        box.appendChild(p);
      });
      var input = document.getElementById(box.dataset.field);
      if (input) {
        input.setAttribute("aria-invalid", messages.length ? "true" : "false");
        var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id !== box.id;
        });
        if (messages.length) {
          described.push(box.id);
        }
        input.setAttribute("aria-describedby", described.join(" "));
      }
    });
  }

  // Saves without a reload; the server answers the same form with JSON.
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    saveStatus.textContent = "Saving…";
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (answer.ok) {
          showErrors({});
          saveStatus.textContent = answer.body.message;
          form.dataset.saved = String(Number(form.dataset.saved || 0) + 1);
        } else {
          showErrors(answer.body.error.details || {});
          saveStatus.textContent = answer.body.error.message;
        }
      })
      .catch(function () {
        saveStatus.textContent = "Could not reach the server; nothing was saved.";
      });
  });

  // Web push: a service worker under /inbox/, the browser's subscription registered
  // with the API (the session and the CSRF token of this page).
  var button = document.getElementById("push-enable");
  var pushStatus = document.getElementById("push-status");

  function keyBytes(base64url) {
    var raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    pushStatus.textContent = "This browser does not support push notifications.";
    return;
  }
  if (!button.dataset.vapidKey) {
    pushStatus.textContent = "Push notifications are not configured on this service.";
    return;
  }
  button.hidden = false;
  pushStatus.textContent = "Push notifications are off in this browser.";
  navigator.serviceWorker.getRegistration(button.dataset.scope)
    .then(function (registration) { return registration ? registration.pushManager.getSubscription() : null; })
    .then(function (subscription) {
      if (subscription) {
        pushStatus.textContent = "Push notifications are on in this browser.";
      }
    })
    .catch(function () { /* the button still works */ });

  button.addEventListener("click", function () {
    button.disabled = true;
    pushStatus.textContent = "Turning on push notifications…";
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          throw new Error("Notifications are blocked for this site in the browser's settings.");
        }
        return navigator.serviceWorker.register(button.dataset.workerUrl, { scope: button.dataset.scope });
      })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(button.dataset.vapidKey),
        });
      })
      .then(function (subscription) {
        return fetch(button.dataset.registerUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify(subscription.toJSON()),
        });
      })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) { throw new Error(body.error.message); });
        }
        pushStatus.textContent = "Push notifications are on in this browser.";
        button.dataset.subscribed = "true";
      })
      .catch(function (error) {
        pushStatus.textContent = "Push notifications could not be turned on: " + error.message;
      })
      .finally(function () { button.disabled = false; });
  });
})();
