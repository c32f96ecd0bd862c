// The live deal board: SortableJS drag and drop between and within stages. A drop posts the
// move with the card's version; the answer (and every other viewer's websocket push) redraws
// the touched columns from the server's truth, so a refused move never leaves a card in a
// false place. No inline script anywhere (CSP); loaded by templates/deals/board.html.
(function () {
  "use strict";
  if (window.odexBoard) { window.odexBoard.init(); return; }

  var dragging = false;
  var missedPush = false;
  var pendingLost = null;
  var inFlight = {};

  function withSortable(fn) {
    if (window.Sortable) { fn(); return; }
    var script = document.querySelector("script[data-odex-sortable]");
    if (!script) {
      script = document.createElement("script");
      script.src = "/static/vendor/Sortable.min.js";
      script.setAttribute("data-odex-sortable", "1");
      document.head.appendChild(script);
    }
    script.addEventListener("load", fn);
  }

  function boardRoot() { return document.getElementById("board-root"); }

  function resync() {
    var root = boardRoot();
    if (!root || !window.htmx) return;
    htmx.ajax("GET", "/deals/board/" + root.dataset.pipelineId + "/columns", { swap: "none", target: root });
  }

  function revert(evt) {
    // put the card back where it came from, at once; the server's answer then confirms it
    var ref = evt.from.children[evt.oldIndex] || null;
    if (ref === evt.item) ref = ref.nextSibling;
    evt.from.insertBefore(evt.item, ref);
  }

  function sendMove(evt, lostReason) {
    var item = evt.item;
    var prev = item.previousElementSibling;
    while (prev && !prev.classList.contains("deal-card")) prev = prev.previousElementSibling;
    item.classList.add("deal-card-pending");
    var values = {
      stage_id: evt.to.dataset.stageId,
      from_stage_id: evt.from.dataset.stageId,
      version: item.dataset.version,
      after_id: prev ? prev.dataset.dealId : "",
      lost_reason: lostReason || "",
    };
    var request = htmx.ajax("POST", "/deals/" + item.dataset.dealId + "/move", {
      values: values, swap: "none", target: boardRoot(),
    });
    inFlight[item.dataset.dealId] = evt;
    return request;
  }

  // The move's answer redraws the columns; a failed request (network, 403, 422) puts the card
  // back where it came from and re-reads the board.
  document.addEventListener("htmx:afterRequest", function (event) {
    var path = (event.detail.pathInfo && event.detail.pathInfo.requestPath) || "";
    var match = path.match(/^\/deals\/([0-9a-f-]+)\/move$/);
    if (!match || !inFlight[match[1]]) return;
    var evt = inFlight[match[1]];
    delete inFlight[match[1]];
    evt.item.classList.remove("deal-card-pending");
    // a refused drag (422: the request didn't make sense) is put back like a failed one
    if (!event.detail.successful || event.detail.xhr.status >= 400) { revert(evt); resync(); }
    else if (missedPush) { missedPush = false; resync(); }
  });

  function askLostReason(evt) {
    var dialog = document.getElementById("lost-dialog");
    if (!dialog || !dialog.showModal) { sendMove(evt, ""); return; }
    pendingLost = evt;
    var text = document.getElementById("lost-reason");
    text.value = "";
    dialog.showModal();
    text.focus();
  }

  function onLostClose() {
    var dialog = document.getElementById("lost-dialog");
    var evt = pendingLost;
    pendingLost = null;
    if (!evt) return;
    var reason = document.getElementById("lost-reason").value.trim();
    if (dialog.returnValue === "ok" && reason) {
      sendMove(evt, reason);
    } else {
      revert(evt);
      if (missedPush) { missedPush = false; resync(); }
    }
  }

  function onEnd(evt) {
    dragging = false;
    if (evt.from === evt.to && evt.oldIndex === evt.newIndex) {
      if (missedPush) { missedPush = false; resync(); }
      return;
    }
    var fromKind = evt.from.dataset.kind;
    if (evt.to.dataset.kind === "lost" && fromKind !== "lost") askLostReason(evt);
    else sendMove(evt, "");
  }

  function attach(list) {
    if (list.dataset.sortableBound) return;
    list.dataset.sortableBound = "1";
    var root = boardRoot();
    Sortable.create(list, {
      group: "board-" + (root ? root.dataset.pipelineId : "x"),
      draggable: ".deal-card",
      animation: 150,
      ghostClass: "deal-card-ghost",
      onStart: function () { dragging = true; },
      onEnd: onEnd,
    });
  }

  function init() {
    if (!boardRoot()) return;
    withSortable(function () {
      document.querySelectorAll("#board-root .board-cards").forEach(attach);
    });
    var dialog = document.getElementById("lost-dialog");
    if (dialog && !dialog.dataset.bound) {
      dialog.dataset.bound = "1";
      dialog.addEventListener("close", onLostClose);
    }
    markMe();
  }

  function markMe() {
    var root = boardRoot();
    if (!root) return;
    document.querySelectorAll(".presence-chip").forEach(function (chip) {
      if (chip.dataset.userId === root.dataset.me) chip.classList.add("presence-me");
    });
  }

  // A push that lands mid-drag would pull the card out from under the pointer: skip it and
  // fetch the whole board once the drop is done.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (dragging && event.detail.message.indexOf("board-column") !== -1) {
      event.preventDefault();
      missedPush = true;
    }
  });
  // htmx carries an old element's attributes over to its replacement while it settles; the
  // inline styles SortableJS leaves on cards would then be set as attributes, which the CSP
  // refuses. Drop them first (removing an attribute is always allowed).
  // The whole board, not just the target: a card dragged elsewhere keeps its id, and htmx
  // finds it by id wherever it sits.
  document.addEventListener("htmx:oobBeforeSwap", function () {
    if (dragging) return;  // only presence and toasts land mid-drag (board pushes wait)
    document.querySelectorAll("#board-root [style]").forEach(function (el) {
      el.removeAttribute("style");
    });
  });
  document.addEventListener("htmx:load", function () { init(); });
  // the socket came back after an outage or a server restart: fetch what we missed
  document.addEventListener("odex:resync", function () { if (!dragging) resync(); else missedPush = true; });
  document.addEventListener("htmx:wsAfterMessage", function () {
    markMe();
    document.querySelectorAll('#toasts .toast[data-autohide="true"]:not([data-timer])').forEach(function (el) {
      el.setAttribute("data-timer", "1");
      setTimeout(function () { el.remove(); }, 6000);
    });
  });
  document.addEventListener("htmx:afterRequest", function () {
    document.querySelectorAll('#toasts .toast[data-autohide="true"]:not([data-timer])').forEach(function (el) {
      el.setAttribute("data-timer", "1");
      setTimeout(function () { el.remove(); }, 6000);
    });
  });

  window.odexBoard = { init: init, resync: resync };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
