// Search: the Ctrl/⌘-K dialog (templates search/_dialog.html) and the forms' record pickers
// (components/ui/macros.html `picker`). The server renders every result list (htmx); this file
// only opens and closes, moves with the arrow keys and picks. No inline script (CSP).
(function () {
  "use strict";

  // ---- the dialog ----------------------------------------------------------------------------

  function dialog() {
    return document.getElementById("search-dialog");
  }

  function openSearch() {
    var box = dialog();
    if (!box) return false;
    if (!box.open) box.showModal();
    var input = box.querySelector("input[type=search]");
    input.focus();
    input.select();
    return true;
  }

  function closeSearch() {
    var box = dialog();
    if (box && box.open) box.close();
  }

  function hits(box) {
    return Array.prototype.slice.call(box.querySelectorAll("a.search-hit"));
  }

  // Ctrl-K / ⌘-K anywhere opens it (or closes it again)
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      var box = dialog();
      if (!box) return;
      event.preventDefault();
      if (box.open) closeSearch(); else openSearch();
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) return;
    if (target.closest("[data-search-open]")) { event.preventDefault(); openSearch(); return; }
    if (target.closest("[data-search-close]")) { closeSearch(); return; }
    var box = dialog();
    if (box && target === box) { closeSearch(); return; }  // a click on the backdrop
    if (box && box.open && target.closest("#search-dialog a")) closeSearch();  // off it goes
  });

  // Arrow keys move through the results (focus moves to the link, so Enter opens it and a
  // screen reader reads it); typing a letter on a result goes back to the box.
  document.addEventListener("keydown", function (event) {
    var box = dialog();
    if (!box || !box.open || !box.contains(event.target)) return;
    var input = box.querySelector("input[type=search]");
    var links = hits(box);
    var at = links.indexOf(event.target);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!links.length) return;
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      var next = at + step;
      if (next < 0) { input.focus(); return; }
      links[Math.min(next, links.length - 1)].focus();
    } else if (at >= 0 && event.key.length === 1 && !event.ctrlKey && !event.metaKey) {
      input.focus();
    }
  });

  // ---- pickers ---------------------------------------------------------------------------------

  function pickerOf(el) {
    return el && el.closest ? el.closest("[data-picker]") : null;
  }

  function listOf(picker) {
    return picker.querySelector(".picker-picks");
  }

  function inputOf(picker) {
    return picker.querySelector("[data-picker-input]");
  }

  function options(picker) {
    return Array.prototype.slice.call(
      listOf(picker).querySelectorAll('[role=option]:not([aria-disabled="true"])'));
  }

  function closeList(picker) {
    listOf(picker).innerHTML = "";
    var input = inputOf(picker);
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function activate(picker, option) {
    options(picker).forEach(function (o) {
      o.setAttribute("aria-selected", o === option ? "true" : "false");
      o.classList.toggle("active", o === option);
    });
    var input = inputOf(picker);
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(picker, option) {
    var input = inputOf(picker);
    var value = option.dataset.value;
    var label = option.dataset.label;
    if (picker.hasAttribute("data-multiple")) {
      var chosen = picker.querySelector(".picker-chosen");
      var taken = chosen.querySelector('input[value="' + value + '"]');
      if (!taken) {
        var chip = document.createElement("li");
        chip.className = "list-inline-item badge text-bg-light border picker-chip";
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = picker.dataset.name;
        hidden.value = value;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-close ms-1";
        remove.setAttribute("data-picker-remove", "");
        remove.setAttribute("aria-label", "Remove " + label);
        chip.appendChild(hidden);
        chip.appendChild(document.createTextNode(label));
        chip.appendChild(remove);
        chosen.appendChild(chip);
      }
      input.value = "";
    } else {
      picker.querySelector("[data-picker-value]").value = value;
      input.value = label;
      input.dataset.label = label;
    }
    closeList(picker);
    input.focus();
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-picker-input]")) return;
    var picker = pickerOf(input);
    var all = options(picker);
    var current = all.indexOf(listOf(picker).querySelector('[aria-selected="true"]'));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!all.length) { htmx.trigger(input, "picker:open"); return; }
      var next = event.key === "ArrowDown" ? current + 1 : current - 1;
      activate(picker, all[Math.max(0, Math.min(next, all.length - 1))]);
    } else if (event.key === "Enter") {
      event.preventDefault();  // never submit the form from the picker's box
      if (current >= 0) choose(picker, all[current]);
    } else if (event.key === "Escape") {
      if (all.length || listOf(picker).children.length) { event.preventDefault(); closeList(picker); }
    }
  });

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest ? event.target.closest(".picker-picks [role=option]") : null;
    if (option) event.preventDefault();  // keep the focus (and the list) until the click
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    var option = event.target.closest('.picker-picks [role=option]:not([aria-disabled="true"])');
    if (option) { choose(pickerOf(option), option); return; }
    var remove = event.target.closest("[data-picker-remove]");
    if (remove) {
      var picker = pickerOf(remove);
      remove.closest(".picker-chip").remove();
      inputOf(picker).focus();
    }
  });

  // A single picker emptied by hand: no record (the link is removed on save).
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-picker-input]")) return;
    var picker = pickerOf(input);
    if (!picker.hasAttribute("data-multiple") && input.value.trim() === "") {
      picker.querySelector("[data-picker-value]").value = "";
      input.dataset.label = "";
    }
  });

  // Leaving a single picker with text that was not picked shows the chosen record again.
  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-picker-input]")) return;
    var picker = pickerOf(input);
    setTimeout(function () {
      if (picker.contains(document.activeElement)) return;
      closeList(picker);
      if (!picker.hasAttribute("data-multiple")) input.value = input.dataset.label || "";
      else input.value = "";
    }, 150);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list.classList || !list.classList.contains("picker-picks")) return;
    var picker = pickerOf(list);
    var input = inputOf(picker);
    if (document.activeElement !== input) { closeList(picker); return; }
    input.setAttribute("aria-expanded", options(picker).length ? "true" : "false");
    activate(picker, null);
  });
})();
