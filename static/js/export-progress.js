/* The export status page (templates/integrations/export_job.html): while the file is being
   prepared, ask for progress every few seconds and show it; once the job is no longer
   pending, reload the page for the download link. A static file: the policy allows no inline
   script. Without JavaScript the page has a Refresh link. */
(function () {
  "use strict";
  var card = document.querySelector("[data-export-progress]");
  var status = card && card.querySelector("[data-export-status]");
  var bar = card && card.querySelector("[data-export-bar]");
  if (!card || !status || !bar) return;
  var url = card.getAttribute("data-export-progress");
  var seconds = Math.max(1, parseInt(card.getAttribute("data-poll-seconds"), 10) || 2);
  var polls = Math.ceil((60 * 60) / seconds); // stop asking after an hour
  var numbers = new Intl.NumberFormat("en-GB");

  function show(progress) {
    if (progress.total_rows !== null) {
      bar.max = Math.max(1, progress.total_rows);
      bar.value = progress.rows_written;
    }
    status.textContent =
      progress.status === "running" && progress.total_rows !== null
        ? "Being prepared: " + numbers.format(progress.rows_written) + " of " +
          numbers.format(progress.total_rows) + " rows."
        : progress.status_label + ".";
  }

  function poll() {
    if (polls-- <= 0) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (progress) {
        if (!progress.is_pending) {
          window.location.reload();
          return;
        }
        show(progress);
        window.setTimeout(poll, seconds * 1000);
      })
      .catch(function () {
        window.setTimeout(poll, seconds * 4000);
      });
  }

  window.setTimeout(poll, seconds * 1000);
})();
