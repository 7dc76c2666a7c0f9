/* On every page: who is logged in on this phone, the log-out warning, and sending the marks waiting on the phone
 * as soon as there is a signal (the `online` event, Background Sync through the worker, and retries with backoff).
 */
(function () {
  "use strict";
  var L = window.LmsOffline;
  var tag = document.getElementById("lms-offline");
  if (!L || !tag || !("indexedDB" in window)) return;
  var shell = tag.dataset.shell === "1";  // the offline page: nobody is named in it, the phone remembers who
  var userId = tag.dataset.user ? Number(tag.dataset.user) : null;
  var delay = 0;
  var timer = null;
  var ready;

  function announce(detail) {
    window.dispatchEvent(new CustomEvent("lms-offline-change", { detail: detail || {} }));
  }

  // A different user (or nobody) on this phone: forget the previous user's rosters before anything is shown.
  ready = L.getMeta("user").then(function (previous) {
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
    inflight = L.sync(userId, watched).then(function (outcome) {
      inflight = null;
      if (outcome.state === "failed") {
        delay = Math.min(Math.max(delay * 2, 5000), 5 * 60 * 1000);
        timer = setTimeout(run, delay);
      } else {
        delay = 0;
      }
      announce({ outcome: outcome });
      if (again) { again = false; run(); }
      return outcome;
    });
    return inflight;
  }

  // Soon, not at once: "everyone present" and quick taps go out as one batch.
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  }

  function pending() {
    if (userId === null) return Promise.resolve([]);
    return L.byUser("queue", userId).then(function (marks) {
      return marks.filter(function (m) { return m.state === "waiting"; });
    });
  }

  // Ask the worker to send when the browser sees a signal, even with this tab closed (where the browser can).
  function backgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.getRegistration("/courses/").then(function (reg) {
      if (reg && reg.sync) return reg.sync.register("lms-attendance");
      return null;
    }).catch(function () { return null; });
  }

  window.addEventListener("online", function () { delay = 0; run(); });
  window.addEventListener("offline", function () { announce({}); });

  document.querySelectorAll("form[action$='/logout']").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.checked === "1") return;
      event.preventDefault();
      pending().then(function (marks) {
        if (marks.length && !window.confirm((tag.dataset.logoutWarning || "{n}").replace("{n}", marks.length))) {
          return false;
        }
        return L.forgetRosters(null).then(function () { return L.setMeta("user", null); }).then(function () {
          return true;
        });
      }).catch(function () { return true; }).then(function (go) {
        if (!go) return;
        form.dataset.checked = "1";
        form.submit();
      });
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
    announce: announce,
  };

  ready.then(pending).then(function (marks) { if (marks.length) run(); });
})();
