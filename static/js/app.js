// Odex CRM front-end glue: CSRF header on every htmx request, form errors swapped in place,
// server error messages as toasts, toasts that hide themselves. No inline script (CSP).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast show align-items-center border-0 text-bg-" + (level || "danger");
    toast.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = message;
    toast.appendChild(body);
    box.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  }
  window.odexToast = showToast;

  // The phone menu: the sidebar's links fold behind one button (CSS shows them on wide screens).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest("#nav-toggle") : null;
    if (!toggle) return;
    var sidebar = toggle.closest(".sidebar");
    var open = sidebar.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // 422 carries a form with inline errors, 409 a form with someone else's newer values
      // beside the user's input (and 413 the upload form with the limit): swap them in place.
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "409", swap: true },
        { code: "413", swap: true },
        { code: "422", swap: true },
        { code: "[45]..", swap: false, error: true },
      ];
    }
    document.querySelectorAll('.toast[data-autohide="true"]').forEach(function (el) {
      setTimeout(function () { el.remove(); }, 6000);
    });
  });

  // Live updates after an outage or a restart: htmx's ws extension reconnects on 1006, 1011,
  // 1012 and 1013 (the server closes with those). Its backoff is capped here at a few seconds,
  // so a page is live again soon after the server is. Pushes sent while a socket was down are
  // lost, so after every reconnect (not the first connect) the page re-reads what it shows:
  // elements listen for `odex:resync` (hx-trigger="odex:resync from:body", board.js).
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) return;
    htmx.config.wsReconnectDelay = function (retry) {
      var ceiling = Math.min(500 * Math.pow(2, retry), 5000);
      return ceiling / 2 + Math.random() * ceiling / 2;
    };
  });
  document.addEventListener("htmx:wsOpen", function (event) {
    var shell = event.target;
    if (shell.dataset.liveOpened) {
      htmx.trigger(document.body, "odex:resync");
    }
    shell.dataset.liveOpened = "1";
  });

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // A refusal with no form to show again (a bad search, a broken link) says why in a toast;
  // the server sends it as HX-Trigger {"odex:error": "..."} with HX-Reswap: none.
  document.addEventListener("odex:error", function (event) {
    showToast((event.detail && event.detail.value) || "Something was refused.", "warning");
  });

  // A fragment request answered with a whole page (a redirect followed to the sign-in page
  // after the session ended, or any page where a fragment was expected) must not be pasted
  // inside a card, with a second layout: the browser goes to that page instead.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var target = event.detail.target;
    if (!xhr || !event.detail.shouldSwap || !target || target === document.body) return;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && elt.closest && elt.closest("[hx-select]")) return; // picks its part of a page
    if (/^\s*<!doctype html/i.test(xhr.responseText || "")) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL || window.location.href);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = xhr && xhr.responseText && xhr.responseText.length < 300 ? xhr.responseText : "";
    showToast(text || "Something went wrong. Try again in a moment.");
  });

  document.addEventListener("htmx:sendError", function () {
    showToast("We couldn't reach Odex. Check your connection and try again.");
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest('[data-bs-dismiss="toast"]');
    if (close) close.closest(".toast").remove();
  });
})();
