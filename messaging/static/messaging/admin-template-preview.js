// The template page's live preview: the form is posted to preview/ into the iframe (the Preview
// button's formaction and formtarget) shortly after each change, and once when the page opens.
(function () {
  var button = document.querySelector("[data-template-preview]");
  if (!button || !button.form || !button.form.requestSubmit) return;
  var form = button.form;
  var timer = null;
  function preview() {
    clearTimeout(timer);
    timer = setTimeout(function () { form.requestSubmit(button); }, 500);
  }
  form.addEventListener("input", preview);
  form.addEventListener("change", preview);
  preview();
})();
