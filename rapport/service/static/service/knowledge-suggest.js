// Suggested knowledge-base articles under a ticket's message form: a button puts the
// article's link (or text) into the reply being written, at the cursor.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var reply = document.getElementById("id_body");
    if (!reply) return;
    event.preventDefault();
    var text = button.getAttribute("data-kb-insert");
    var start = reply.selectionStart != null ? reply.selectionStart : reply.value.length;
    var end = reply.selectionEnd != null ? reply.selectionEnd : reply.value.length;
    var before = reply.value.slice(0, start);
    var after = reply.value.slice(end);
    var lead = before && !/\n$/.test(before) ? "\n" : "";
    var tail = after && !/^\n/.test(after) ? "\n" : "";
    reply.value = before + lead + text + tail + after;
    var caret = (before + lead + text).length;
    reply.focus();
    reply.setSelectionRange(caret, caret);
  });
})();
