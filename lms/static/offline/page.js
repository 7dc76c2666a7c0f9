/* On every page: who is logged in on this phone, the log-out warning, and sending the marks waiting on the phone
 * as soon as there is a signal: Background Sync through the worker where the browser has it (registered when a
 * mark is kept without a signal, when a send fails and when the page is left with marks waiting), and otherwise the
 * `online` event and retries with backoff (2 s doubling to 5 min).
 */
(function () {
  "use strict";
  var L = window.LmsOffline;
  var tag = document.getElementById("lms-offline");
  if (!L || !tag || !("indexedDB" in window)) return;
  var shell = tag.dataset.shell === "1";  // the offline page: nobody is named in it, the phone remembers who
  var userId = tag.dataset.user ? Number(tag.dataset.user) : null;
  var lang = document.documentElement.lang || "vi";
  var delay = 0;
  var timer = null;
  var ready;

  function announce(detail) {
    window.dispatchEvent(new CustomEvent("lms-offline-change", { detail: detail || {} }));
  }

  // A different user (or nobody) on this phone: forget the previous user's rosters before anything is shown.
  // The worker sends in the page's language too (the server words its refusals in it).
  ready = L.setMeta("lang", lang).then(function () { return L.getMeta("user"); }).then(function (previous) {
    if (shell) { userId = previous; return userId; }
    if (previous === userId) return userId;
    return L.forgetRosters(userId).then(function () { return L.setMeta("user", userId); })
      .then(function () { return userId; });
  }).catch(function () { return userId; });

  var inflight = null;
  var again = false;
  var watched = [];

  // One sync at a time; a tap during a sync starts another one after it (its mark was not in the batch).
  function run() {
    clearTimeout(timer);
    timer = null;
    if (userId === null || !navigator.onLine) return Promise.resolve(null);  // `online` starts it again
    if (inflight) { again = true; return inflight; }
    announce({ syncing: true });
    inflight = L.sync(userId, watched, lang).then(function (outcome) {
      inflight = null;
      if (outcome.state === "failed" && outcome.soon) {
        timer = setTimeout(run, 1000);  // the same batch is being applied: its answer comes in a moment
      } else if (outcome.state === "failed") {
        delay = Math.min(Math.max(delay * 2, 2000), 5 * 60 * 1000);
        timer = setTimeout(run, delay);
        backgroundSync();  // the worker tries too, even if this page is closed before the next attempt
      } else {
        delay = 0;
      }
      announce({ outcome: outcome });
      if (again && outcome.state === "done") run();  // marks tapped during this sync; a failure retries them all
      again = false;
      return outcome;
    });
    return inflight;
  }

  // Soon, not at once: "everyone present" and the exceptions tapped after it go out as one batch, not as a batch
  // and then corrections (each an overwrite in the audit). The marks are on the phone meanwhile: nothing waits on it.
  var SOON = 1500;
  function soon() {
    if (inflight) { again = true; return; }
    clearTimeout(timer);
    timer = setTimeout(run, SOON);
  }

  function pending() {
    if (userId === null) return Promise.resolve([]);
    return L.byUser("queue", userId).then(function (marks) {
      return marks.filter(function (m) { return m.state === "waiting"; });
    });
  }

  // Ask the worker to send when the browser sees a signal, even with this tab closed (where the browser has
  // Background Sync: Chromium-based browsers). Resolves to whether a sync was registered.
  function backgroundSync() {
    if (!("serviceWorker" in navigator)) return Promise.resolve(false);
    return navigator.serviceWorker.getRegistration("/courses/").then(function (reg) {
      if (reg && reg.sync) return reg.sync.register(SYNC_TAG).then(function () { return true; });
      return false;
    }).catch(function () { return false; });
  }
  var SYNC_TAG = "lms-attendance";

  window.addEventListener("online", function () { delay = 0; run(); });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "lms-synced") announce({ outcome: event.data.outcome, worker: true });
    });
  }
  window.addEventListener("offline", function () { announce({}); });
  // Leaving the page (closing the tab, switching apps) with marks waiting: hand them to the worker.
  function handOver() {
    pending().then(function (marks) { if (marks.length) backgroundSync(); }).catch(function () { return null; });
  }
  window.addEventListener("pagehide", handOver);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") handOver();
  });

  // How long the log-out waits for the phone's store: IndexedDB may answer late on a busy phone, or never when its
  // database is stuck. The log-out then goes on without the count: the marks stay on the phone under this user's id,
  // never shown or sent for anyone else, and go when they log in again (the warning is lost, not the marks).
  var LOGOUT_WAIT = 5000;

  document.querySelectorAll("form[action$='/logout']").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.checked === "1") return;
      event.preventDefault();
      var state = "counting";  // then "forgetting" (going), "stay" (the warning declined) or "left"
      function leave() {
        if (state === "left" || state === "stay") return;
        state = "left";
        clearTimeout(timer);
        form.dataset.checked = "1";
        form.submit();
      }
      var timer = setTimeout(leave, LOGOUT_WAIT);
      pending().then(function (marks) {
        if (state !== "counting") return;
        if (marks.length && !window.confirm((tag.dataset.logoutWarning || "{n}").replace("{n}", marks.length))) {
          state = "stay";
          clearTimeout(timer);
          return;
        }
        state = "forgetting";
        return L.forgetRosters(null).then(function () { return L.setMeta("user", null); }).then(leave);
      }).catch(leave);
    });
  });

  window.LmsOfflinePage = {
    user: function () { return userId; },
    ready: ready,
    sync: run,
    soon: soon,
    watch: function (sessionId) { if (watched.indexOf(sessionId) < 0) watched.push(sessionId); },
    pending: pending,
    backgroundSync: backgroundSync,
    syncTag: SYNC_TAG,
    lang: lang,
    announce: announce,
  };

  ready.then(pending).then(function (marks) { if (marks.length) run(); });
})();
