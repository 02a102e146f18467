// Live status for an import or a set being built: poll the status URL, move the progress bar, and
// reload the page once the work is finished so the results are rendered by the server. A page may
// hold several (a playlist's import, then the analysis of its audio).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".live-status[data-status-url]").forEach(watch);
});
function watch(box) {
  var status = box.getAttribute("data-status");
  if (status !== "queued" && status !== "running") return;
  var bar = box.querySelector("progress");
  var label = box.querySelector(".status-text");
  var delay = 1000;
  function poll() {
    fetch(box.getAttribute("data-status-url"), {
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (data) {
      if (bar) bar.value = data.progress || 0;
      if (label) label.textContent = data.status;
      if (data.status === "done" || data.status === "failed") {
        window.location.reload();
        return;
      }
      delay = Math.min(delay * 1.3, 5000);
      window.setTimeout(poll, delay);
    }).catch(function () {
      delay = Math.min(delay * 2, 15000);
      window.setTimeout(poll, delay);
    });
  }
  window.setTimeout(poll, delay);
}
