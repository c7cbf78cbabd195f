// The flywheel page's chart: AverageF1Score per iteration, evaluated vs trained version, drawn
// from the JSON block (json_script) named by data-source; no data goes through inline scripts.
(function () {
  "use strict";
  if (!window.Plotly) return;

  // Iteration ids are the server's own (20240101T120000Z), but plotly reads HTML in every text
  // it draws, so they are escaped all the same.
  function plain(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function draw(el, data) {
    const x = (data.iterations || []).map(plain);
    const series = [
      ["evaluated", "Evaluated version (active when the iteration started)", "#6b7785", "dash"],
      ["trained", "Trained version (new)", "#0b6e4f", "solid"],
    ];
    const traces = series.map(function (s) {
      return {
        type: "scatter",
        mode: "lines+markers",
        name: s[1],
        x: x,
        y: data[s[0]],
        line: { color: s[2], dash: s[3] },
        connectgaps: false,
        hovertemplate: "%{x}: %{y:.4f}<extra>%{fullData.name}</extra>",
      };
    });
    Plotly.newPlot(
      el,
      traces,
      {
        margin: { l: 70, r: 20, t: 20, b: 70 },
        font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12 },
        paper_bgcolor: "#fff",
        plot_bgcolor: "#fff",
        hovermode: "closest",
        xaxis: { title: { text: "Iteration" }, type: "category" },
        yaxis: { title: { text: "AverageF1Score" }, range: [0, 1.02], tickformat: ".1f", zeroline: false },
        legend: { orientation: "h", y: -0.3 },
      },
      { responsive: true, displaylogo: false }
    );
  }

  document.querySelectorAll('[data-chart="flywheel-f1"]').forEach(function (el) {
    const source = document.getElementById(el.getAttribute("data-source"));
    if (source) draw(el, JSON.parse(source.textContent));
  });
})();
