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

  // A button that asks first: data-confirm="Withdraw … from the class?".
  document.addEventListener("click", function (e) {
    const button = e.target.closest ? e.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.dataset.confirm)) e.preventDefault();
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
