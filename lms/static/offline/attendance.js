/* The attendance sheet, with or without a signal (issue 16, ADR 26).
 *
 * On the server's page (#attendance-form) every tap is kept at once on the phone (IndexedDB), with or without a
 * signal, and sent from there through the bulk endpoint; "Save" sends at once and says what the server recorded.
 * On the offline page (#offline-root, what the worker shows when the page cannot be fetched) the same sheet is
 * drawn from what the phone keeps. Either way a panel says what the server holds, what waits on the
 * phone and when the phone last synced; a learner whose mark lost to another device's later one says so.
 */
(function () {
  "use strict";
  var L = window.LmsOffline;
  var P = window.LmsOfflinePage;
  var config = document.getElementById("offline-text");
  if (!L || !P || !config) return;
  var conf = JSON.parse(config.textContent);
  var T = conf.texts;
  var match = window.location.pathname.match(/\/courses\/sessions\/(\d+)\/attendance/);
  var sessionId = match ? Number(match[1]) : null;
  var COLOURS = { present: "success", late: "warning", excused: "info", absent: "danger" };
  var swReady = false;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/courses/sw.js", { scope: "/courses/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      swReady = true;
      window.dispatchEvent(new CustomEvent("lms-offline-change", { detail: {} }));
    }).catch(function () { return null; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function when(iso, seconds) {
    // The app's order, as every server-rendered page writes it: "08/12/2026 00:58". Vietnamese ICU puts the time
    // first ("00:58 08/12/2026") and without the year writes "07-12", so the parts are assembled here.
    var opts = { timeZone: "Asia/Ho_Chi_Minh", hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit",
                 day: "2-digit", month: "2-digit", year: "numeric" };
    try {
      var p = {};
      new Intl.DateTimeFormat("en-GB", opts).formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
      if (!p.year) return iso;
      return p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute + (seconds ? ":" + p.second : "");
    } catch (e) { return iso; }
  }

  function statusName(code) {
    var pair = conf.statuses.filter(function (p) { return p[0] === code; })[0];
    return pair ? pair[1] : code;
  }

  // Session times are local wall-clock times ("2026-03-03T08:00:00"), shown as written.
  function localDay(iso) { return iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(0, 4); }
  function localTime(iso) { return iso.slice(11, 16); }

  // --- the offline page: the sheet drawn from what the phone keeps ----------------------------------------------

  function drawList(root, data) {
    root.appendChild(el("h1", { class: "h4", text: T.sessions }));
    var sessions = data ? data.sessions.filter(function (s) { return !s.cancelled; }) : [];
    if (!sessions.length) { root.appendChild(el("p", { class: "text-muted", text: T.no_sessions })); return; }
    var list = el("div", { class: "list-group", id: "offline-sessions" });
    sessions.forEach(function (s) {
      var klass = data.classes[String(s.class_id)] || { name: "" };
      list.appendChild(el("a", {
        class: "list-group-item list-group-item-action",
        href: "/courses/sessions/" + s.id + "/attendance",
        text: klass.name + " · " + localDay(s.starts_at) + " " + localTime(s.starts_at),
      }));
    });
    root.appendChild(list);
  }

  function drawSheet(root, data, session) {
    var klass = data.classes[String(session.class_id)] || { name: "", learners: [] };
    root.appendChild(el("nav", { "aria-label": "breadcrumb" }, [
      el("ol", { class: "breadcrumb mb-1" }, [
        el("li", { class: "breadcrumb-item" }, [el("a", { href: "/courses/offline/", text: T.sessions })]),
      ]),
    ]));
    root.appendChild(el("h1", { class: "h4 mb-0", text: T.attendance + " · " + klass.name }));
    root.appendChild(el("p", {
      class: "fs-5 mb-2",
      id: "session-when",
      text: localDay(session.starts_at) + " · " + localTime(session.starts_at) + "–" + localTime(session.ends_at) +
        (session.place ? " · " + session.place : ""),
    }));
    if (session.cancelled) {
      root.appendChild(el("div", { class: "alert alert-warning fs-5", id: "cancelled", text: T.cancelled }));
      return null;
    }
    var form = el("form", { id: "attendance-form", novalidate: "" });
    form.appendChild(el("button", {
      class: "btn btn-outline-success btn-lg w-100 mb-3", type: "button", id: "everyone", text: T.everyone,
    }));
    var roll = el("ul", { class: "list-unstyled mb-2", id: "roll" });
    klass.learners.forEach(function (person) {
      var choices = el("div", {
        class: "roll-choices cols-" + conf.statuses.length, role: "radiogroup", "aria-labelledby": "name-" + person.id,
      });
      conf.statuses.forEach(function (pair) {
        var id = "s" + person.id + "-" + pair[0];
        choices.appendChild(el("input", {
          type: "radio", class: "btn-check", name: "status-" + person.id, id: id, value: pair[0], autocomplete: "off",
        }));
        choices.appendChild(el("label", {
          class: "btn btn-outline-" + (COLOURS[pair[0]] || "secondary") + " roll-btn", for: id, text: pair[1],
        }));
      });
      roll.appendChild(el("li", { class: "card mb-2 roll-row", "data-person": String(person.id), "data-saved": "" }, [
        el("div", { class: "card-body p-2" }, [
          el("div", { class: "d-flex justify-content-between align-items-baseline gap-2 mb-1" }, [
            el("span", { class: "fs-5 fw-semibold roll-name", id: "name-" + person.id, text: person.name }),
            person.born ? el("small", { class: "text-muted", text: String(person.born) }) : null,
          ]),
          choices,
        ]),
      ]));
    });
    form.appendChild(roll);
    root.appendChild(form);
    form.querySelector("#everyone").addEventListener("click", function () {
      var code = conf.statuses.some(function (p) { return p[0] === "present"; }) ? "present" : conf.statuses[0][0];
      form.querySelectorAll("input[value='" + code + "']").forEach(function (input) { input.checked = true; });
      form.dispatchEvent(new CustomEvent("lms-everyone"));
    });
    return form;
  }

  // --- the sheet, whichever page drew it --------------------------------------------------------------------------

  function enhance(userId, form, fromCache) {
    var rows = Array.prototype.slice.call(form.querySelectorAll(".roll-row[data-person]"));
    var server = {};  // person id -> the server's mark, as last known
    var fresh = fromCache;  // the server page's own marks stand until the phone has synced with the server
    var lastState = null;
    var accepted = {};  // learners whose marks reached the server (this page's or the worker's syncs) since "Save"
    var noting = Promise.resolve();
    rows.forEach(function (row) { if (row.dataset.saved) server[row.dataset.person] = { status: row.dataset.saved }; });
    // sheet.js (the server's page): the phone keeps every tap, so leaving the page needs no warning.
    form.dataset.offline = "1";
    var panel = el("div", { class: "card mb-3", id: "offline-status", "aria-live": "polite" }, [
      el("div", { class: "card-body p-2 small" }, [
        el("div", { id: "offline-connection", class: "fw-semibold" }),
        el("div", {}, [
          el("span", { text: T.saved + ": " }), el("strong", { id: "offline-saved-count" }),
          el("span", { text: " · " + T.waiting + ": " }), el("strong", { id: "offline-waiting-count" }),
          el("span", { text: " · " + T.not_marked + ": " }), el("strong", { id: "offline-unmarked-count" }),
        ]),
        el("div", {}, [el("span", { text: T.last_sync + ": " }), el("span", { id: "offline-last-sync" })]),
        el("button", { type: "button", class: "btn btn-sm btn-primary mt-1 d-none", id: "offline-send", text: T.send }),
      ]),
    ]);
    form.parentNode.insertBefore(panel, form);
    panel.querySelector("#offline-send").addEventListener("click", function () { P.sync(); });
    var result = form.querySelector("#save-result");  // the server's page: what "Save" did

    function reasonText(mark) {
      return (mark.reason_code && T["refused_" + mark.reason_code]) || mark.reason || T.refused_invalid;
    }

    function render() {
      return Promise.all([
        L.cached(userId), L.byUser("queue", userId), L.byUser("conflicts", userId), L.getMeta("synced:" + userId),
      ]).then(function (r) {
        var data = r[0];
        var session = data && data.sessions.filter(function (s) { return s.id === sessionId; })[0];
        if (session && fresh) server = session.marks;
        var queue = {};
        r[1].forEach(function (m) { if (m.session_id === sessionId) queue[String(m.person_id)] = m; });
        var conflicts = {};
        r[2].forEach(function (c) { if (c.session_id === sessionId) conflicts[String(c.person_id)] = c; });
        var saved = 0, waiting = 0, unmarked = 0, refused = 0;
        rows.forEach(function (row) {
          var pid = row.dataset.person;
          var mine = queue[pid];
          var theirs = server[pid];
          if (theirs) saved += 1;
          if (mine && mine.state === "waiting") waiting += 1;
          if (mine && mine.state === "refused") refused += 1;
          // What the phone keeps for the learner: the mark waiting on it, else the server's. A row whose tap is
          // being written to the phone keeps the tap.
          var kept = mine ? mine.status : theirs ? theirs.status : "";
          if (row.dataset.keeping !== "1") {
            row.querySelectorAll("input[type=radio]").forEach(function (input) { input.checked = input.value === kept; });
          }
          row.dataset.saved = theirs ? theirs.status : "";
          row.dataset.kept = kept;
          var ticked = row.querySelector("input:checked");
          if (!ticked) unmarked += 1;
          row.classList.toggle("unmarked", !ticked);
          var note = row.querySelector(".offline-note");
          if (!note) {
            note = el("div", { class: "offline-note small mt-1" });
            row.querySelector(".card-body").appendChild(note);
          }
          note.textContent = "";
          note.className = "offline-note small mt-1";
          row.dataset.state = mine ? mine.state : conflicts[pid] ? "conflict" : theirs ? "saved" : "";
          if (mine && mine.state === "waiting") {
            note.textContent = "⏳ " + T.waiting;
            note.classList.add("text-warning-emphasis");
          } else if (mine && mine.state === "refused") {
            note.classList.add("text-danger");
            note.appendChild(el("span", { text: T.refused + ": " + reasonText(mine) + " " }));
            var drop = el("button", { type: "button", class: "btn btn-sm btn-outline-danger py-0", text: T.discard });
            drop.addEventListener("click", function () { L.discard(mine.id).then(render); });
            note.appendChild(drop);
          } else if (conflicts[pid]) {
            var c = conflicts[pid];
            note.classList.add("alert", "alert-warning", "py-1", "px-2", "mb-0", "offline-conflict");
            // Two marks of the same minute ("later: 17:03 — yours: 17:03") read as a contradiction: then the seconds.
            var same = when(c.server.recorded_at) === when(c.mine.recorded_at);
            note.textContent = "⚠ " + T.conflict + ": " + statusName(c.server.status) + " (" + T.by + " " +
              (c.server.by || c.server.device || "?") + ", " + when(c.server.recorded_at, same) + ") — " +
              T.yours + ": " + statusName(c.mine.status) + " (" + when(c.mine.recorded_at, same) + "). " +
              T.conflict_hint + " ";
            var ok = el("button", { type: "button", class: "btn btn-sm btn-link py-0", text: T.dismiss });
            ok.addEventListener("click", function () { L.dismissConflict(c.id).then(render); });
            note.appendChild(ok);
          } else if (theirs && fromCache) {
            note.textContent = "✓ " + T.saved;
            note.classList.add("text-success");
          }
        });
        panel.querySelector("#offline-saved-count").textContent = String(saved);
        panel.querySelector("#offline-waiting-count").textContent = String(waiting);
        panel.querySelector("#offline-unmarked-count").textContent = String(unmarked);
        panel.querySelector("#offline-last-sync").textContent = r[3] ? when(r[3]) : T.never;
        var connection = panel.querySelector("#offline-connection");
        var ready = swReady && !!session;
        connection.textContent = navigator.onLine ? T.online + (ready ? " · " + T.ready : "") : T.offline;
        connection.className = navigator.onLine ? "fw-semibold text-success" : "fw-semibold text-warning-emphasis";
        if ((lastState === "login" || lastState === "other-user") && waiting) {
          connection.textContent = T.login;
          connection.className = "fw-semibold text-danger";
        }
        // "Save" without a signal said the marks wait on the phone; once a sync has sent them all, it says so instead
        // of leaving "No signal" under a panel that says the signal is back and nothing waits.
        if (result && result.dataset.held === "1" && !waiting && !refused && navigator.onLine && lastState === "done") {
          say(T.sent_later, "success");
        }
        panel.dataset.ready = ready ? "1" : "0";
        panel.dataset.waiting = String(waiting);
        panel.querySelector("#offline-send").classList.toggle("d-none", !(waiting && navigator.onLine));
        // The server page's tally (sheet.js) listens to "change" (a form-level event: this script ignores it).
        form.dispatchEvent(new Event("change"));
      });
    }

    // Every tap is written to the phone first, with or without a signal, and sent from there: closing the tab,
    // restarting the browser or logging in again loses nothing.
    function keep(row, status) {
      row.dataset.keeping = "1";
      return L.queueMark(userId, sessionId, Number(row.dataset.person), status).finally(function () {
        delete row.dataset.keeping;
      });
    }

    // Without a signal the worker is asked to send when one returns (Background Sync, where the browser has it);
    // with one the page sends after a short pause, so that quick taps go as one batch.
    function kept() {
      if (!navigator.onLine) P.backgroundSync();
      P.soon();
      return render();
    }

    form.addEventListener("change", function (event) {
      var input = event.target;
      if (!input || input.type !== "radio") return;
      keep(input.closest(".roll-row"), input.value).then(kept);
    });

    // Every row whose tick differs from what the phone keeps ("everyone present" ticks without change events).
    function keepTicked() {
      var work = rows.map(function (row) {
        var input = row.querySelector("input:checked");
        var have = row.dataset.kept !== undefined ? row.dataset.kept : row.dataset.saved;
        if (!input || input.value === have) return null;
        return keep(row, input.value);
      });
      return Promise.all(work).then(kept);
    }
    form.addEventListener("lms-everyone", keepTicked);

    // Which of the marks a sync sent the server holds now (a mark that lost to a later one is not "recorded").
    function note(outcome) {
      if (!outcome || !outcome.marks || !outcome.marks.length) return Promise.resolve();
      return L.cached(userId).then(function (data) {
        var session = data && data.sessions.filter(function (s) { return s.id === sessionId; })[0];
        if (!session) return;
        outcome.marks.forEach(function (m) {
          var held = session.marks[String(m.person_id)];
          if (m.session_id === sessionId && held && held.client_mark_id === m.client_mark_id) {
            accepted[m.person_id] = true;
          }
        });
      }).catch(function () { return null; });
    }

    function waitingHere() {
      return L.byUser("queue", userId).then(function (marks) {
        return marks.filter(function (m) { return m.session_id === sessionId && m.state === "waiting"; }).length;
      });
    }

    // "Save" sends what waits now and says what the server recorded (with JavaScript the form is not posted: the
    // marks are already on the phone, and go through the bulk endpoint like every other).
    function saveNow(tries) {
      return P.sync().then(function (outcome) {
        return noting.then(waitingHere).then(function (waiting) {
          if (waiting && outcome && outcome.state === "done" && tries > 1) return saveNow(tries - 1);
          return { outcome: outcome, waiting: waiting };
        });
      });
    }

    // ``held``: the words say marks wait on the phone (no signal, or no answer); render() replaces them once sent.
    function say(text, kind, held) {
      if (!result) return;
      result.textContent = text;
      result.className = "alert alert-" + kind + " py-1 px-2 mb-2";
      result.dataset.kind = kind;
      result.dataset.held = held ? "1" : "0";
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      say(T.sending, "secondary");
      keepTicked().then(function () { return saveNow(3); }).then(function (r) {
        var state = r.outcome ? r.outcome.state : navigator.onLine ? "failed" : "offline";
        if (state === "offline") {
          say(T.kept_offline.replace("{n}", String(r.waiting)), "warning", true);
        } else if (state === "login" || state === "other-user") {
          say(T.login, "danger");
        } else if (state === "failed" || r.waiting) {
          say(T.failed, "warning", true);
        } else {
          var n = Object.keys(accepted).length;
          accepted = {};
          say(n ? T.saved_n.replace("{n}", String(n)) : T.nothing, n ? "success" : "info");
        }
      });
    });

    window.addEventListener("lms-offline-change", function (event) {
      var outcome = event.detail && event.detail.outcome;
      if (outcome && outcome.state === "done") fresh = true;
      if (outcome) lastState = outcome.state;
      noting = noting.then(function () { return note(outcome); });
      noting.then(render);
    });
    P.watch(sessionId);
    // Taps made before this script took over the sheet: kept like the others.
    var early = rows.filter(function (row) {
      var input = row.querySelector("input:checked");
      return input && input.value !== row.dataset.saved;
    }).map(function (row) { return keep(row, row.querySelector("input:checked").value); });
    return Promise.all(early).then(render).then(function () { return P.sync(); });
  }

  P.ready.then(function (userId) {
    var root = document.getElementById("offline-root");
    if (!root) {
      var form = document.getElementById("attendance-form");
      if (form && userId !== null && sessionId !== null) enhance(userId, form, false);
      return null;
    }
    if (userId === null || userId === undefined) {
      root.appendChild(el("div", { class: "alert alert-info", id: "offline-message", text: T.logged_out }));
      return null;
    }
    return L.cached(userId).then(function (data) {
      if (sessionId === null) { drawList(root, data); return null; }
      var session = data && data.sessions.filter(function (s) { return s.id === sessionId; })[0];
      if (!session) {
        root.appendChild(el("div", { class: "alert alert-info", id: "offline-message", text: T.no_data }));
        return null;
      }
      var form = drawSheet(root, data, session);
      return form ? enhance(userId, form, true) : null;
    });
  });
})();
