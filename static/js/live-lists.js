// Record lists kept live (app/crm/templates/crm/_bulk_live.html), and their "tick every row"
// box: a pushed `crm-live-<plural>` span, swapped in out of band, becomes the
// `odex:crm-<plural>` event the list re-reads on.
// Loaded again with each swapped list: the guard keeps one listener. (No inline script: CSP.)
(function () {
  "use strict";
  if (window.odexLiveLists) return;
  window.odexLiveLists = true;
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.target;
    if (!target || !target.id || target.id.indexOf("crm-live-") !== 0) return;
    if (window.htmx) htmx.trigger(document.body, "odex:crm-" + target.id.slice(9));
  });
  // the header's checkbox ticks or unticks every row of the page (crm/_records.html)
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || !box.hasAttribute || !box.hasAttribute("data-bulk-all")) return;
    document.querySelectorAll('input[form="bulk-form"][name="ids"]').forEach(function (row) {
      row.checked = box.checked;
    });
  });
})();
