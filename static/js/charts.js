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

  const draw = {
    "metrics-trend": function (el, data) {
      const names = data.names || METRIC_NAMES;
      const traces = Object.keys(data.metrics).map(function (key) {
        return {
          type: "scatter",
          mode: "lines+markers",
          name: plain(names[key] || key),
          x: plainAll(data.versions),
          y: data.metrics[key],
          visible: (data.hidden || []).indexOf(key) >= 0 ? "legendonly" : true,
          hovertemplate: "%{x}: " + scoreFormat(data.percent) + "<extra>%{fullData.name}</extra>",
        };
      });
      Plotly.newPlot(
        el,
        traces,
        layout({
          xaxis: { title: { text: "Version (in submit order)" }, type: "category" },
          yaxis: Object.assign({ title: { text: "Score" } }, scoreAxis(data.percent)),
          legend: { orientation: "h", y: -0.3 },
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

    "confusion-matrix": function (el, data) {
      makeRoom(el, data.labels, 220);
      const trace = {
        type: "heatmap",
        x: plainAll(data.labels),
        y: plainAll(data.labels),
        z: data.z,
        colorscale: "Greens",
        reversescale: true, // plotly's Greens runs dark to light; more documents read darker
        texttemplate: "%{z}",
        hovertemplate: "true %{y}, predicted %{x}: %{z}<extra></extra>",
      };
      Plotly.newPlot(
        el,
        [trace],
        layout({
          // automargin: long label names get the room they need instead of being clipped.
          xaxis: labelAxis(data.labels, { title: { text: "Predicted label", standoff: 12 }, side: "bottom" }),
          yaxis: labelAxis(data.labels, { title: { text: "True label", standoff: 12 }, autorange: "reversed" }),
        }),
        CONFIG
      );
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
