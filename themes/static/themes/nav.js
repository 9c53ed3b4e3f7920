// The site's menu on narrow screens: without this script the links are simply all shown.
document.querySelectorAll("[data-nav-toggle]").forEach(function (button) {
  var nav = document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) return;
  function set(open) {
    button.setAttribute("aria-expanded", String(open));
    nav.dataset.collapsed = String(!open);
  }
  button.hidden = false;
  set(false);
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
});
