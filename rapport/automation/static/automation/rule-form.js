// The rule designer (automation/rule_form.html): shows the settings of the chosen trigger
// and of an "assign owner" action's chosen mode, re-renders the form when the record type or
// a new action is chosen, and keeps the scroll position across those re-renders. Without
// JavaScript every setting shows and the buttons do the same.
(function () {
  "use strict";

  function showTriggerSettings(form) {
    var select = form.querySelector("[data-trigger-select]");
    if (!select) return;
    form.querySelectorAll("[data-trigger-settings]").forEach(function (group) {
      group.hidden = group.getAttribute("data-trigger-settings").split(" ").indexOf(select.value) < 0;
    });
  }

  function showAssignMode(fieldset) {
    var checked = fieldset.querySelector('input[type="radio"][name$="-mode"]:checked');
    if (!checked) return;
    ["team", "users", "user"].forEach(function (name) {
      var box = fieldset.querySelector('[data-action-field="' + name + '"]');
      if (box) box.hidden = name !== checked.value;
    });
  }

  // A value box next to a field picker suggests that field's values (from the filter
  // builder's configuration on the page: the same fields, choices and labels).
  function suggestValues(form) {
    var source = document.getElementById("filter-builder-config");
    if (!source) return;
    var choices = {};
    JSON.parse(source.textContent).fields.forEach(function (spec) {
      if (spec.choices && spec.choices.length) choices[spec.name] = spec.choices;
    });
    form.querySelectorAll("input[data-choices-for]").forEach(function (input) {
      var picker = form.querySelector('[name="' + input.getAttribute("data-choices-for") + '"]');
      if (!picker) return;
      var list = document.createElement("datalist");
      list.id = (input.id || input.name) + "-choices";
      input.after(list);
      input.setAttribute("list", list.id);
      function fill() {
        list.textContent = "";
        (choices[picker.value] || []).forEach(function (choice) {
          var option = document.createElement("option");
          option.value = choice[0];
          option.label = choice[1];
          list.appendChild(option);
        });
      }
      picker.addEventListener("change", fill);
      fill();
    });
  }

  function setUp(form) {
    suggestValues(form);
    var scrollInput = form.querySelector("[data-scroll-input]");
    var refresh = form.querySelector("[data-refresh]");
    var add = form.querySelector("[data-add-action]");
    form.addEventListener("submit", function () {
      if (scrollInput) scrollInput.value = String(Math.round(window.scrollY));
    });
    var trigger = form.querySelector("[data-trigger-select]");
    if (trigger) trigger.addEventListener("change", function () { showTriggerSettings(form); });
    showTriggerSettings(form);
    form.querySelectorAll("[data-refresh-on-change]").forEach(function (select) {
      select.addEventListener("change", function () { if (refresh) form.requestSubmit(refresh); });
    });
    var kind = form.querySelector("[data-add-kind]");
    if (kind && add) {
      kind.addEventListener("change", function () { if (kind.value) form.requestSubmit(add); });
    }
    form.querySelectorAll('[data-action-kind="assign_owner"]').forEach(function (fieldset) {
      fieldset.addEventListener("change", function () { showAssignMode(fieldset); });
      showAssignMode(fieldset);
    });
    var scroll = parseInt(form.getAttribute("data-scroll") || "", 10);
    if (!isNaN(scroll)) window.scrollTo(0, scroll);
  }

  function init() { document.querySelectorAll("[data-rule-form]").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
