/* The sales kanban board: drag a card to another column (or within one) and the move is
   posted to the server, which enforces the stage's rules. When the stage needs fields or a
   lost reason, the server answers with a small form, shown in a modal; the card goes back
   to where it was if the move is refused or the form is closed. */
(function () {
  "use strict";

  function start() {
    const board = document.querySelector("[data-kanban]");
    if (!board || typeof Sortable === "undefined") return;
    const moveUrl = (id) => board.dataset.moveUrl.replace("/0/", "/" + id + "/");
    const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    const modalEl = document.getElementById("move-modal");
    const modalBody = document.getElementById("move-modal-body");
    const errorBox = document.getElementById("board-error");
    const Modal = window.bootstrap && window.bootstrap.Modal;
    const modal = Modal ? Modal.getOrCreateInstance(modalEl) : null;
    let pending = null; // the dropped card waiting for the form: {item, from, next}

    function showError(message) {
      errorBox.textContent = message || board.dataset.failed;
      errorBox.classList.remove("d-none");
      window.setTimeout(() => errorBox.classList.add("d-none"), 6000);
    }

    function revert(drop) {
      const next = drop.next && drop.next.parentNode === drop.from ? drop.next : null;
      drop.from.insertBefore(drop.item, next);
      board.dispatchEvent(new CustomEvent("kanban:reverted", { detail: { id: drop.item.dataset.id } }));
    }

    function heads(columns) {
      Object.entries(columns || {}).forEach(([id, totals]) => {
        const column = board.querySelector('[data-stage-id="' + id + '"]');
        if (!column) return;
        column.querySelector("[data-count]").textContent = totals.count;
        column.querySelector("[data-amount]").textContent = totals.amount;
      });
    }

    function done(drop, payload) {
      if (payload.status !== "open") drop.item.remove();
      heads(payload.columns);
      board.dispatchEvent(new CustomEvent("kanban:moved", { detail: payload }));
    }

    function hideModal() {
      if (modal) modal.hide();
      else { modalEl.classList.remove("show"); modalEl.style.display = "none"; finishCancel(); }
    }

    function showModal() {
      if (modal) modal.show();
      else { modalEl.classList.add("show"); modalEl.style.display = "block"; }
    }

    function finishCancel() {
      if (pending) { revert(pending); pending = null; }
    }

    async function drop(event) {
      const item = event.item;
      if (event.from === event.to && event.oldIndex === event.newIndex) return;
      const previous = item.previousElementSibling;
      const after = previous && previous.classList.contains("kanban-card") ? previous.dataset.id : "";
      const dropped = { item: item, from: event.from, next: item._origin ? item._origin.next : null };
      const body = new URLSearchParams({
        stage: event.to.dataset.stage,
        after: after,
        top: after ? "" : "1",
        board_owner: board.dataset.owner || "",
        board_q: board.dataset.q || "",
      });
      let response;
      try {
        response = await fetch(moveUrl(item.dataset.id), {
          method: "POST",
          headers: { "X-CSRFToken": csrf, "X-Requested-With": "fetch" },
          body: body,
          credentials: "same-origin",
        });
      } catch (error) {
        revert(dropped);
        showError();
        return;
      }
      const type = response.headers.get("Content-Type") || "";
      if (type.includes("application/json")) {
        const payload = await response.json();
        if (payload.ok) done(dropped, payload);
        else { revert(dropped); showError(payload.message); }
        return;
      }
      if (!response.ok) { revert(dropped); showError(); return; }
      // the stage needs more: the small form, posted back with htmx
      pending = dropped;
      modalBody.innerHTML = await response.text();
      if (window.htmx) window.htmx.process(modalBody);
      showModal();
      const first = modalBody.querySelector("input:not([type=hidden]), select, textarea");
      if (first) window.setTimeout(() => first.focus(), 200);
    }

    document.body.addEventListener("opportunityMoved", (event) => {
      const drop = pending;
      pending = null;
      if (drop) done(drop, event.detail);
      hideModal();
    });
    modalEl.addEventListener("hidden.bs.modal", finishCancel);

    board.querySelectorAll(".kanban-list").forEach((list) => {
      Sortable.create(list, {
        group: "kanban",
        animation: 150,
        draggable: ".kanban-card:not(.locked)",
        filter: ".kanban-more",
        ghostClass: "kanban-ghost",
        delay: 150,
        delayOnTouchOnly: true,
        onStart: (event) => { event.item._origin = { next: event.item.nextElementSibling }; },
        onEnd: drop,
      });
    });
    board.dataset.ready = "1";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
