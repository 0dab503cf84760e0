// The outbox: drafts (form fields and photos as Blobs) kept in IndexedDB on the
// phone until they are sent, each exactly once (docs/offline.md). Used by the
// pages (static/js/offline.js) and by the service worker (Background Sync).
//
// An item: { id: the draft's client id (UUID, also sent as the form's client_id),
//   url, user (who wrote it), title, created (ISO time), state: "queued" | "rejected",
//   errors: [lines], fields: [{ name, value } | { name, blob, filename }] }.
// It leaves the outbox only when the server has answered 2xx: a resend of a draft
// the server already has answers the same finding, so nothing is recorded twice.
(function (root) {
  "use strict";
  var DB_NAME = "civportal-outbox";
  var STORE = "items";
  var LOCK = "civportal-outbox-send";

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function open() {
    var req = root.indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = function () {
      req.result.createObjectStore(STORE, { keyPath: "id" });
    };
    return request(req);
  }

  function withStore(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        Promise.resolve(work(tx.objectStore(STORE))).then(function (value) { result = value; }, reject);
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onabort = tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function all() {
    return withStore("readonly", function (store) { return request(store.getAll()); }).then(function (items) {
      return items.sort(function (a, b) { return a.created < b.created ? -1 : 1; });
    });
  }

  function put(item) {
    return withStore("readwrite", function (store) { return request(store.put(item)); });
  }

  function remove(id) {
    return withStore("readwrite", function (store) { return request(store["delete"](id)); });
  }

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) { return root.crypto.randomUUID(); }
    var b = root.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // The fields of a form as storable values: files become Blobs with their names.
  function fieldsOf(formData) {
    var fields = [];
    formData.forEach(function (value, name) {
      if (typeof value === "string") {
        fields.push({ name: name, value: value });
      } else if (value && value.size) {
        fields.push({ name: name, blob: value.slice(0, value.size, value.type), filename: value.name || "photo.jpg" });
      }
    });
    return fields;
  }

  function bodyOf(item) {
    var body = new FormData();
    item.fields.forEach(function (field) {
      if (field.name === "csrfmiddlewaretoken") { return; }  // stale by now: the header carries today's
      if (field.blob) { body.append(field.name, field.blob, field.filename); } else { body.append(field.name, field.value); }
    });
    return body;
  }

  function bytesOf(item) {
    return item.fields.reduce(function (sum, f) { return sum + (f.blob ? f.blob.size : f.value.length * 2); }, 0);
  }

  // Send one draft. The answer is one of: {outcome: "sent", result} (2xx: leave the outbox),
  // "rejected" with errors (the server refuses it as it is), "signin" (sign in as its writer
  // first), "later" (no network, or the server is busy or failing: try again).
  // options.live: sent from the form the person is looking at (not a kept draft).
  function send(item, csrfToken, options) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken || "" };
    if (!(options && options.live)) { headers["X-Outbox-User"] = String(item.user); }
    return root.fetch(item.url, {
      method: "POST", body: bodyOf(item), credentials: "same-origin", redirect: "follow", headers: headers
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("json") !== -1;
      if (!json) {
        // The sign-in page (the session ended), the CSRF refusal page, or a proxy's error page.
        return { outcome: response.redirected || response.ok || response.status === 403 ? "signin" : "later" };
      }
      return response.json().then(function (data) {
        if (response.ok) { return { outcome: "sent", result: data }; }
        if (response.status === 401 || data.code === "outbox_user" || data.code === "not_authenticated") {
          return { outcome: "signin" };
        }
        if (response.status === 403 && /CSRF/i.test(data.detail || "")) { return { outcome: "signin" }; }
        if (response.status >= 500 || response.status === 429) { return { outcome: "later" }; }
        var errors = data.errors ? (Array.isArray(data.errors) ? data.errors : [JSON.stringify(data.errors)]) : [];
        if (!errors.length && data.detail) { errors = [data.detail]; }
        return { outcome: "rejected", errors: errors, status: response.status };
      });
    }, function () { return { outcome: "later" }; });
  }

  function exclusively(work) {
    if (root.navigator && root.navigator.locks) { return root.navigator.locks.request(LOCK, work); }
    return work();
  }

  // Send every queued draft, oldest first, one at a time; stop at the first that must wait.
  // options: csrfToken() -> the token at send time; user: only this writer's drafts (pages).
  // Resolves with {sent, rejected, left, reason}.
  function flush(options) {
    return exclusively(function () {
      return all().then(function (items) {
        var summary = { sent: 0, rejected: 0, left: 0, reason: "" };
        var queue = items.filter(function (item) {
          return item.state === "queued" && (options.user === undefined || String(item.user) === String(options.user));
        });
        function next() {
          var item = queue.shift();
          if (!item) { return summary; }
          return send(item, options.csrfToken()).then(function (answer) {
            if (answer.outcome === "sent") {
              summary.sent += 1;
              return remove(item.id).then(next);
            }
            if (answer.outcome === "rejected") {
              summary.rejected += 1;
              item.state = "rejected";
              item.errors = answer.errors;
              return put(item).then(next);
            }
            summary.left = queue.length + 1;
            summary.reason = answer.outcome === "signin" ? "signin" : "network";
            return summary;
          });
        }
        return next();
      });
    });
  }

  root.CivOutbox = {
    SYNC_TAG: "civportal-outbox", all: all, put: put, remove: remove, uuid: uuid, fieldsOf: fieldsOf,
    send: send, flush: flush, bytesOf: bytesOf
  };
}(self));
