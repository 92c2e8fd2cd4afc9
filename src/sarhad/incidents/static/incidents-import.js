// sarhad: the import page follows its background import. It polls the job's JSON status, moves the progress bar
// and the "N of M rows" line as rows are checked, and reloads the page when the import has ended (the server then
// renders the outcome: imported, or the refused rows). No inline script (CSP script-src 'self').
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box || box.getAttribute("data-state") !== "running") { return; }
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  var template = count.getAttribute("data-template");
  var lang = document.documentElement.lang || "en";
  var digits;
  try { digits = new Intl.NumberFormat(lang === "fa" ? "fa-IR" : lang); }
  catch (e) { digits = new Intl.NumberFormat("en"); }

  function show(status) {
    bar.max = Math.max(status.total, 1);
    bar.value = status.processed;
    bar.textContent = String(status.processed);
    count.textContent = template.replace("%(done)s", digits.format(status.processed))
      .replace("%(total)s", digits.format(status.total));
  }

  function poll() {
    fetch(box.getAttribute("data-status-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("status " + answer.status); }
        return answer.json();
      })
      .then(function (status) {
        show(status);
        if (status.state === "running") { setTimeout(poll, 400); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
