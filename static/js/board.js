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

  function dropOver(column) {
    document.querySelectorAll("#board-root .drop-over").forEach(function (el) {
      if (el !== column) el.classList.remove("drop-over");
    });
    if (column && column.dataset.kind !== "open") column.classList.add("drop-over");
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
      // dragging near the board's left or right edge scrolls it (every stage reachable)
      scroll: true,
      bubbleScroll: true,
      scrollSensitivity: 120,
      scrollSpeed: 20,
      // no "nearest empty list" guess: open stages scrolled out of view lie under the Won
      // and Lost zones, and a card must land in the list under the pointer
      emptyInsertThreshold: 0,
      onStart: function () { dragging = true; },
      // the Won and Lost drop zones widen under a dragged card
      onMove: function (evt) { dropOver(evt.to.closest(".board-column")); },
      onUnchoose: function () { dropOver(null); },
      onEnd: onEnd,
    });
  }


  // ---- Keyboard moves (WCAG 2.1.1): focus a card, Space picks it up, arrows move it between
  // and within stages, Space drops (the same move request as a drag), Escape puts it back.
  // Every step is announced in the live region #board-announce.
  var lifted = null;  // {item, from, oldIndex}
  var refocus = null;

  function announce(text) {
    var region = document.getElementById("board-announce");
    if (region) { region.textContent = ""; setTimeout(function () { region.textContent = text; }, 30); }
  }
  function cardsOf(list) { return Array.prototype.filter.call(list.children, function (el) { return el.classList.contains("deal-card"); }); }
  function where(item) {
    var list = item.parentElement;
    var cards = cardsOf(list);
    return "Stage " + list.dataset.stageName + ", position " + (cards.indexOf(item) + 1) + " of " + cards.length + ".";
  }
  function titleOf(item) { var a = item.querySelector(".deal-title"); return a ? a.textContent.trim() : "Deal"; }

  function lift(item) {
    var from = item.parentElement;
    lifted = { item: item, from: from, oldIndex: Array.prototype.indexOf.call(from.children, item) };
    dragging = true;
    item.classList.add("deal-card-lifted");
    item.setAttribute("aria-grabbed", "true");
    announce("Picked up " + titleOf(item) + ". " + where(item) + " Arrow keys move it, Space drops it, Escape cancels.");
  }
  function finish() {
    var item = lifted.item;
    item.classList.remove("deal-card-lifted");
    item.removeAttribute("aria-grabbed");
    dragging = false;
    var state = lifted;
    lifted = null;
    return state;
  }
  function cancelLift() {
    var state = finish();
    revert({ item: state.item, from: state.from, oldIndex: state.oldIndex });
    state.item.focus();
    announce("Move cancelled. " + titleOf(state.item) + " is back in " + where(state.item));
    if (missedPush) { missedPush = false; resync(); }
  }
  function drop() {
    var state = finish();
    var item = state.item;
    var to = item.parentElement;
    var newIndex = Array.prototype.indexOf.call(to.children, item);
    var evt = { item: item, from: state.from, to: to, oldIndex: state.oldIndex, newIndex: newIndex };
    if (to === state.from && newIndex === state.oldIndex) {
      announce(titleOf(item) + " dropped where it was.");
      if (missedPush) { missedPush = false; resync(); }
      return;
    }
    refocus = item.dataset.dealId;
    announce("Moving " + titleOf(item) + " to " + where(item));
    onEnd(evt);
  }
  function step(key) {
    var item = lifted.item;
    var list = item.parentElement;
    var cards = cardsOf(list);
    var index = cards.indexOf(item);
    if (key === "ArrowUp" && index > 0) list.insertBefore(item, cards[index - 1]);
    else if (key === "ArrowDown" && index < cards.length - 1) list.insertBefore(item, cards[index + 1].nextSibling);
    else if (key === "ArrowLeft" || key === "ArrowRight") {
      var lists = Array.prototype.slice.call(document.querySelectorAll("#board-root .board-cards"));
      var next = lists[lists.indexOf(list) + (key === "ArrowLeft" ? -1 : 1)];
      if (!next) { announce("No stage further " + (key === "ArrowLeft" ? "left." : "right.")); return; }
      var others = cardsOf(next);
      next.insertBefore(item, others[Math.min(index, others.length)] || null);
      item.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else { announce(where(item)); return; }
    item.focus();
    announce(where(item));
  }
  document.addEventListener("keydown", function (event) {
    var item = event.target.closest ? event.target.closest("#board-root .deal-card") : null;
    if (!item || event.target !== item || event.altKey || event.ctrlKey || event.metaKey) return;
    if (!lifted && (event.key === " " || event.key === "Enter") ) {
      if (event.key === "Enter") return;  // Enter on the card opens nothing; on its link it opens the deal
      event.preventDefault(); lift(item); return;
    }
    if (!lifted || lifted.item !== item) return;
    if (event.key === " " || event.key === "Enter") { event.preventDefault(); drop(); }
    else if (event.key === "Escape") { event.preventDefault(); cancelLift(); }
    else if (event.key.indexOf("Arrow") === 0) { event.preventDefault(); step(event.key); }
  });
  document.addEventListener("focusout", function (event) {
    // leaving a lifted card (Tab, a click elsewhere) cancels, never half-moves it
    if (lifted && event.target === lifted.item && !lifted.item.contains(event.relatedTarget)) {
      var item = lifted.item;
      setTimeout(function () { if (lifted && lifted.item === item && document.activeElement !== item) cancelLift(); }, 0);
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocus) return;
    var card = document.getElementById("deal-" + refocus);
    if (card) { card.focus(); announce(titleOf(card) + " moved. " + where(card)); refocus = null; }
  });

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

  // The board's totals line, read again once pushed or answered columns have landed (a move
  // anywhere changes the sums). A plain fetch: no htmx settle events that the keyboard mover's
  // refocus is waiting for.
  var summaryTimer = null;
  function refreshSummary() {
    var line = document.getElementById("board-summary");
    if (!line || !line.dataset.src) return;
    fetch(line.dataset.src, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var now = document.getElementById("board-summary");
        if (html && now) now.outerHTML = html.trim();
      })
      .catch(function () {});
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.target;
    if (!target || !target.classList || !target.classList.contains("board-column")) return;
    clearTimeout(summaryTimer);
    summaryTimer = setTimeout(refreshSummary, 400);
  });

  // A big change (a CSV import's batch into long columns) is announced, not pushed: the
  // `deals-live-board` span lands and the board reads itself again (app/deals/live.py).
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.target;
    if (!target || target.id !== "deals-live-board" || !boardRoot()) return;
    if (dragging) missedPush = true; else resync();
  });

  window.odexBoard = { init: init, resync: resync };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
