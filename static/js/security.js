// Security alerts pushed over the websocket: hide their toasts after a while, and drop the
// "no alerts" placeholder once the first card arrives. (No inline script: CSP.)
(function () {
  "use strict";
  document.addEventListener("htmx:oobAfterSwap", function () {
    document.querySelectorAll('#toasts .toast[data-autohide="true"]:not([data-timer])').forEach(function (el) {
      el.setAttribute("data-timer", "1");
      setTimeout(function () { el.remove(); }, 10000);
    });
    var list = document.getElementById("alert-list");
    var empty = document.getElementById("alert-empty");
    if (list && empty && list.children.length) empty.remove();
  });
})();
