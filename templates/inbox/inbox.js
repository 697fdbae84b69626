(function () {
  "use strict";
  var list = document.getElementById("items");
  var badge = document.getElementById("unread-count");
  var unreadLabel = document.getElementById("unread-label");
  var announcer = document.getElementById("live-announcer");
  var status = document.getElementById("stream-status");
  var show = list.dataset.show;

  function setUnread(count) {
    badge.textContent = count;
    badge.dataset.count = count;
    unreadLabel.textContent = "unread notification" + (count === 1 ? "" : "s");
    document.title = (count ? "(" + count + ") " : "") + "Notifications";
  }

  function refreshUnread() {
    fetch(list.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { setUnread(body.unread); } });
  }

  function actionUrl(id, action) {
    return list.dataset.actionUrl.replace("/0/", "/" + id + "/").replace("ACTION", action);
  }

  // Puts an item's state on its markup: the same code for server-rendered and live items.
  function applyItem(li, item) {
    li.dataset.id = item.id;
    li.classList.toggle("unread", !item.is_read);
    var readForm = li.querySelector('form[data-kind="read"]');
    var archiveForm = li.querySelector('form[data-kind="archive"]');
    readForm.action = actionUrl(item.id, item.is_read ? "unread" : "read");
    readForm.querySelector(".label").textContent = item.is_read ? "Mark unread" : "Mark read";
    archiveForm.action = actionUrl(item.id, item.is_archived ? "unarchive" : "archive");
    archiveForm.querySelector(".label").textContent = item.is_archived ? "Unarchive" : "Archive";
  }

  function newItem(item) {
    var li = document.getElementById("item-template").content.firstElementChild.cloneNode(true);
    var title = li.querySelector(".title");
    if (item.url) {
      var link = document.createElement("a");
      link.href = item.url;
      link.textContent = item.title;
      title.replaceChildren(link);
    } else {
      title.textContent = item.title;
    }
    var body = li.querySelector(".body");
    body.textContent = item.body;
    body.hidden = !item.body;
    var time = li.querySelector("time");
    time.dateTime = item.created_at;
    time.textContent = new Date(item.created_at).toLocaleString();
    li.querySelectorAll(".visually-hidden").forEach(function (span) { span.textContent = ": " + item.title; });
    applyItem(li, item);
    // inbox_features.js adds the item's actions and its snooze form.
    document.dispatchEvent(new CustomEvent("inbox:item", { detail: { li: li, item: item } }));
    return li;
  }
  window.inboxPage = { newItem: newItem, setUnread: setUnread };

  function fits(item) {
    return show === "archived" ? item.is_archived : !item.is_archived && (show === "all" || !item.is_read);
  }

  function updateEmpty() {
    document.getElementById("empty").hidden = list.children.length > 0;
  }

  // Sends a form with fetch; the view answers JSON. On any failure the form is
  // posted the plain way, which works without this script.
  function post(form) {
    return fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  list.addEventListener("submit", function (submit) {
    var form = submit.target;
    var li = form.closest("li");
    submit.preventDefault();
    post(form)
      .then(function (body) {
        setUnread(body.unread);
        if (fits(body.item)) { applyItem(li, body.item); } else { li.remove(); updateEmpty(); }
        announcer.textContent = body.item.title + ": " +
          (form.dataset.kind === "read" ? (body.item.is_read ? "marked read" : "marked unread")
                                        : (body.item.is_archived ? "archived" : "moved back to the inbox"));
      })
      .catch(function () { form.submit(); });
  });

  document.getElementById("read-all").addEventListener("submit", function (submit) {
    var form = submit.target;
    submit.preventDefault();
    post(form)
      .then(function (body) {
        setUnread(body.unread);
        list.querySelectorAll("li.unread").forEach(function (li) {
          if (show === "unread") { li.remove(); } else {
            li.classList.remove("unread");
            var readForm = li.querySelector('form[data-kind="read"]');
            readForm.action = actionUrl(li.dataset.id, "unread");
            readForm.querySelector(".label").textContent = "Mark unread";
          }
        });
        updateEmpty();
        announcer.textContent = body.updated + " marked read";
      })
      .catch(function () { form.submit(); });
  });

  if (!window.EventSource) { return; }
  var stream = new EventSource(list.dataset.streamUrl + "?after=" + list.dataset.newestId);
  stream.addEventListener("open", function () {
    status.textContent = "Live: new notifications appear here as they arrive.";
    document.body.dataset.stream = "open";
  });
  stream.addEventListener("error", function () {
    status.textContent = stream.readyState === EventSource.CLOSED
      ? "Live updates stopped; reload the page to see new notifications."
      : "Reconnecting…";
    document.body.dataset.stream = stream.readyState === EventSource.CLOSED ? "closed" : "connecting";
  });
  stream.addEventListener("notification", function (message) {
    var item = JSON.parse(message.data);
    if (document.querySelector('#items li[data-id="' + item.id + '"]') || !fits(item)) { refreshUnread(); return; }
    list.prepend(newItem(item));
    updateEmpty();
    announcer.textContent = "New notification: " + item.title;
    refreshUnread();
  });
  // A batch's item while its window is open: its count and list changed.
  stream.addEventListener("notification_updated", function (message) {
    var item = JSON.parse(message.data);
    var shown = document.querySelector('#items li[data-id="' + item.id + '"]');
    if (fits(item)) {
      var li = newItem(item);
      if (shown) { shown.replaceWith(li); } else { list.prepend(li); }
      announcer.textContent = "Updated: " + item.title;
    } else if (shown) {
      shown.remove();
    }
    updateEmpty();
    refreshUnread();
  });
})();
