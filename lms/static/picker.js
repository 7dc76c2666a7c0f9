// Search-as-you-type for the person pickers (courses/_macros.html person_picker); without JavaScript the search
// box submits a GET form instead.
(function () {
  document.querySelectorAll(".person-picker").forEach(function (picker) {
    const search = picker.querySelector(".picker-search");
    const chosen = picker.querySelector(".picker-chosen");
    const options = picker.querySelector(".picker-options");
    const empty = picker.dataset.empty;
    let timer = null, asked = 0;
    picker.querySelector(".picker-find").hidden = true;
    if (search.form) search.form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 250); });
    search.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); run(); } });
    picker.addEventListener("change", function (e) {
      // A ticked person moves to the chosen list, so the next search does not drop them.
      if (e.target.checked && e.target.closest(".picker-options")) chosen.appendChild(e.target.closest("label"));
    });
    function option(p) {
      const label = document.createElement("label");
      label.className = "list-group-item d-flex gap-3 align-items-center py-2 picker-option";
      const box = document.createElement("input");
      box.type = "checkbox"; box.name = picker.dataset.name; box.value = p.id;
      box.className = "form-check-input flex-shrink-0 m-0 picker-box";
      const text = document.createElement("span");
      text.append(p.name, document.createElement("br"));
      const small = document.createElement("small");
      small.className = "text-muted"; small.textContent = p.detail;
      text.append(small);
      label.append(box, text);
      return label;
    }
    async function run() {
      const mine = ++asked;
      const url = new URL(picker.dataset.url, window.location.href);
      url.searchParams.set("q", search.value.trim());
      const response = await fetch(url, {headers: {"Accept": "application/json"}});
      if (!response.ok || mine !== asked) return;
      const data = await response.json();
      const have = new Set(Array.from(chosen.querySelectorAll("input:checked")).map(function (i) { return i.value; }));
      chosen.querySelectorAll("input:not(:checked)").forEach(function (i) { i.closest("label").remove(); });
      options.replaceChildren();
      data.items.filter(function (p) { return !have.has(String(p.id)); }).forEach(function (p) {
        options.appendChild(option(p));
      });
      if (!options.children.length) {
        const none = document.createElement("div");
        none.className = "list-group-item text-muted picker-empty"; none.textContent = empty;
        options.appendChild(none);
      }
    }
  });
})();
