/* Invoice form: "Add line" and "Remove" in the browser. Without JavaScript the same buttons
   submit the form and the server answers with a row more or less (app/invoices/routes.py). */
(function () {
  "use strict";
  if (window.odexInvoiceLines) { return; }  // loaded again by an htmx page swap
  window.odexInvoiceLines = true;

  function renumber(tbody) {
    tbody.querySelectorAll("tr.invoice-line").forEach(function (row, i) {
      row.querySelectorAll("input[name^='line-']").forEach(function (input) {
        input.name = input.name.replace(/^line-\d+-/, "line-" + i + "-");
        input.setAttribute("aria-label", (input.dataset.label || "Value") + " of line " + (i + 1));
      });
      var remove = row.querySelector("[data-remove-line]");
      if (remove) {
        remove.value = String(i);
        remove.setAttribute("aria-label", "Remove line " + (i + 1));
      }
    });
  }

  function clear(row) {
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.classList.remove("is-invalid");
      input.removeAttribute("aria-invalid");
    });
    row.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
  }

  function toggleAdd(tbody) {
    var form = tbody.closest("form");
    var add = form && form.querySelector("[data-add-line]");
    var max = parseInt(tbody.dataset.maxLines || "100", 10);
    if (add) { add.disabled = tbody.querySelectorAll("tr.invoice-line").length >= max; }
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-line]");
    if (add) {
      var tbody = document.querySelector(add.dataset.addLine);
      if (!tbody) { return; }
      event.preventDefault();
      var rows = tbody.querySelectorAll("tr.invoice-line");
      var max = parseInt(tbody.dataset.maxLines || "100", 10);
      if (rows.length >= max) { return; }
      var row = rows[rows.length - 1].cloneNode(true);
      clear(row);
      tbody.appendChild(row);
      renumber(tbody);
      toggleAdd(tbody);
      var first = row.querySelector("input");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-remove-line]");
    if (remove) {
      var body = remove.closest("tbody");
      var line = remove.closest("tr.invoice-line");
      if (!body || !line) { return; }
      event.preventDefault();
      if (body.querySelectorAll("tr.invoice-line").length > 1) {
        line.remove();
      } else {
        clear(line);  // the form always keeps one row
      }
      renumber(body);
      toggleAdd(body);
      var next = body.querySelector("tr.invoice-line:last-child input");
      if (next) { next.focus(); }
    }
  });
})();
