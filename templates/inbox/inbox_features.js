(function () {
  "use strict";
  // The inbox page's "Load more", item actions, snooze and grouped lines. Each works
  // without this script (a link, plain links, a form); this makes them work in place.
  var list = document.getElementById("items");
  var features = document.getElementById("inbox-features");
  var more = document.getElementById("load-more");
  var announcer = document.getElementById("live-announcer");
  var page = window.inboxPage;

  function updateEmpty() {
    document.getElementById("empty").hidden = list.children.length > 0;
  }

  // An item built in the browser (live, or loaded by "Load more") gets its actions and
  // its snooze form here. The server sends only actions whose link passed its rule.
  document.addEventListener("inbox:item", function (event) {
    var li = event.detail.li;
    var item = event.detail.item;
    var box = li.querySelector(".item-actions");
    box.replaceChildren();
    (item.actions || []).forEach(function (action) {
      var link = document.createElement("a");
      link.className = "action action-" + action.kind;
      link.href = action.url;
      link.textContent = action.label;
      box.append(link);
    });
    box.hidden = box.children.length === 0;
    var snooze = li.querySelector('form[data-kind="snooze"]');
    snooze.action = features.dataset.snoozeUrl.replace("/0/", "/" + item.id + "/");
    snooze.querySelector(".snooze-title").textContent = item.title;
  });

  function setGroupUnread(group, count) {
    var badge = group.querySelector(".group-unread");
    // Only on a change: this runs from the observer below, which this would wake again.
    if (badge.dataset.count === String(count)) { return; }
    badge.dataset.count = count;
    badge.textContent = count + " unread";
  }

  function newGroup(line) {
    var group = document.getElementById("group-template").content.firstElementChild.cloneNode(true);
    group.dataset.group = line.key;
    group.querySelector(".group-title").textContent = line.title;
    setGroupUnread(group, line.unread);
    var items = group.querySelector(".group-items");
    line.items.forEach(function (item) { items.append(page.newItem(item)); });
    var note = group.querySelector(".group-more");
    note.textContent = "The " + line.items.length + " newest of " + line.size + " are shown.";
    note.hidden = line.size <= line.items.length;
    return group;
  }

  // Marking read, archiving or snoozing inside a line changes the line: recount its
  // unread items (when it shows them all) and drop it once it is empty.
  new MutationObserver(function () {
    list.querySelectorAll("li.group").forEach(function (group) {
      if (!group.querySelector("li.item")) { group.remove(); return; }
      if (group.querySelector(".group-more").hidden) {
        setGroupUnread(group, group.querySelectorAll("li.item.unread").length);
      }
    });
    updateEmpty();
  }).observe(list, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });

  // "Load more": the next cursor page of the inbox API, grouped as the page is.
  if (more) {
    more.addEventListener("click", function (click) {
      click.preventDefault();
      if (more.getAttribute("aria-busy") === "true") { return; }
      more.setAttribute("aria-busy", "true");
      var url = features.dataset.moreUrl + "&cursor=" + encodeURIComponent(more.dataset.cursor);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (body) {
          var first = null;
          body.results.forEach(function (line) {
            var li = line.size > 1 ? newGroup(line) : page.newItem(line.items[0]);
            list.append(li);
            first = first || li;
          });
          // Keyboard and screen reader users continue from the first new line.
          if (first) { first.tabIndex = -1; first.focus({ preventScroll: true }); }
          var next = body.next ? new URL(body.next).searchParams.get("cursor") : null;
          if (next) {
            more.dataset.cursor = next;
            var link = new URL(more.href);
            link.searchParams.set("cursor", next);
            more.href = link.toString();
          } else {
            features.hidden = true;
          }
          updateEmpty();
          announcer.textContent = body.results.length + " more notifications loaded";
          more.removeAttribute("aria-busy");
        })
        .catch(function () { window.location.href = more.href; });
    });
  }

  // Snooze in place. Caught before inbox.js's own form handler (capture on document),
  // which knows only read and archive.
  document.addEventListener("submit", function (submit) {
    var form = submit.target;
    if (form.dataset.kind !== "snooze") { return; }
    submit.preventDefault();
    submit.stopPropagation();
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (body) {
      page.setUnread(body.unread);
      form.closest("li.item").remove();
      announcer.textContent = body.item.title + ": snoozed until " +
        new Date(body.item.snoozed_until).toLocaleString();
    }).catch(function () { form.submit(); });
  }, true);
})();
