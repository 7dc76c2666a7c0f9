/* The attendance pages' service worker (issue 16, ADR 26), served as /courses/sw.js so that its scope is /courses/.
 *
 * An attendance page is fetched from the network when there is one; without, the worker answers with the offline
 * page (/courses/offline/), which draws the sheet from what the phone keeps in IndexedDB. The offline page and the
 * static files it needs are cached when the worker is installed; none of them holds personal data. Background
 * Sync (tag "lms-attendance", registered by the pages) sends the marks waiting on the phone for the user logged in
 * on it, even with the page closed, in the language the pages were shown in; an open page is told the outcome.
 */
"use strict";
importScripts("/static/offline/core.js");

var VERSION = "lms-offline-v3";
var SHELL = "/courses/offline/";
var ASSETS = [
  SHELL,
  "/static/vendor/bootstrap/bootstrap.min.css",
  "/static/vendor/bootstrap/bootstrap.bundle.min.js",
  "/static/lms.css",
  "/static/offline/offline.css",
  "/static/offline/core.js",
  "/static/offline/page.js",
  "/static/offline/attendance.js",
  "/static/offline/icon-192.png",
  "/static/offline/icon-512.png",
  "/courses/offline/manifest.webmanifest",
];
var ATTENDANCE = /^\/courses\/sessions\/\d+\/attendance$/;
// The offline page's menu leads to the classes list too: with no signal, the offline page (the sessions kept on the
// phone) answers it rather than the browser's error page.
var MENU = ["/courses/classes"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (cache) {
    return cache.addAll(ASSETS.map(function (url) { return new Request(url, { credentials: "omit" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== VERSION; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (ATTENDANCE.test(url.pathname) || url.pathname === SHELL || MENU.indexOf(url.pathname) >= 0)) {
    // The network first: with a signal the server's page is always the truth.
    event.respondWith(fetch(request).then(function (response) {
      // The offline page names nobody: a fresh copy replaces the cached one (a release that kept this file).
      if (url.pathname === SHELL && response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(VERSION).then(function (cache) { return cache.put(SHELL, copy); });
      }
      return response;
    }).catch(function () {
      return caches.open(VERSION).then(function (cache) { return cache.match(SHELL); });
    }));
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    // Static files: the cached copy at once, refreshed behind it for the next visit.
    event.respondWith(caches.open(VERSION).then(function (cache) {
      return cache.match(url.pathname).then(function (hit) {
        var network = fetch(request).then(function (response) {
          if (response.ok) cache.put(url.pathname, response.clone());
          return response;
        });
        return hit || network;
      });
    }));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "lms-attendance") return;
  var L = self.LmsOffline;
  event.waitUntil(Promise.all([L.getMeta("user"), L.getMeta("lang")]).then(function (meta) {
    var userId = meta[0];
    if (userId === null || userId === undefined) return null;
    return L.sync(userId, [], meta[1] || "vi").then(function (outcome) {
      // An open attendance page redraws what the server now holds.
      return self.clients.matchAll({ type: "window" }).then(function (clients) {
        clients.forEach(function (client) { client.postMessage({ type: "lms-synced", outcome: outcome }); });
      }).then(function () {
        // Rejecting asks the browser to try again later (with its own backoff).
        if (outcome.state === "failed") throw new Error("attendance sync failed");
        return outcome;
      });
    });
  }));
});
