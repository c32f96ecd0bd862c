// Live pushes arrive on every page's one websocket, but each page shows only some of the
// regions they update (a board column, a list row, the notifications list). This htmx
// extension drops the out-of-band fragments whose target is not on this page, so htmx never
// reports "no target" for them. Loaded with defer from notifications/_bell_slot.html.
(function () {
  "use strict";
  if (!window.htmx || window.odexLiveDefined) return;
  window.odexLiveDefined = true;

  function targetOf(el) {
    var spec = el.getAttribute("hx-swap-oob") || "true";
    var colon = spec.indexOf(":");
    if (colon > -1) return spec.slice(colon + 1);
    return el.id ? "#" + CSS.escape(el.id) : null;
  }

  htmx.defineExtension("odex-live", {
    transformResponse: function (text, xhr, elt) {
      if (xhr) return text;  // only websocket messages (htmx passes no request for them)
      var box = document.createElement("template");
      box.innerHTML = text;
      var kept = false;
      Array.prototype.slice.call(box.content.children).forEach(function (child) {
        var selector = targetOf(child);
        var found = false;
        try { found = !!(selector && document.querySelector(selector)); } catch (e) { found = false; }
        if (found) kept = true; else child.remove();
      });
      return kept ? box.innerHTML : "";
    },
  });
})();
