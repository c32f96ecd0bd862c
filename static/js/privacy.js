// Odex privacy: the cookie banner hides itself as soon as a choice is submitted (the server
// records it and sets or deletes the analytics cookie in the response). No inline script (CSP).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.closest) return;
    var banner = form.closest("#cookie-banner");
    if (banner) banner.classList.add("d-none");
  });
})();
