// Bulk selection on lists: "select all on this page" and the count of chosen rows.
// Row checkboxes belong to the bulk form through their form="…" attribute.
(function () {
  function setUp(form) {
    var boxes = function () {
      return document.querySelectorAll('input[type="checkbox"][form="' + form.id + '"]');
    };
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    var template = form.getAttribute("data-count-text") || "({n})";
    function update() {
      var list = boxes();
      var chosen = Array.prototype.filter.call(list, function (box) { return box.checked; }).length;
      if (count) count.textContent = chosen ? template.replace("{n}", chosen) : "";
      if (all) {
        all.checked = list.length > 0 && chosen === list.length;
        all.indeterminate = chosen > 0 && chosen < list.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    document.addEventListener("change", function (event) {
      if (event.target.getAttribute && event.target.getAttribute("form") === form.id) update();
    });
    update();
  }
  function init() { document.querySelectorAll("form[data-bulk-form]").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
