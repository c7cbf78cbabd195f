// Small helpers shared by every console page: confirm dialogs, table sorting, live status.
(function () {
  "use strict";

  // Forms with data-confirm ask first, in an accessible <dialog>.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (!question || form.dataset.confirmed === "1") return;
    event.preventDefault();
    const dialog = document.createElement("dialog");
    dialog.setAttribute("data-testid", "confirm-dialog");
    const text = document.createElement("p");
    text.textContent = question;
    const row = document.createElement("div");
    row.className = "actions";
    const ok = document.createElement("button");
    ok.className = "btn btn-danger"; ok.type = "button"; ok.textContent = "Confirm";
    const cancel = document.createElement("button");
    cancel.className = "btn"; cancel.type = "button"; cancel.textContent = "Cancel";
    row.append(ok, cancel);
    dialog.append(text, row);
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();  // Enter must not confirm a destructive action by accident
    cancel.addEventListener("click", function () { dialog.close(); dialog.remove(); });
    ok.addEventListener("click", function () {
      form.dataset.confirmed = "1"; dialog.close(); dialog.remove();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });

  // Tables with class "sortable-table": click a header to sort by that column.
  function cellValue(row, index) {
    const cell = row.children[index];
    if (!cell) return "";
    const raw = cell.getAttribute("data-sort") ?? cell.textContent.trim();
    const num = parseFloat(raw);
    return raw !== "" && !isNaN(num) && /^-?[\d.]+$/.test(raw) ? num : raw.toLowerCase();
  }
  document.querySelectorAll("table.sortable-table").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, index) {
      if (th.hasAttribute("data-nosort")) return;
      th.classList.add("sortable");
      th.tabIndex = 0;
      const sort = function () {
        const asc = !th.classList.contains("sorted-asc");
        table.querySelectorAll("th").forEach((h) => h.classList.remove("sorted-asc", "sorted-desc"));
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = cellValue(a, index), y = cellValue(b, index);
          return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach((r) => body.appendChild(r));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });

  // Elements with data-poll-url refresh their HTML from that URL while work is running.
  function poll(el) {
    const url = el.getAttribute("data-poll-url");
    const every = parseInt(el.getAttribute("data-poll-ms") || "1500", 10);
    fetch(url, { headers: { "X-Requested-With": "fetch" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then(function (html) {
        el.innerHTML = html;
        const done = el.querySelector("[data-poll-done]");
        if (done) {
          if (el.hasAttribute("data-reload-when-done")) { window.location.reload(); }
          return;
        }
        setTimeout(() => poll(el), every);
      })
      .catch(() => setTimeout(() => poll(el), every * 2));
  }
  document.querySelectorAll("[data-poll-url]").forEach(function (el) {
    if (!el.querySelector("[data-poll-done]")) setTimeout(() => poll(el), 1000);
  });
})();
