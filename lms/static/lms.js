// Small behaviours of the pages, wired by data attributes: the Content-Security-Policy runs no inline script
// (docs/security.md). Every page loads this file; without JavaScript the pages still work.
(function () {
  "use strict";

  // A "select all" box: <input type="checkbox" data-select-all="ids"> ticks or clears every box named "ids".
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (box.name === all.dataset.selectAll) box.checked = all.checked;
      });
    });
  });

  // A file to upload (macros.html file_input): the chosen file's name beside the page's own button, since the native
  // input that would say it is drawn invisible.
  document.querySelectorAll("input.file-pick-input").forEach(function (input) {
    const name = document.getElementById(input.id + "-chosen");
    if (!name) return;
    input.addEventListener("change", function () {
      const files = Array.from(input.files || []).map(function (f) { return f.name; });
      name.textContent = files.length ? files.join(", ") : name.dataset.none;
      name.classList.toggle("chosen", files.length > 0);
    });
  });

  // A button that asks first: data-confirm="Withdraw … from the class?".
  document.addEventListener("click", function (e) {
    const button = e.target.closest ? e.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.dataset.confirm)) e.preventDefault();
  });

  // A long list to choose from (3,400 communes, wards and provinces for a role): <select data-filter="Type…"> gets
  // a search box above it that keeps the options with a word beginning with each word typed, accents or not ("dak
  // ha" finds "Xã Đăk Hà"); on a phone the list was scrolled by hand. The empty choice and the chosen one stay; a
  // single match is chosen. A match by its own name (before " — ") comes first, and is chosen when it is the only
  // one: "quang ngai" also finds every "Xã … — Tỉnh Quảng Ngãi", and the province itself was then never chosen.
  function plain(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }
  document.querySelectorAll("select[data-filter]").forEach(function (select) {
    if (select.options.length < 15) return;  // a commune leader's four communes need no search
    const words = function (text) { return plain(text).split(/[\s—,()]+/); };
    const all = Array.from(select.options).map(function (o) {
      return [o, words(o.text), words(o.text.split(" — ")[0])];
    });
    const box = document.createElement("input");
    box.type = "search";
    box.className = "form-control mb-1 select-filter";
    box.placeholder = select.dataset.filter;
    box.setAttribute("aria-label", select.dataset.filterLabel || select.dataset.filter);
    box.autocomplete = "off";
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      const typed = plain(box.value).split(/\s+/).filter(Boolean);
      const chosen = select.value;
      // Each word typed begins a word of the name: "ha" finds Hà, not every name with "tha…" in it.
      const begins = function (names) {
        return typed.every(function (w) { return names.some(function (n) { return n.startsWith(w); }); });
      };
      const matches = [];
      const own = [];
      const kept = all.filter(function (entry) {
        const o = entry[0];
        const hit = begins(entry[1]);
        if (hit && o.value && o.value !== "None") (begins(entry[2]) ? own : matches).push(o);
        return hit || !o.value || o.value === "None" || o.value === chosen;
      }).map(function (entry) { return entry[0]; });
      const empty = function (o) { return !o.value || o.value === "None"; };
      select.replaceChildren.apply(select, kept.filter(empty).concat(own, kept.filter(function (o) {
        return !empty(o) && own.indexOf(o) < 0;
      })));
      if (own.length === 1) select.value = own[0].value;
      else if (own.length + matches.length === 1) select.value = (own[0] || matches[0]).value;
      else select.value = chosen;
    });
  });

  // The progress of a background job (an import, an evaluation run): data-poll-url answers the job as JSON;
  // the page reloads once its status is one of data-poll-finished.
  document.querySelectorAll("[data-poll-url]").forEach(function (box) {
    const finished = (box.dataset.pollFinished || "").split(" ");
    const bar = box.querySelector(".progress-bar");
    const count = box.querySelector("[data-poll-count]");
    async function poll() {
      const response = await fetch(box.dataset.pollUrl, {headers: {"Accept": "application/json"}});
      if (!response.ok) { setTimeout(poll, 3000); return; }
      const job = await response.json();
      bar.style.width = job.progress + "%";
      bar.textContent = job.progress + " %";
      bar.parentElement.setAttribute("aria-valuenow", job.progress);
      if (count && "total" in job) count.textContent = (job.done + (job.failed || 0)) + " / " + job.total;
      if (finished.includes(job.status)) { window.location.reload(); return; }
      setTimeout(poll, 1000);
    }
    setTimeout(poll, 500);
  });
})();
