// The Retrain page: while a retrain runs, asks for its status every 2 seconds and shows the
// stage in the page's live region (read out by screen readers when it changes). No inline
// script: the workspace's policy (script-src 'self') forbids it.
(function () {
  "use strict";
  var region = document.getElementById("retrain-progress");
  if (!region || !window.fetch) { return; }
  var url = region.getAttribute("data-url");
  var elapsed = document.createElement("p");
  elapsed.className = "hint";
  elapsed.id = "retrain-elapsed";
  region.parentNode.insertBefore(elapsed, region.nextSibling);

  function finished() {
    elapsed.textContent = "";
    if (document.getElementById("retrain-results")) { return; }
    var link = document.createElement("a");
    link.id = "retrain-results";
    link.href = window.location.pathname;
    link.textContent = "Show the results";
    elapsed.appendChild(link);
  }

  function show(status) {
    if (region.textContent !== status.text) { region.textContent = status.text; }
    region.setAttribute("data-state", status.state);
    if (status.running) {
      elapsed.textContent = status.elapsed_s === null ? "" : "Running for " + status.elapsed_s + " s.";
    } else {
      finished();
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (status) {
        show(status);
        if (status.running) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }

  if (region.getAttribute("data-state") === "running") { poll(); }
})();
