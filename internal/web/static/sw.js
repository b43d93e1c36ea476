// khula's service worker: keeps what a field worker needs with no
// connection. Static files are served from the cache. Pages always come
// from the network when there is one; only the pages the work list asks
// to keep ("keep" from the page) are stored: the work list as drawn for
// the device (/work?device=1) and the forms it links (fetched with
// ?device=1 too): the copies drawn for the device name no child. Nothing else a practitioner reads online is
// written to the device in clear. The API is never cached: khula.js
// queues changes itself, encrypted. Signing out forgets every page.
"use strict";
var ASSETS = __ASSETS__;
var STATIC = "khula-static-" + ASSETS.join("|").replace(/[^a-f0-9]/g, "").slice(0, 24);
var PAGES = "khula-pages";

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(STATIC).then(function (c) { return c.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("khula-static-") === 0 && n !== STATIC; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// Pages are kept gzipped (a 30-child work list and its forms is well under
// a megabyte that way) and opened when served.
function keep(cache, url, res) {
  if (typeof CompressionStream === "undefined") return cache.put(url, res);
  var headers = new Headers(res.headers);
  headers.set("X-Khula-Kept", "gzip");
  headers.delete("Content-Length");
  return cache.put(url, new Response(res.body.pipeThrough(new CompressionStream("gzip")), { status: res.status, headers: headers }));
}

function opened(res) {
  if (!res || res.headers.get("X-Khula-Kept") !== "gzip") return res;
  var headers = new Headers(res.headers);
  headers.delete("X-Khula-Kept");
  return new Response(res.body.pipeThrough(new DecompressionStream("gzip")), { status: res.status, headers: headers });
}

function keepable(url) {
  return url.origin === self.location.origin &&
    ((url.pathname === "/work" && url.searchParams.get("device") === "1") || /^\/cycles\/[^/]+\/[0-9]+\/[^/]+\/forms\/[^/]+$/.test(url.pathname));
}

self.addEventListener("message", function (ev) {
  var msg = ev.data || {};
  if (msg.type === "forget") {
    ev.waitUntil(caches.delete(PAGES));
    return;
  }
  if (msg.type === "keep" && Array.isArray(msg.urls)) {
    var urls = msg.urls.map(function (u) { return new URL(u, self.location.origin); }).filter(keepable);
    ev.waitUntil(caches.open(PAGES).then(function (c) {
      return Promise.all(urls.map(function (u) {
        // The copy drawn for the device names no child; it is kept under
        // the address the work list links to.
        var device = new URL(u.href);
        device.searchParams.set("device", "1");
        return fetch(device.href, { credentials: "same-origin" }).then(function (res) {
          if (res.ok && !res.redirected) return keep(c, u.href, res);
        }).catch(function () {});
      }));
    }));
  }
});

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (url.pathname.indexOf("/static/") === 0) {
    ev.respondWith(caches.match(req).then(function (hit) { return hit || fetch(req); }));
    return;
  }
  if (req.mode !== "navigate") return;
  ev.respondWith(fetch(req).catch(function () {
    return caches.open(PAGES).then(function (c) {
      var want = url.pathname === "/work" ? new URL("/work?device=1", self.location.origin).href : req.url;
      return c.match(want).then(function (hit) {
        return opened(hit) || c.match(new URL("/work?device=1", self.location.origin).href).then(function (w) {
          return opened(w) || new Response("<!doctype html><title>Offline</title><p>No connection, and this page was not kept on the device. Open it once online first.</p>",
            { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
        });
      });
    });
  }));
});
