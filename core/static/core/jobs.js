/* The job page's live progress (core/templates/core/jobs/detail.html): polls the job's JSON
   (backoffice:job_status) every second until the job ends, then shows its result. Text only
   (textContent): nothing the job holds is ever read as HTML. */
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root || root.dataset.finished === "true") {
    return;
  }
  var url = root.dataset.statusUrl;
  var bar = document.getElementById("job-bar");

  function field(name) {
    return root.querySelector('[data-job="' + name + '"]');
  }

  function setText(name, value) {
    var element = field(name);
    if (element) {
      element.textContent = value === null || value === undefined ? "" : String(value);
    }
  }

  function show(name, visible) {
    var element = field(name);
    if (element) {
      element.hidden = !visible;
    }
  }

  function fillList(list, entries, emptyText) {
    list.replaceChildren();
    if (!entries.length && emptyText) {
      entries = [[emptyText, ""]];
    }
    entries.forEach(function (entry) {
      var term = document.createElement("dt");
      var value = document.createElement("dd");
      term.textContent = entry[0];
      value.textContent = String(entry[1]);
      list.append(term, value);
    });
  }

  function fillErrors(body, errors) {
    body.replaceChildren();
    errors.forEach(function (error) {
      var row = document.createElement("tr");
      [error.row, error.field, error.message].forEach(function (value) {
        var cell = document.createElement("td");
        cell.className = "border-b border-base-200 px-2 py-1 dark:border-base-800";
        cell.textContent = value === null || value === undefined ? "" : String(value);
        row.append(cell);
      });
      body.append(row);
    });
  }

  function render(job) {
    if (job.percent === null) {
      bar.removeAttribute("value");
    } else {
      bar.value = job.percent;
    }
    setText("done", job.done);
    setText("total", job.total);
    show("of", job.total !== null);
    setText("percent", job.percent);
    show("percent-text", job.percent !== null);
    setText("error_count", job.error_count);
    setText("message", job.message);
    show("message", Boolean(job.message));
    show("result", job.has_result);
    var state = root.querySelector("[data-job-state]");
    if (state) {
      state.className = state.className.replace(/job-state-\w+/, "job-state-" + job.state);
      state.dataset.jobState = job.state;
      state.textContent = job.state_label;
    }
    var counts = document.getElementById("job-counts");
    fillList(counts, job.count_rows, counts.dataset.empty);
    document.getElementById("job-details-block").hidden = !job.detail_rows.length;
    fillList(document.getElementById("job-details"), job.detail_rows, "");
    fillErrors(document.getElementById("job-errors"), job.errors);
    show("no-errors", !job.error_count);
    show("some-errors", job.error_count > 0);
    show("errors-table", job.error_count > 0);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (job) {
        render(job);
        if (!job.finished) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // a web restart or a network cut: the job goes on, so do we
      });
  }

  window.setTimeout(poll, 500);
})();
