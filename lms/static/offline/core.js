/* The phone's attendance store and its sync (issue 16, ADR 26). Loaded by the pages and by the service worker
 * (importScripts), so nothing here touches the DOM.
 *
 * IndexedDB "lms-offline":
 *   queue     marks not yet on the server, one per (user, session, learner): a later tap replaces an earlier one
 *   cache     per user: the sessions of the coming two weeks, the rosters and the server's marks (data.json)
 *   conflicts per (user, session, learner): the server kept another device's later mark
 *   meta      the phone's device id, the logged-in user, the last sync time per user
 * Every record carries its user's id: a user's marks are read, shown and sent only for that user.
 */
(function (root) {
  "use strict";
  var DB_NAME = "lms-offline";
  var DATA_URL = "/courses/offline/data.json";
  var dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore("queue", { keyPath: "id" }).createIndex("user", "user_id");
          db.createObjectStore("cache", { keyPath: "user_id" });
          db.createObjectStore("conflicts", { keyPath: "id" }).createIndex("user", "user_id");
          db.createObjectStore("meta", { keyPath: "k" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  // One transaction; `work` gets the stores and returns the value the promise resolves to once it is committed.
  function tx(names, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(names, mode);
        var stores = {};
        names.forEach(function (n) { stores[n] = t.objectStore(n); });
        var result;
        Promise.resolve(work(stores)).then(function (value) { result = value; }, function (e) { t.abort(); reject(e); });
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  function req(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function getMeta(k) {
    return tx(["meta"], "readonly", function (s) { return req(s.meta.get(k)); }).then(function (r) { return r ? r.v : null; });
  }
  function setMeta(k, v) {
    return tx(["meta"], "readwrite", function (s) { return req(s.meta.put({ k: k, v: v })); });
  }

  function byUser(store, userId) {
    return tx([store], "readonly", function (s) { return req(s[store].index("user").getAll(userId)); });
  }

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function deviceId() {
    return getMeta("device").then(function (id) {
      if (id) return id;
      id = "phone-" + uuid().replace(/-/g, "").slice(0, 8);
      return setMeta("device", id).then(function () { return id; });
    });
  }

  // A 53-bit string hash (cyrb53): the Idempotency-Key of a batch is derived from its body, so sending the same
  // marks again, from the page or from the worker, after a reload or a crash, replays instead of applying twice.
  function hash(text) {
    var h1 = 0xdeadbeef, h2 = 0x41c6ce57;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
  }

  // A tap: kept at once, with the phone's time; replaces this user's earlier unsent tap for the learner.
  function queueMark(userId, sessionId, personId, status) {
    return deviceId().then(function (device) {
      var mark = {
        id: userId + ":" + sessionId + ":" + personId,
        user_id: userId,
        session_id: sessionId,
        person_id: personId,
        status: status,
        client_mark_id: uuid(),
        recorded_at: new Date().toISOString(),
        device: device,
        state: "waiting",
      };
      return tx(["queue", "conflicts"], "readwrite", function (s) {
        s.conflicts.delete(mark.id);
        return req(s.queue.put(mark));
      }).then(function () { return mark; });
    });
  }

  function discard(id) {
    return tx(["queue"], "readwrite", function (s) { return req(s.queue.delete(id)); });
  }

  function dismissConflict(id) {
    return tx(["conflicts"], "readwrite", function (s) { return req(s.conflicts.delete(id)); });
  }

  function fetchData(sessionIds) {
    var query = (sessionIds || []).map(function (id) { return "session=" + id; }).join("&");
    return fetch(DATA_URL + (query ? "?" + query : ""), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
  }

  function saveData(data) {
    return tx(["cache", "meta"], "readwrite", function (s) {
      s.meta.put({ k: "synced:" + data.user_id, v: new Date().toISOString() });
      var kept = Object.assign({}, data);
      delete kept.csrf_token;
      return req(s.cache.put(kept));
    });
  }

  function cached(userId) {
    return tx(["cache"], "readonly", function (s) { return req(s.cache.get(userId)); });
  }

  // Forget what the phone keeps about a user's classes (log-out, or another user logging in). Their waiting marks
  // stay, under their id, until they log in again: they are never shown or sent for anybody else.
  function forgetRosters(exceptUserId) {
    return tx(["cache", "conflicts"], "readwrite", function (s) {
      return req(s.cache.getAll()).then(function (all) {
        all.forEach(function (entry) { if (entry.user_id !== exceptUserId) s.cache.delete(entry.user_id); });
        return req(s.conflicts.getAll());
      }).then(function (all) {
        all.forEach(function (c) { if (c.user_id !== exceptUserId) s.conflicts.delete(c.id); });
      });
    });
  }

  var running = null;

  /* Send `userId`'s waiting marks, one batch per session, then refresh the cache and record conflicts.
   * Resolves to {state: "done" | "login" | "other-user" | "failed", sent, refused, marks, soon}: "failed" means try
   * again (`soon`: the server is still answering the same batch sent from elsewhere, e.g. the worker); `marks` are
   * the marks the server accepted. `lang` asks the server for its reasons in the page's language (a phone's
   * Accept-Language is often English while the pages are Vietnamese). */
  function sync(userId, extraSessionIds, lang) {
    if (running) return running;
    running = syncOnce(userId, extraSessionIds || [], lang || "vi").finally(function () { running = null; });
    return running;
  }

  function syncOnce(userId, extraSessionIds, lang) {
    var sentMarks = [];
    var outcome = { state: "done", sent: 0, refused: 0, marks: sentMarks, soon: false };
    return byUser("queue", userId).then(function (queued) {
      var waiting = queued.filter(function (m) { return m.state === "waiting"; });
      var sessionIds = Array.from(new Set(queued.map(function (m) { return m.session_id; }).concat(extraSessionIds)));
      return fetchData(sessionIds).then(function (response) {
        if (response.status === 401) { outcome.state = "login"; return null; }
        if (!response.ok) throw new Error("data " + response.status);
        return response.json();
      }).then(function (data) {
        if (!data) return outcome;
        if (data.user_id !== userId) { outcome.state = "other-user"; return outcome; }
        var sessions = {};
        waiting.forEach(function (m) { (sessions[m.session_id] = sessions[m.session_id] || []).push(m); });
        var chain = Promise.resolve();
        Object.keys(sessions).forEach(function (sid) {
          chain = chain.then(function () {
            return send(data.csrf_token, lang, sid, sessions[sid], outcome, sentMarks);
          });
        });
        return chain.then(function () {
          if (outcome.state === "login") return outcome;
          // Read back what the server holds now: the cache shows it, and a mark it did not keep is a conflict.
          return sentMarks.length ? fetchData(sessionIds).then(function (r) {
            if (!r.ok) throw new Error("data " + r.status);
            return r.json();
          }) : data;
        }).then(function (fresh) {
          if (fresh === outcome) return outcome;
          return saveData(fresh).then(function () { return recordConflicts(userId, fresh, sentMarks); })
            .then(function () { return outcome; });
        });
      });
    }).catch(function (error) {
      outcome.state = "failed";
      outcome.soon = !!(error && error.soon);
      return outcome;
    });
  }

  // What the page says of a refusal the server gave no reason for, by status (the texts are the page's: the
  // worker has none, so the code is kept and the page words it).
  var REFUSAL_CODES = { 403: "forbidden", 404: "gone" };

  function send(token, lang, sessionId, marks, outcome, sentMarks) {
    marks.sort(function (a, b) { return a.client_mark_id < b.client_mark_id ? -1 : 1; });
    var body = JSON.stringify({
      device: marks[0].device,
      marks: marks.map(function (m) {
        return { client_mark_id: m.client_mark_id, person_id: m.person_id, status: m.status, recorded_at: m.recorded_at };
      }),
    });
    return fetch("/api/v1/sessions/" + sessionId + "/attendance", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Accept-Language": lang,
        "X-CSRFToken": token,
        "Idempotency-Key": "offline-" + sessionId + "-" + marks.length + "-" + hash(body),
      },
      body: body,
    }).then(function (response) {
      if (response.ok) {
        outcome.sent += marks.length;
        Array.prototype.push.apply(sentMarks, marks);
        return settle(marks, null);
      }
      if (response.status === 401) { outcome.state = "login"; return null; }
      if (response.status === 409) {
        // The same batch is being applied (sent by the worker, or by another tab): its answer is there in a moment.
        var busy = new Error("send 409");
        busy.soon = true;
        throw busy;
      }
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        throw new Error("send " + response.status);  // the server or the network: try again later
      }
      // Refused for a reason retrying cannot fix (a withdrawn learner, a cancelled session): say why, keep it. The
      // batch is all or nothing: when the server names the marks at fault, the others are sent again without them.
      return response.json().catch(function () { return {}; }).then(function (problem) {
        if (response.status === 400 && /CSRF/.test(problem.title || "")) {
          throw new Error("send csrf");  // an expired form token: the next attempt fetches a fresh one
        }
        var reasons = {};
        (problem.errors || []).forEach(function (e) {
          var found = /^marks\[(\d+)\]/.exec(e.field || "");
          if (found) (reasons[found[1]] = reasons[found[1]] || []).push(e.message);
        });
        var named = Object.keys(reasons).length;
        if (named && named < marks.length) {
          var bad = marks.filter(function (m, i) { return reasons[i]; });
          var rest = marks.filter(function (m, i) { return !reasons[i]; });
          outcome.refused += bad.length;
          return settle(bad, function (m) { return reasons[marks.indexOf(m)].join("; "); }).then(function () {
            return send(token, lang, sessionId, rest, outcome, sentMarks);
          });
        }
        // The server's own reasons (in the page's language) when it named fields; else a code the page words.
        var all = (problem.errors || []).map(function (e) { return e.message; }).join("; ");
        var code = all ? null : REFUSAL_CODES[response.status] || "invalid";
        outcome.refused += marks.length;
        return settle(marks, function () { return all; }, code);
      });
    });
  }

  // Remove the sent marks from the queue (`reason` null), or mark them refused with `reason(mark)` (and the page's
  // `code` for it, when the server gave none), unless the learner was tapped again meanwhile (a newer mark waits).
  function settle(marks, reason, code) {
    return tx(["queue"], "readwrite", function (s) {
      return Promise.all(marks.map(function (m) {
        return req(s.queue.get(m.id)).then(function (current) {
          if (!current || current.client_mark_id !== m.client_mark_id) return null;
          if (reason === null) return req(s.queue.delete(m.id));
          current.state = "refused";
          current.reason = reason(m);
          current.reason_code = code || null;
          return req(s.queue.put(current));
        });
      }));
    });
  }

  function recordConflicts(userId, data, sentMarks) {
    var bySession = {};
    data.sessions.forEach(function (s) { bySession[s.id] = s; });
    return tx(["conflicts"], "readwrite", function (s) {
      sentMarks.forEach(function (m) {
        var session = bySession[m.session_id];
        var server = session && session.marks[String(m.person_id)];
        if (server && server.client_mark_id !== m.client_mark_id && server.status !== m.status) {
          s.conflicts.put({ id: m.id, user_id: userId, session_id: m.session_id, person_id: m.person_id, mine: m, server: server });
        }
      });
    });
  }

  root.LmsOffline = {
    open: open,
    getMeta: getMeta,
    setMeta: setMeta,
    byUser: byUser,
    queueMark: queueMark,
    discard: discard,
    dismissConflict: dismissConflict,
    fetchData: fetchData,
    saveData: saveData,
    cached: cached,
    forgetRosters: forgetRosters,
    sync: sync,
    hash: hash,
  };
})(self);
