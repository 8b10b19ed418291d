// Draws the insights charts from the JSON the page embeds (no inline script: the CSP forbids it).
// Every axis of counts starts at 0 with whole-number ticks, and shares run from 0 to 100 %, so
// that one day of data reads as one bar of its true size, not as a dot on a zoomed-in axis.
// The figures of each chart are also in a table beside it, for screen readers. Every bar of a
// horizontal chart has its label (Chart.js skips labels that do not fit: the chart grows
// taller with its number of bars instead).
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("insights-data").textContent);
  if (typeof Chart === "undefined") { return; }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var BLUE = "#00587c", ORANGE = "#b45f00", GREEN = "#2e7d32", RED = "#b3261e";
  var LANGUAGES = { en: "English", fr: "French", es: "Spanish" };

  function short(text) { return text.length > 40 ? text.slice(0, 39) + "…" : text; }
  function counts(stacked) { return { beginAtZero: true, stacked: !!stacked, ticks: { precision: 0 } }; }
  function shares() {
    return { beginAtZero: true, min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } };
  }
  function dataset(label, data, colour) {
    return { label: label, data: data, backgroundColor: colour, borderColor: colour, maxBarThickness: 48 };
  }
  function draw(id, labels, datasets, options) {
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign({ plugins: { legend: { display: datasets.length > 1 } } }, options)
    });
  }
  var BAR_HEIGHT_PX = 28;
  function labelled(id, bars) {
    var box = document.getElementById(id).parentNode;
    box.style.height = Math.max(box.clientHeight, bars * BAR_HEIGHT_PX + 60) + "px";
    return { ticks: { autoSkip: false } };
  }
  function horizontal(id, pairs, label, colour) {
    draw(id, pairs.map(function (p) { return short(String(p[0])); }),
      [dataset(label, pairs.map(function (p) { return p[1]; }), colour)],
      { indexAxis: "y", scales: { x: counts(), y: labelled(id, pairs.length) } });
  }
  function share(rows) {
    return rows.map(function (r) { return r[1] ? Math.round(1000 * r[2] / r[1]) / 10 : null; });
  }

  draw("chart-per-day", figures.days, [
    dataset("conversations", figures.conversations_per_day, BLUE),
    dataset("visitor messages", figures.messages_per_day, ORANGE)
  ], { scales: { y: counts() } });
  var perDay = figures.understood.per_day, perLanguage = figures.understood.per_language;
  draw("chart-understood", perDay.map(function (r) { return r[0]; }),
    [dataset("understood (%)", share(perDay), GREEN)], { scales: { y: shares() } });
  draw("chart-languages", perLanguage.map(function (r) { return LANGUAGES[r[0]] || r[0]; }),
    [dataset("understood (%)", share(perLanguage), GREEN)], { scales: { y: shares() } });
  horizontal("chart-funnel", figures.funnel, "conversations", BLUE);
  draw("chart-feedback", figures.feedback.map(function (r) { return short(r[0]); }), [
    dataset("helpful", figures.feedback.map(function (r) { return r[1]; }), GREEN),
    dataset("not helpful", figures.feedback.map(function (r) { return r[2]; }), RED)
  ], { indexAxis: "y", scales: { x: counts(true), y: Object.assign({ stacked: true }, labelled("chart-feedback", figures.feedback.length)) } });
  horizontal("chart-missed", figures.missed, "times missed", RED);
  horizontal("chart-intents", figures.top_intents, "messages", BLUE);
  horizontal("chart-countries", figures.countries, "answers", GREEN);
  document.body.setAttribute("data-charts-drawn", "true");
})();
