// Plotly charts of the model pages. Each element with data-chart="<kind>" is drawn from the JSON
// block (json_script) named by its data-source; no data ever goes through inline scripts.
(function () {
  "use strict";
  if (!window.Plotly) return;

  const CONFIG = { responsive: true, displaylogo: false };
  const MAX_CURVES = 10; // more lines than this are unreadable; the label selector shows the rest
  const METRIC_NAMES = {
    Accuracy: "Accuracy",
    F1Score: "F1 score (macro)",
    MicroF1Score: "F1 score (micro)",
    Precision: "Precision (macro)",
    Recall: "Recall (macro)",
  };
  const UNIT_AXIS = { range: [0, 1.02], tickformat: ".1f", zeroline: false };

  // Recognizer scores read as percentages (as in Comprehend's console); classifiers' as 0-1.
  function scoreAxis(percent) {
    return percent ? Object.assign({}, UNIT_AXIS, { tickformat: ".0%" }) : UNIT_AXIS;
  }

  function scoreFormat(percent) {
    return percent ? "%{y:.2%}" : "%{y:.4f}";
  }

  // Plotly reads a subset of HTML in every text it draws (tick labels, hover text, legend names):
  // <a href> becomes a live link, <b>, <br> and entities are interpreted. Label names and entity
  // types are the users' own strings, so each one is escaped before it reaches a chart, and
  // plotly then shows it literally.
  function plain(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function plainAll(texts) {
    return (texts || []).map(plain);
  }

  // A category axis of label names. Long names are cut in the tick labels (the hover shows them
  // whole), and the chart grows taller by what the longest one needs, so that rotated tick labels
  // never spill out of the chart over the page below.
  const TICK_CHARS = 48;
  const LEGEND_ABOVE = { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }; // clear of long ticks
  const CHAR_PX = 7;

  function labelAxis(labels, extra) {
    const ticks = (labels || []).map(function (label) {
      const text = String(label);
      return plain(text.length > TICK_CHARS ? text.slice(0, TICK_CHARS - 1) + "\u2026" : text);
    });
    return Object.assign(
      { type: "category", tickmode: "array", tickvals: plainAll(labels), ticktext: ticks, automargin: true },
      extra
    );
  }

  // With responsive charts plotly fills the element, so the room is given to the element itself.
  function makeRoom(el, labels, base) {
    const longest = Math.max(0, ...(labels || []).map((l) => Math.min(TICK_CHARS, String(l).length)));
    const height = base + longest * CHAR_PX;
    if (height > el.clientHeight) el.style.height = height + "px";
  }

  function readJson(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function layout(extra) {
    return Object.assign(
      {
        margin: { l: 70, r: 20, t: 20, b: 70 },
        font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12 },
        paper_bgcolor: "#fff",
        plot_bgcolor: "#fff",
        hovermode: "closest",
      },
      extra
    );
  }

  // The test documents behind a cell or a bar, listed under the chart (built with text nodes
  // only: documents are the users' own text).
  const CELL_PX = 26;
  const NO_DOCUMENTS = "Documents are listed for versions trained from now on.";

  function documentsOf(el) {
    return readJson(el.getAttribute("data-documents")) || { available: false, note: NO_DOCUMENTS };
  }

  function node(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined && text !== null) el.textContent = String(text);
    if (className) el.className = className;
    return el;
  }

  function scoreText(value) {
    return typeof value === "number" ? value.toFixed(4) : "\u2014";
  }

  function listDocuments(title, summary, headers, rows, focus) {
    const box = document.getElementById("confusion-documents");
    if (!box) return;
    box.replaceChildren();
    box.appendChild(node("h3", title)).id = "confusion-documents-heading";
    box.appendChild(node("p", summary, "muted"));
    if (rows.length) {
      const table = node("table", null, "table");
      table.setAttribute("data-testid", "document-table");
      table.setAttribute("aria-labelledby", "confusion-documents-heading");
      const head = table.appendChild(node("thead")).appendChild(node("tr"));
      headers.forEach(function (h) {
        const th = head.appendChild(node("th", h[0], h[1] ? "num" : ""));
        th.scope = "col";
      });
      const body = table.appendChild(node("tbody"));
      rows.forEach(function (cells) {
        const tr = body.appendChild(node("tr"));
        tr.setAttribute("data-testid", "document-row");
        cells.forEach(function (cell) {
          tr.appendChild(node("td", cell[0], cell[1]));
        });
      });
      box.appendChild(node("div", null, "table-scroll")).appendChild(table);
    }
    if (focus) box.focus();
    else box.scrollIntoView({ block: "nearest" });
  }

  function shownOf(listed, total) {
    if (!total) return "No test document is in this cell.";
    if (listed === total) return total === 1 ? "The one test document:" : "All " + total + " test documents:";
    return (
      listed + " of " + total + " test documents: a version keeps every misclassified document up to " +
      "a limit, and a few correct ones per label."
    );
  }

  function showCell(docs, labels, z, i, j, focus) {
    const truth = labels[i];
    const predicted = labels[j];
    const total = (z[i] || [])[j] || 0;
    const title = "True label \u201c" + truth + "\u201d, predicted as \u201c" + predicted + "\u201d";
    if (!docs.available) {
      listDocuments(title, total + " test documents. " + (docs.note || NO_DOCUMENTS), [], [], focus);
      return;
    }
    const found = docs.documents.filter((d) => d.true === truth && d.predicted === predicted);
    listDocuments(
      title,
      shownOf(found.length, total),
      [["True label"], ["Predicted label"], ["Score", true], ["Text"]],
      found.map((d) => [
        [d.true],
        [d.predicted, d.true === d.predicted ? "" : "wrong"],
        [scoreText(d.score), "num"],
        [d.text, "doc-text"],
      ]),
      focus
    );
  }

  function showLabel(docs, label, kind, total, focus) {
    const words = {
      tp: "correctly given",
      fp: "given but wrong (false positives)",
      fn: "missed (false negatives)",
    };
    const title = "Label \u201c" + label + "\u201d " + words[kind];
    if (!docs.available) {
      listDocuments(title, (total || 0) + " test documents. " + (docs.note || NO_DOCUMENTS), [], [], focus);
      return;
    }
    const found = docs.documents.filter(function (d) {
      const inTrue = d.true.indexOf(label) >= 0;
      const inPredicted = d.predicted.indexOf(label) >= 0;
      return kind === "tp" ? inTrue && inPredicted : kind === "fp" ? inPredicted && !inTrue : inTrue && !inPredicted;
    });
    listDocuments(
      title,
      shownOf(found.length, total || 0),
      [["True labels"], ["Predicted labels"], ["Score of " + label, true], ["Text"]],
      found.map((d) => [
        [d.true.join(", ") || "\u2014"],
        [d.predicted.join(", ") || "\u2014", kind === "tp" ? "" : "wrong"],
        [scoreText((d.scores || {})[label]), "num"],
        [d.text, "doc-text"],
      ]),
      focus
    );
  }

  const draw = {
    // Scores across versions: the axis follows the data (plotly's autorange, which also
    // rescales when a metric is switched on in the legend), and the best version is marked.
    "metrics-trend": function (el, data) {
      makeRoom(el, data.versions, 320);
      const names = data.names || METRIC_NAMES;
      const x = plainAll(data.versions);
      const traces = Object.keys(data.metrics).map(function (key) {
        return {
          type: "scatter",
          mode: "lines+markers",
          name: plain(names[key] || key),
          x: x,
          y: data.metrics[key],
          visible: (data.hidden || []).indexOf(key) >= 0 ? "legendonly" : true,
          hovertemplate: "%{x}: " + scoreFormat(data.percent) + "<extra>%{fullData.name}</extra>",
        };
      });
      const annotations = [];
      const best = data.best;
      if (best && best.value !== null && best.value !== undefined) {
        const value = data.percent ? (best.value * 100).toFixed(2) + "%" : best.value.toFixed(4);
        const text = "Best: " + plain(best.version) + ", " + plain(best.name) + " " + value;
        traces.push({
          type: "scatter",
          mode: "markers",
          name: text,
          x: [x[best.index]],
          y: [best.value],
          marker: { symbol: "star", size: 16, color: "#0b6e4f", line: { color: "#fff", width: 1 } },
          hovertemplate: "%{x}: best " + scoreFormat(data.percent) + "<extra></extra>",
        });
        annotations.push({
          x: x[best.index],
          y: best.value,
          text: "Best",
          showarrow: true,
          arrowhead: 0,
          ax: 0,
          ay: -28,
          font: { color: "#07503a", size: 12 },
          bgcolor: "#fff",
        });
      }
      const yaxis = {
        title: { text: "Score" },
        autorange: true,
        zeroline: false,
        tickformat: data.percent ? ".1%" : "",
      };
      Plotly.newPlot(
        el,
        traces,
        layout({
          xaxis: labelAxis(data.versions, { title: { text: "Version (in submit order)" } }),
          yaxis: yaxis,
          annotations: annotations,
          legend: LEGEND_ABOVE,
          margin: { l: 70, r: 20, t: 60, b: 70 },
        }),
        CONFIG
      );
    },

    // Recognizers: precision, recall and F1 of each entity type, as percentages.
    "entity-type-scores": function (el, data) {
      makeRoom(el, data.types, 240);
      const series = [
        ["Precision", "Precision", "#0b5cad"],
        ["Recall", "Recall", "#d29d00"],
        ["F1Score", "F1 score", "#0b6e4f"],
      ];
      const traces = series.map(function (s) {
        return {
          type: "bar",
          name: s[1],
          x: plainAll(data.types),
          y: data[s[0]],
          marker: { color: s[2] },
          hovertemplate: "%{x}: %{y:.2%}<extra>%{fullData.name}</extra>",
        };
      });
      Plotly.newPlot(
        el,
        traces,
        layout({
          barmode: "group",
          xaxis: labelAxis(data.types, { title: { text: "Entity type" } }),
          yaxis: Object.assign({ title: { text: "Score" } }, scoreAxis(true)),
          legend: LEGEND_ABOVE,
        }),
        CONFIG
      );
    },

    // One row per label, every label named, the count in each cell. The chart is as tall as
    // the labels need; a large matrix is as wide as they need too, and scrolls in its region.
    "confusion-matrix": function (el, data) {
      const labels = data.labels || [];
      const n = labels.length;
      const longest = Math.max(0, ...labels.map((l) => Math.min(TICK_CHARS, String(l).length)));
      const labelRoom = 40 + longest * CHAR_PX;
      el.style.height = Math.max(360, n * CELL_PX + labelRoom + 90) + "px";
      if (el.closest(".chart-scroll")) el.style.width = Math.max(640, n * CELL_PX + labelRoom + 130) + "px";
      const trace = {
        type: "heatmap",
        x: plainAll(labels),
        y: plainAll(labels),
        z: data.z,
        text: (data.z || []).map((row) => row.map((v) => (v ? String(v) : ""))),
        texttemplate: "%{text}",
        textfont: { size: n > 40 ? 9 : 12 },
        xgap: 1,
        ygap: 1,
        colorscale: "Greens",
        reversescale: true, // plotly's Greens runs dark to light; more documents read darker
        colorbar: { title: { text: "Documents" }, thickness: 12 },
        hovertemplate: "true %{y}, predicted %{x}: %{z}<extra></extra>",
      };
      Plotly.newPlot(
        el,
        [trace],
        layout({
          // automargin: long label names get the room they need instead of being clipped.
          xaxis: labelAxis(labels, {
            title: { text: "Predicted label", standoff: 12 },
            side: "bottom",
            tickangle: n > 6 ? -45 : 0,
          }),
          yaxis: labelAxis(labels, { title: { text: "True label", standoff: 12 }, autorange: "reversed" }),
        }),
        CONFIG
      );
      const docs = documentsOf(el);
      el.on("plotly_click", function (event) {
        const point = event.points && event.points[0];
        if (!point || !Array.isArray(point.pointIndex)) return;
        showCell(docs, labels, data.z, point.pointIndex[0], point.pointIndex[1], false);
      });
      document.querySelectorAll("[data-cell-true]").forEach(function (button) {
        button.addEventListener("click", function () {
          const i = Number(button.getAttribute("data-cell-true"));
          const j = Number(button.getAttribute("data-cell-predicted"));
          showCell(docs, labels, data.z, i, j, true);
        });
      });
    },

    "label-counts": function (el, data) {
      makeRoom(el, data.labels, 240);
      const series = [
        ["tp", "Correct (true positive)", "#1d8102"],
        ["fp", "Extra (false positive)", "#d29d00"],
        ["fn", "Missed (false negative)", "#b3261e"],
      ];
      const traces = series.map(function (s) {
        return {
          type: "bar",
          name: s[1],
          x: plainAll(data.labels),
          y: data[s[0]],
          marker: { color: s[2] },
        };
      });
      Plotly.newPlot(
        el,
        traces,
        layout({
          barmode: "group",
          xaxis: labelAxis(data.labels, { title: { text: "Label" } }),
          yaxis: { title: { text: "Test documents" } },
          legend: LEGEND_ABOVE,
        }),
        CONFIG
      );
      const docs = documentsOf(el);
      el.on("plotly_click", function (event) {
        const point = event.points && event.points[0];
        if (!point) return;
        const kind = series[point.curveNumber][0];
        const label = data.labels[point.pointIndex];
        showLabel(docs, label, kind, data[kind][point.pointIndex], false);
      });
      // The same lists without a pointer: a label, a kind of documents, a button.
      const button = document.querySelector("[data-label-documents]");
      if (button) {
        button.addEventListener("click", function () {
          const index = Number(document.getElementById("label-documents-label").value);
          const kind = document.getElementById("label-documents-kind").value;
          showLabel(docs, data.labels[index], kind, data[kind][index], true);
        });
      }
    },

    "pr-curves": function (el, data) {
      const control = document.querySelector('[data-chart-control="pr-curves"]');
      function render() {
        const labels =
          control && control.value ? [control.value] : Object.keys(data).slice(0, MAX_CURVES);
        const traces = labels.map(function (label) {
          const curve = data[label];
          return {
            type: "scatter",
            mode: "lines",
            line: { shape: "hv" },
            name: plain(label),
            x: curve.recall,
            y: curve.precision,
            customdata: curve.thresholds,
            hovertemplate:
              "recall %{x:.3f}, precision %{y:.3f}<br>threshold %{customdata:.3f}" +
              "<extra>%{fullData.name}</extra>",
          };
        });
        Plotly.react(
          el,
          traces,
          layout({
            xaxis: Object.assign({ title: { text: "Recall" } }, UNIT_AXIS),
            yaxis: Object.assign({ title: { text: "Precision" } }, UNIT_AXIS),
            legend: { orientation: "h", y: -0.3 },
          }),
          CONFIG
        );
      }
      if (control) control.addEventListener("change", render);
      render();
    },
  };

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    const data = readJson(el.getAttribute("data-source"));
    const drawChart = draw[el.getAttribute("data-chart")];
    if (data && drawChart) drawChart(el, data);
  });
})();
