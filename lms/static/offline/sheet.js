/* The server's attendance page (courses/attendance.html): the tally under the list and "everyone present".
 *
 * A static file, not an inline script, so that the page needs no nonce under a Content-Security-Policy without
 * 'unsafe-inline'. The statuses and words come from the page's JSON block (#offline-text). attendance.js keeps
 * every tap on the phone and marks the form (data-offline="1"); without it (no IndexedDB) the plain form is
 * posted by "Save", as without JavaScript, and leaving the page with unsaved taps asks first.
 */
(function () {
  "use strict";
  var form = document.getElementById("attendance-form");
  var config = document.getElementById("offline-text");
  if (!form || !config) return;
  var conf = JSON.parse(config.textContent);
  var T = conf.texts;
  var rows = Array.prototype.slice.call(form.querySelectorAll(".roll-row"));
  var save = document.getElementById("save");
  var tally = document.getElementById("tally");
  var everyone = document.getElementById("everyone");
  var submitting = false;

  function kept() { return form.dataset.offline === "1"; }

  // Counts per status, and the learners whose tick is not on the server yet: with the phone keeping the taps,
  // those waiting on it; with the plain form, those changed since the page was drawn.
  function count() {
    var counts = {};
    var unmarked = 0, changed = 0;
    rows.forEach(function (row) {
      var chosen = row.querySelector("input:checked");
      var value = chosen ? chosen.value : "";
      if (value) counts[value] = (counts[value] || 0) + 1; else unmarked += 1;
      var isChanged = kept()
        ? row.dataset.state === "waiting" || value !== (row.dataset.kept !== undefined ? row.dataset.kept : row.dataset.saved)
        : value !== row.dataset.saved;
      if (isChanged) changed += 1;
      row.classList.toggle("changed", isChanged);
      row.classList.toggle("unmarked", !value);
    });
    var parts = conf.statuses.map(function (pair) { return pair[1] + " " + (counts[pair[0]] || 0); });
    parts.push(T.not_marked + " " + unmarked);
    tally.textContent = parts.join(" · ") + (changed ? " — " + changed + " " + T.to_save : "");
    save.classList.toggle("btn-warning", changed > 0);
    save.classList.toggle("btn-primary", changed === 0);
    return changed;
  }

  form.addEventListener("change", count);
  // With JavaScript, "everyone present" only ticks the boxes (attendance.js keeps them): tap the exceptions.
  everyone.addEventListener("click", function (event) {
    event.preventDefault();
    var code = form.dataset.everyone;
    rows.forEach(function (row) {
      var input = row.querySelector("input[value='" + code + "']");
      if (input) input.checked = true;
    });
    count();
    form.dispatchEvent(new CustomEvent("lms-everyone"));
  });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (kept() || submitting || count() === 0) return;
    event.preventDefault();
    event.returnValue = "";
  });
  count();
})();
