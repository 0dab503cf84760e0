/* civportal's service worker (docs/offline.md), served at /sw.js by civportal.pwa.
   - Static files of the page shell: from the cache, fetched once per version.
   - Pages marked offline-capable by the server (header X-Offline-Page): from the
     network while there is one, kept in the cache, shown from it when the network
     is gone or too slow. Other pages offline: the "you are offline" page.
   - Drafts in the outbox (IndexedDB, static/js/outbox.js): sent on Background Sync. */
"use strict";
var CONFIG = {{ config|safe }};
importScripts(CONFIG.outboxJs);

var STATIC_CACHE = "civportal-static-" + CONFIG.version;
var PAGE_CACHE = "civportal-pages";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) {
      return cache.addAll(CONFIG.assets);
    }).then(function () {
      return Promise.all(CONFIG.pages.map(keepPage));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("civportal-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isKeepable(response) {
  return response && response.ok && response.type === "basic" && response.headers.get(CONFIG.header) === "1";
}

// Precache a page the signed-in user may open later without a network; pages they may not see are skipped.
function keepPage(url) {
  return fetch(url, { credentials: "same-origin", redirect: "manual" }).then(function (response) {
    if (isKeepable(response)) {
      return caches.open(PAGE_CACHE).then(function (cache) { return cache.put(url, response); });
    }
    return undefined;
  }).catch(function () { return undefined; });
}

// Pages answer with "Vary: Cookie, Accept-Language": a worker sees no cookies, and a kept
// page is for this phone's signed-in user anyway (emptied on sign-in and sign-out).
function cachedPage(request) {
  return caches.open(PAGE_CACHE).then(function (cache) { return cache.match(request, { ignoreVary: true }); });
}

function offlineAnswer(request) {
  return cachedPage(request).then(function (page) {
    return page || caches.open(STATIC_CACHE).then(function (cache) {
      return cache.match(CONFIG.offlineUrl, { ignoreVary: true });
    });
  }).then(function (page) { return page || Response.error(); });
}

function fromNetworkKeeping(request) {
  return fetch(request).then(function (response) {
    if (isKeepable(response)) {
      var copy = response.clone();
      caches.open(PAGE_CACHE).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  });
}

// A page: the network's answer; the kept copy when the network fails, or when it
// has not answered within the timeout and a copy exists (a basement, a market hall).
function page(request) {
  return new Promise(function (resolve) {
    var settled = false;
    function settle(response) { if (!settled && response) { settled = true; resolve(response); } }
    var timer = setTimeout(function () { cachedPage(request).then(settle); }, CONFIG.networkTimeoutMs);
    fromNetworkKeeping(request).then(function (response) {
      clearTimeout(timer);
      settle(response);
    }, function () {
      clearTimeout(timer);
      offlineAnswer(request).then(settle);
    });
  });
}

function staticFile(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method !== "GET") {
    if (CONFIG.purgeOn.indexOf(url.pathname) !== -1) {
      event.waitUntil(caches.delete(PAGE_CACHE));
    }
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (url.pathname.indexOf(CONFIG.staticUrl) === 0 || url.pathname === CONFIG.manifestUrl) {
    event.respondWith(staticFile(request));
  }
});

function csrfToken() {
  if (!self.cookieStore) { return Promise.resolve(""); }
  return self.cookieStore.get(CONFIG.csrfCookie).then(function (cookie) { return cookie ? cookie.value : ""; });
}

function tellPages() {
  return self.clients.matchAll({ type: "window" }).then(function (pages) {
    pages.forEach(function (client) { client.postMessage({ type: "outbox-changed" }); });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag !== self.CivOutbox.SYNC_TAG) { return; }
  event.waitUntil(csrfToken().then(function (token) {
    // Without a token (no cookie access here) the pages send the drafts when they open.
    if (!token) { return undefined; }
    return self.CivOutbox.flush({ csrfToken: function () { return token; } }).then(function (summary) {
      return tellPages().then(function () {
        if (summary.left && summary.reason === "network") { throw new Error("retry"); }
      });
    });
  }));
});

// Each page asks for the pages to keep ahead; only those not kept yet are fetched
// (after signing in again the kept pages were emptied). A page with an offline form
// names itself: opened before the worker ran, it did not pass through it.
function keepMissingPages(current) {
  var urls = CONFIG.pages.concat(current ? [current] : []);
  return caches.open(PAGE_CACHE).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return cache.match(url, { ignoreVary: true }).then(function (hit) { return hit ? undefined : keepPage(url); });
    }));
  });
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "keep-pages") {
    // The page that installed the worker was loaded before it: keep it too if the server allows.
    var current = typeof event.data.current === "string" && /^\/(?!\/)/.test(event.data.current) ? event.data.current : "";
    event.waitUntil(keepMissingPages(current));
  }
});
