// The review form's character count (community/templates/community/site/reviews/subject.html).
(function () {
  "use strict";
  var counter = document.querySelector("[data-review-count]");
  var text = document.querySelector("[data-review-text]");
  if (!counter || !text) return;
  var max = parseInt(counter.getAttribute("data-max"), 10);
  var template = counter.getAttribute("data-template") || "%(count)s / %(max)s";
  function show() {
    counter.textContent = template.replace("%(count)s", text.value.length).replace("%(max)s", max);
  }
  text.addEventListener("input", show);
  show();
})();
