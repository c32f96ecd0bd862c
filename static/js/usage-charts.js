// Odex usage dashboard: draws the charts from the data-figures JSON (Chart.js, served locally).
(function () {
  "use strict";
  var PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#64748b", "#ec4899"];

  function draw() {
    var holder = document.getElementById("usage-data");
    if (!holder || !window.Chart) return;
    var figures = JSON.parse(holder.getAttribute("data-figures") || "{}");
    document.querySelectorAll("canvas.usage-chart").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var series = figures[canvas.dataset.key];
      if (!series) return;
      var kind = canvas.dataset.kind;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: kind,
        data: {
          labels: series.labels,
          datasets: [{
            label: canvas.getAttribute("aria-label"),
            data: series.values,
            backgroundColor: kind === "line" ? "rgba(79,70,229,.15)" : PALETTE,
            borderColor: kind === "line" ? "#4f46e5" : undefined,
            fill: kind === "line",
            tension: 0.3,
          }],
        },
        options: {
          responsive: true,
          animation: false,
          plugins: { legend: { display: kind === "doughnut" } },
          indexAxis: kind === "bar" ? "y" : "x",
        },
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
