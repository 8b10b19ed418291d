// Draws the insights charts from the JSON the page embeds (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("insights-data").textContent);
  if (typeof Chart === "undefined") { return; }
  Chart.defaults.animation = false;
  function bar(id, pairs, label, colour) {
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: pairs.map(function (p) { return p[0]; }),
              datasets: [{ label: label, data: pairs.map(function (p) { return p[1]; }), backgroundColor: colour }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } } }
    });
  }
  new Chart(document.getElementById("chart-per-day"), {
    type: "line",
    data: { labels: figures.days, datasets: [
      { label: "conversations", data: figures.conversations_per_day, borderColor: "#00587c", backgroundColor: "#00587c" },
      { label: "visitor messages", data: figures.messages_per_day, borderColor: "#e07b00", backgroundColor: "#e07b00" }
    ] }
  });
  bar("chart-intents", figures.top_intents, "messages", "#00587c");
  bar("chart-countries", figures.countries, "answers", "#2e7d32");
  document.body.setAttribute("data-charts-drawn", "true");
})();
