// The dry run's page (backoffice/imports.py): once the check has ended, show it again with its
// outcome and the "Import the N good rows" button. core/jobs.js updates the progress meanwhile.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root || root.dataset.finished === "true") {
    return;
  }
  function look() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(look, 1500);
        }
      })
      .catch(function () { window.setTimeout(look, 5000); });
  }
  window.setTimeout(look, 1000);
})();
