// The dashboard's live balance: asks /account/balance.json every 15 s while the page is visible,
// and at once when the window gets the focus back (loyalty/site/account.py `balance_json`).
(function () {
  "use strict";
  var box = document.querySelector("[data-balance-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-balance-url");
  var balance = box.querySelector("[data-balance]");
  var value = box.querySelector("[data-balance-value]");
  var busy = false;

  function refresh() {
    if (busy || document.visibilityState === "hidden") { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (balance && balance.textContent !== data.balance_text) { balance.textContent = data.balance_text; }
        if (value) { value.textContent = data.value_text; }
        box.setAttribute("data-balance-now", String(data.balance));
      })
      .catch(function () { /* offline for a moment: the next round tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, 15000);
  window.addEventListener("focus", refresh);
  document.addEventListener("visibilitychange", refresh);
}());
