// Offline field capture on every signed-in page (docs/offline.md): installs the
// service worker, shows the number of unsent drafts in the header, sends them
// when the network is back (page load, the "online" event, Background Sync),
// keeps a form marked data-offline on the phone when it cannot be sent, and
// draws the outbox page. Translated texts come from the header badge's data-*.
(function () {
  "use strict";
  var badge = document.getElementById("outbox-badge");
  if (!badge || !window.CivOutbox || !window.indexedDB) { return; }
  var Outbox = window.CivOutbox;
  var text = badge.dataset;
  var user = text.user;
  var channel = window.BroadcastChannel ? new BroadcastChannel("civportal-outbox") : null;
  var sw = navigator.serviceWorker;
  var retryTimer = null;

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }

  // The CSRF token at send time: the cookie (current even when the page is an old offline copy).
  function csrfToken() {
    var name = text.csrfCookie + "=";
    var found = document.cookie.split(";").map(function (c) { return c.trim(); }).filter(function (c) {
      return c.indexOf(name) === 0;
    })[0];
    if (found) { return decodeURIComponent(found.slice(name.length)); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function mine(items) {
    return items.filter(function (item) { return String(item.user) === String(user); });
  }

  function refresh() {
    return Outbox.all().then(function (items) {
      items = mine(items);
      badge.hidden = items.length === 0;
      badge.dataset.count = String(items.length);
      badge.textContent = format(text.template, { count: items.length });
      badge.classList.toggle("has-rejected", items.some(function (i) { return i.state === "rejected"; }));
      document.dispatchEvent(new CustomEvent("outbox:changed", { detail: items }));
      scheduleRetry(items.some(function (i) { return i.state === "queued"; }));
      return items;
    })["catch"](function () { return []; });
  }

  function changed() {
    if (channel) { channel.postMessage("changed"); }
    return refresh();
  }

  var flushing = null;
  function flush() {
    if (!navigator.onLine) { return Promise.resolve(null); }
    if (!flushing) {
      flushing = Outbox.flush({ csrfToken: csrfToken, user: user }).then(function (summary) {
        flushing = null;
        return changed().then(function () { return summary; });
      }, function () {
        flushing = null;
        return null;
      });
    }
    return flushing;
  }

  // While drafts wait and the page stays open (the server was busy), try again each minute.
  function scheduleRetry(waiting) {
    if (waiting && !retryTimer) {
      retryTimer = setInterval(flush, 60000);
    } else if (!waiting && retryTimer) {
      clearInterval(retryTimer);
      retryTimer = null;
    }
  }

  function requestSync() {
    if (!sw) { return; }
    sw.ready.then(function (registration) {
      return registration.sync ? registration.sync.register(Outbox.SYNC_TAG) : undefined;
    })["catch"](function () { return undefined; });
  }

  function hasRoomFor(item) {
    if (!navigator.storage || !navigator.storage.estimate) { return Promise.resolve(true); }
    return navigator.storage.estimate().then(function (estimate) {
      return !estimate.quota || estimate.quota - (estimate.usage || 0) > Outbox.bytesOf(item) * 1.5;
    }, function () { return true; });
  }

  // --- forms that keep working offline -----------------------------------
  function titleOf(form) {
    if (form.dataset.offlineLabel) { return form.dataset.offlineLabel; }
    return (form.dataset.offlineTitle || "").split(/\s+/).filter(Boolean).map(function (id) {
      var field = document.getElementById(id);
      if (!field || !field.value) { return ""; }
      return field.tagName === "SELECT" ? field.options[field.selectedIndex].text : field.value;
    }).filter(Boolean).join(" · ").slice(0, 200) || document.title;
  }

  function setupForm(form) {
    var status = form.querySelector("[data-offline-status]");
    var idInput = form.querySelector("input[data-client-id]");
    var buttons = form.querySelectorAll("[type=submit]");
    if (!idInput) { return; }

    function say(message, isError) {
      if (!status) { return; }
      status.textContent = message;
      status.classList.toggle("error", Boolean(isError));
    }

    function busy(on) {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = on; });
    }

    function keep(item) {
      return hasRoomFor(item).then(function (room) {
        if (!room) { say(text.full, true); return; }
        return Outbox.put(item).then(function () {
          form.reset();
          idInput.value = "";
          say(form.dataset.offlineSaved || text.saved);
          if (navigator.storage && navigator.storage.persist) { navigator.storage.persist()["catch"](function () {}); }
          requestSync();
          form.dispatchEvent(new CustomEvent("outbox:kept", { bubbles: true }));
          return changed();
        });
      })["catch"](function (error) {
        say(error && error.name === "QuotaExceededError" ? text.full : text.failed, true);
      });
    }

    form.addEventListener("submit", function (event) {
      if (form.dataset.nativeSubmit) { return; }
      event.preventDefault();
      // A new id for each draft; the outbox resends a draft with the id it was kept with.
      idInput.value = Outbox.uuid();
      var item = {
        id: idInput.value, url: form.action, user: user, title: titleOf(form), created: new Date().toISOString(),
        state: "queued", errors: [], fields: Outbox.fieldsOf(new FormData(form))
      };
      if (!navigator.onLine) { keep(item); return; }
      busy(true);
      say(text.sending);
      Outbox.send(item, csrfToken(), { live: true }).then(function (answer) {
        if (answer.outcome === "sent") {
          window.location.assign(answer.result.url);
          return;
        }
        busy(false);
        if (answer.outcome === "rejected") {
          // Let the server draw the form with its errors (nothing was recorded).
          say("");
          form.dataset.nativeSubmit = "1";
          HTMLFormElement.prototype.submit.call(form);
          return;
        }
        keep(item);
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline]"), setupForm);

  // --- the outbox page ----------------------------------------------------
  var list = document.getElementById("outbox-list");
  if (list) {
    var page = list.dataset;
    var row = document.getElementById("outbox-row");
    var summary = document.getElementById("outbox-summary");
    var sendButton = document.getElementById("outbox-send");

    document.addEventListener("outbox:changed", function (event) {
      var items = event.detail;
      list.textContent = "";
      items.forEach(function (item) {
        var li = row.content.firstElementChild.cloneNode(true);
        li.querySelector(".outbox-title").textContent = item.title;
        li.querySelector(".outbox-time").textContent = new Date(item.created).toLocaleString();
        li.querySelector(".outbox-state").textContent = item.state === "rejected" ? page.rejected : page.queued;
        li.classList.toggle("rejected", item.state === "rejected");
        var errors = li.querySelector(".outbox-errors");
        (item.errors || []).forEach(function (line) {
          var p = document.createElement("p");
          p.textContent = line;
          errors.appendChild(p);
        });
        li.querySelector(".outbox-retry").hidden = item.state !== "rejected";
        li.querySelector(".outbox-retry").addEventListener("click", function () {
          item.state = "queued";
          item.errors = [];
          Outbox.put(item).then(changed).then(flush);
        });
        li.querySelector(".outbox-discard").addEventListener("click", function () {
          if (window.confirm(page.confirmDiscard)) { Outbox.remove(item.id).then(changed); }
        });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
      summary.textContent = items.length ? format(text.template, { count: items.length }) : page.empty;
      sendButton.hidden = items.length === 0;
    });

    sendButton.addEventListener("click", function () {
      if (!navigator.onLine) { summary.textContent = page.offline; return; }
      flush().then(function (result) {
        if (result && result.left && result.reason === "signin") { summary.textContent = page.signin; }
      });
    });
  }

  // --- the service worker and when to send ----------------------------------
  // Offline the browser could not fetch the worker to check for an update: register when online.
  if (sw && navigator.onLine) {
    sw.register(text.sw, { scope: "/" }).then(function () {
      return sw.ready;
    }).then(function (registration) {
      if (registration.active) {
        var current = document.querySelector("form[data-offline]") ? location.pathname + location.search : "";
        registration.active.postMessage({ type: "keep-pages", current: current });
      }
    })["catch"](function () { return undefined; });
  }
  if (sw) {
    sw.addEventListener("message", function (event) {
      if (event.data && event.data.type === "outbox-changed") { refresh(); }
    });
  }
  if (channel) { channel.onmessage = refresh; }
  window.addEventListener("online", flush);
  refresh().then(function (items) { if (items.length) { flush(); } });
}());
