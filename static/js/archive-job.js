// Polls the archive job's status until it is done or failed (no inline script: CSP).
(function () {
  var box = document.getElementById("archive-job");
  if (!box) return;
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      field("status").textContent = d.status_display;
      field("progress").value = d.progress;
      field("message").textContent = d.message || "";
      if (d.status === "done") { field("download").hidden = false; return; }
      if (d.status !== "failed") setTimeout(poll, 1500);
    }).catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
