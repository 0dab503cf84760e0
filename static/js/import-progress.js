// Polls a background import's status and updates the progress bar; reloads once finished
// so the page shows the row errors. No inline scripts (CSP 'self').
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-progress");
  var statusText = document.getElementById("import-status");
  var percent = document.getElementById("import-percent");
  var message = document.getElementById("import-message");
  var done = document.getElementById("import-done");
  if (!done.classList.contains("hidden")) { return; }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        bar.value = job.progress;
        bar.textContent = job.progress + "%";
        percent.textContent = job.progress;
        statusText.textContent = job.status_display;
        message.textContent = job.message;
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
