// Live SLA clocks: every <time data-sla-due> gets the time left until it (or how long it is
// overdue) beside it, in the page's language, brought up to date every 30 seconds.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "zh-hans";
  var format = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(lang === "zh-hans" ? "zh-CN" : lang, { numeric: "auto" })
    : null;

  function phrase(minutes) {
    var size = Math.abs(minutes);
    if (size < 60) return format.format(minutes, "minute");
    if (size < 48 * 60) return format.format(Math.round(minutes / 60), "hour");
    return format.format(Math.round(minutes / 1440), "day");
  }

  function tick() {
    if (!format) return;
    var now = Date.now();
    document.querySelectorAll("time[data-sla-due]").forEach(function (node) {
      var due = Date.parse(node.getAttribute("datetime"));
      if (isNaN(due)) return;
      var minutes = Math.round((due - now) / 60000);
      var label = node.nextElementSibling;
      if (!label || !label.hasAttribute("data-sla-countdown")) {
        label = document.createElement("span");
        label.setAttribute("data-sla-countdown", "");
        node.insertAdjacentElement("afterend", label);
      }
      label.className = "small ms-1 " + (minutes < 0 ? "text-danger" : "text-secondary");
      label.textContent = "(" + phrase(minutes) + ")";
    });
  }

  tick();
  setInterval(tick, 30000);
})();
