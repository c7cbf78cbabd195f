// Small helpers shared by every console page: confirm dialogs, table sorting and paging, live status.
(function () {
  "use strict";

  // Forms with data-confirm ask first, in a modal <dialog>. Escape or Cancel closes it and puts
  // the focus back on the button that asked.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (!question || form.dataset.confirmed === "1") return;
    event.preventDefault();
    const opener = event.submitter || document.activeElement;
    const dialog = document.createElement("dialog");
    dialog.setAttribute("data-testid", "confirm-dialog");
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-text");
    const title = document.createElement("h2");
    title.id = "confirm-dialog-title";
    title.textContent = "Are you sure?";
    const text = document.createElement("p");
    text.id = "confirm-dialog-text";
    text.textContent = question;
    const row = document.createElement("div");
    row.className = "actions";
    const ok = document.createElement("button");
    ok.className = "btn btn-danger"; ok.type = "button"; ok.textContent = "Confirm";
    const cancel = document.createElement("button");
    cancel.className = "btn"; cancel.type = "button"; cancel.textContent = "Cancel";
    row.append(ok, cancel);
    dialog.append(title, text, row);
    document.body.append(dialog);
    let confirmed = false;
    dialog.addEventListener("close", function () {
      dialog.remove();
      if (confirmed) {
        form.dataset.confirmed = "1";
        if (form.requestSubmit) { form.requestSubmit(event.submitter || undefined); } else { form.submit(); }
      } else if (opener && opener.focus) {
        opener.focus();
      }
    });
    cancel.addEventListener("click", function () { dialog.close(); });
    ok.addEventListener("click", function () { confirmed = true; dialog.close(); });
    dialog.showModal();
    cancel.focus();  // Enter must not confirm a destructive action by accident
  });

  // Sort links of server-sorted lists are links; let Space follow them as Enter does, as it
  // presses the sort buttons of in-page tables.
  document.addEventListener("keydown", function (event) {
    if (event.key === " " && event.target.matches && event.target.matches("a.sort-link")) {
      event.preventDefault();
      event.target.click();
    }
  });

  // In-page tables with class "sortable-table": each header is a button that sorts by its column
  // (cells may carry data-sort); with data-page-size="N" the table shows N rows at a time.
  // A table that polling redraws keeps its sort and page, found again by its data-testid.
  const states = new Map();

  function cellValue(row, index) {
    const cell = row.children[index];
    if (!cell) return "";
    const raw = (cell.getAttribute("data-sort") ?? cell.textContent).trim();
    const num = Number(raw);
    return raw !== "" && Number.isFinite(num) ? num : raw.toLowerCase();
  }

  function compare(x, y) {
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x).localeCompare(String(y), undefined, { numeric: true });
  }

  function tableName(table) {
    const by = table.getAttribute("aria-labelledby");
    const label = by ? document.getElementById(by) : null;
    return (label ? label.textContent : table.getAttribute("aria-label") || "the table").trim();
  }

  function pagerButton(label, step) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-small";
    button.textContent = label;
    button.dataset.step = step;
    return button;
  }

  function enhance(table) {
    if (table.dataset.enhanced) return;
    table.dataset.enhanced = "1";
    const key = table.getAttribute("data-testid") || "";
    const state = states.get(key) || { column: -1, asc: true, page: 0 };
    if (key) states.set(key, state);
    const headers = Array.from(table.tHead ? table.tHead.rows[0].cells : []);
    const body = table.tBodies[0];
    const size = parseInt(table.getAttribute("data-page-size") || "0", 10);
    const rows = Array.from(body.rows);
    let pager = null, status = null;

    headers.forEach(function (th, index) {
      if (th.hasAttribute("data-nosort")) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        state.asc = state.column === index ? !state.asc : true;
        state.column = index;
        state.page = 0;
        apply();
      });
    });

    if (size > 0 && rows.length > size) {
      pager = document.createElement("nav");
      pager.className = "pager";
      pager.setAttribute("aria-label", "Pages of " + tableName(table));
      status = document.createElement("span");
      status.className = "pager-status";
      status.setAttribute("aria-live", "polite");
      status.setAttribute("data-testid", "pager-status");
      pager.append(pagerButton("Previous", "-1"), status, pagerButton("Next", "1"));
      const wrapper = table.parentElement.classList.contains("table-scroll") ? table.parentElement : table;
      wrapper.after(pager);
      pager.addEventListener("click", function (event) {
        const button = event.target.closest("button[data-step]");
        if (!button || button.getAttribute("aria-disabled") === "true") return;
        state.page += parseInt(button.dataset.step, 10);
        apply();
      });
    }

    function apply() {
      headers.forEach(function (th, index) {
        if (index === state.column) {
          th.setAttribute("aria-sort", state.asc ? "ascending" : "descending");
        } else {
          th.removeAttribute("aria-sort");
        }
      });
      const ordered = rows.slice();
      if (state.column >= 0) {
        ordered.sort(function (a, b) {
          const order = compare(cellValue(a, state.column), cellValue(b, state.column));
          return state.asc ? order : -order;
        });
      }
      ordered.forEach((r) => body.appendChild(r));
      if (!pager) return;
      const pages = Math.ceil(ordered.length / size);
      state.page = Math.min(Math.max(state.page, 0), pages - 1);
      const first = state.page * size;
      const last = Math.min(first + size, ordered.length);
      ordered.forEach(function (r, i) { r.hidden = i < first || i >= last; });
      status.textContent = "Rows " + (first + 1) + "–" + last + " of " + ordered.length;
      pager.querySelectorAll("button[data-step]").forEach(function (button) {
        const step = parseInt(button.dataset.step, 10);
        const off = step < 0 ? state.page === 0 : state.page === pages - 1;
        button.setAttribute("aria-disabled", off ? "true" : "false");
      });
    }
    apply();
  }

  function enhanceTables(root) {
    root.querySelectorAll("table.sortable-table").forEach(enhance);
  }
  enhanceTables(document);

  // Elements with data-poll-url refresh their HTML from that URL while work is running.
  function poll(el) {
    const url = el.getAttribute("data-poll-url");
    const every = parseInt(el.getAttribute("data-poll-ms") || "1500", 10);
    fetch(url, { headers: { "X-Requested-With": "fetch" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then(function (html) {
        // Keep the keyboard where it was when the focus is on a header that is redrawn.
        const header = el.contains(document.activeElement) ? document.activeElement.closest("th") : null;
        const column = header ? header.cellIndex : -1;
        el.innerHTML = html;
        enhanceTables(el);
        const again = column >= 0 ? el.querySelector("thead tr > :nth-child(" + (column + 1) + ") button") : null;
        if (again) again.focus();
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
