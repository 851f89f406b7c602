// The filter builder of the customer lists: rows of (field, operator, value) combined with
// and/or, with groups one level deep. It writes filter-language text (rapport/core/filterlang.py)
// into the form's "filter" box, which is what the server reads; without JavaScript that box is
// the filter. Fields, operators, choices and every word shown come from the page as JSON
// (<script type="application/json" id="…">), already translated.
(function () {
  "use strict";

  var KEYWORDS = ["and", "or", "not", "in", "is", "empty"];
  var BARE = /^[^\s()",=<>!~^]+$/;
  var ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
  var CHOICE_TYPES = ["choice", "multi", "tag", "user", "bool"];

  // --- tree → text (the same quoting as filterlang.to_text) ---------------------------------

  function quote(value) {
    var text = value === null || value === undefined ? "" : String(value);
    if (BARE.test(text) && KEYWORDS.indexOf(text.toLowerCase()) < 0) return text;
    return '"' + text.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  }

  function listOf(value) {
    var items = Array.isArray(value) ? value : String(value || "").split(",");
    return items.map(function (item) { return String(item).trim(); }).filter(function (item) {
      return item !== "";
    });
  }

  function conditionText(condition) {
    if (!condition.field || !condition.op) return "";
    var op = condition.op;
    if (op === "empty") return condition.field + " is empty";
    if (op === "not empty") return condition.field + " is not empty";
    if (op === "in" || op === "not in") {
      var values = listOf(condition.value);
      if (!values.length) values = [""];
      return condition.field + " " + op + " (" + values.map(quote).join(", ") + ")";
    }
    var single = Array.isArray(condition.value) ? condition.value[0] : condition.value;
    return condition.field + " " + op + " " + quote(single);
  }

  function groupText(group) {
    var parts = [];
    group.items.forEach(function (item) {
      if (item.items) {
        var inner = item.items.map(conditionText).filter(Boolean);
        if (inner.length > 1) parts.push("(" + inner.join(" " + item.join + " ") + ")");
        else if (inner.length === 1) parts.push(inner[0]);
      } else {
        var text = conditionText(item);
        if (text) parts.push(text);
      }
    });
    return parts.join(" " + group.join + " ");
  }

  // --- the widgets ------------------------------------------------------------------------

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function option(value, label, selected) {
    var node = element("option", { value: value, text: label });
    if (selected) node.selected = true;
    return node;
  }

  function Builder(container, config, textBox) {
    this.container = container;
    this.config = config;
    this.text = config.text;
    this.textBox = textBox;
    this.fields = {};
    var self = this;
    config.fields.forEach(function (field) { self.fields[field.name] = field; });
    this.state = config.state || { join: "and", items: [] };
    if (!this.state.items.length) this.state.items.push(this.blankCondition());
    this.root = element("div", { class: "filter-builder", role: "group", "aria-label": this.text.label });
    container.appendChild(this.root);
    this.render();
  }

  Builder.prototype.blankCondition = function () {
    return { field: "", op: "", value: "" };
  };

  Builder.prototype.opLabel = function (field, op) {
    var labels = this.config.ops;
    if ((field.type === "date" || field.type === "datetime") && labels.date[op]) return labels.date[op];
    return labels.any[op] || op;
  };

  Builder.prototype.changed = function () {
    this.textBox.value = groupText(this.state);
    this.setNote("");
  };

  Builder.prototype.setNote = function (message) {
    if (!this.note) return;
    this.note.textContent = message;
    this.note.hidden = !message;
  };

  Builder.prototype.joinSelect = function (group, label) {
    var self = this;
    var select = element("select", { class: "form-select form-select-sm w-auto d-inline-block", "aria-label": label, "data-join": "" }, [
      option("and", this.text.all, group.join === "and"),
      option("or", this.text.any, group.join === "or"),
    ]);
    select.addEventListener("change", function () {
      group.join = select.value;
      self.changed();
    });
    return select;
  };

  Builder.prototype.valueInput = function (condition, field) {
    var self = this;
    var op = condition.op;
    if (op === "empty" || op === "not empty") return null;
    var many = op === "in" || op === "not in";
    var input;
    if (CHOICE_TYPES.indexOf(field.type) >= 0 && field.choices.length) {
      var current = many ? listOf(condition.value) : [String(condition.value || "")];
      input = element("select", { class: "form-select", "aria-label": this.text.value, "data-value": "" });
      if (many) {
        input.multiple = true;
        input.size = Math.min(5, field.choices.length + 1);
      } else {
        input.appendChild(option("", this.text.choose_value, !current[0]));
      }
      var known = {};
      field.choices.forEach(function (choice) {
        known[choice[0]] = true;
        input.appendChild(option(choice[0], choice[1], current.indexOf(choice[0]) >= 0));
      });
      current.forEach(function (value) {  // a value typed by hand stays selectable
        if (value && !known[value]) input.appendChild(option(value, value, true));
      });
      input.addEventListener("change", function () {
        condition.value = many
          ? Array.prototype.filter.call(input.options, function (o) { return o.selected; }).map(function (o) { return o.value; })
          : input.value;
        self.changed();
      });
      return input;
    }
    var value = Array.isArray(condition.value) ? condition.value.join(", ") : String(condition.value || "");
    var type = "text";
    if (!many && (field.type === "number" || field.type === "decimal")) type = "number";
    if (!many && (field.type === "date" || field.type === "datetime") && (!value || ISO_DATE.test(value))) type = "date";
    input = element("input", { type: type, class: "form-control", "aria-label": this.text.value, "data-value": "" });
    if (type === "number") input.step = field.type === "decimal" ? "any" : "1";
    if (many) input.placeholder = this.text.values_hint;
    input.value = value;
    input.addEventListener("input", function () {
      condition.value = input.value;
      self.changed();
    });
    return input;
  };

  Builder.prototype.conditionRow = function (condition, list, onRemove) {
    var self = this;
    var field = this.fields[condition.field];
    var row = element("div", { class: "row g-2 mb-2 align-items-center", "data-condition": "" });
    var fieldSelect = element("select", { class: "form-select", "aria-label": this.text.field, "data-field-select": "" }, [
      option("", this.text.choose_field, !field),
    ]);
    this.config.fields.forEach(function (candidate) {
      fieldSelect.appendChild(option(candidate.name, candidate.label, field && candidate.name === field.name));
    });
    if (condition.field && !field) fieldSelect.appendChild(option(condition.field, condition.field, true));
    fieldSelect.addEventListener("change", function () {
      var chosen = self.fields[fieldSelect.value];
      condition.field = fieldSelect.value;
      condition.op = chosen ? (chosen.ops.indexOf(condition.op) >= 0 ? condition.op : chosen.ops[0]) : "";
      condition.value = "";
      row.replaceWith(self.conditionRow(condition, list, onRemove));
      self.changed();
    });
    var opSelect = element("select", { class: "form-select", "aria-label": this.text.operator, "data-op": "" });
    if (field) {
      field.ops.forEach(function (op) { opSelect.appendChild(option(op, self.opLabel(field, op), op === condition.op)); });
    } else {
      opSelect.disabled = true;
    }
    opSelect.addEventListener("change", function () {
      var wasMany = condition.op === "in" || condition.op === "not in";
      condition.op = opSelect.value;
      var isMany = condition.op === "in" || condition.op === "not in";
      if (wasMany !== isMany) condition.value = isMany ? listOf(condition.value) : listOf(condition.value)[0] || "";
      row.replaceWith(self.conditionRow(condition, list, onRemove));
      self.changed();
    });
    var valueInput = field ? this.valueInput(condition, field) : null;
    var remove = element("button", { type: "button", class: "btn btn-icon btn-ghost-danger w-100", "aria-label": this.text.remove, title: this.text.remove, "data-remove": "", text: "×" });
    remove.addEventListener("click", function () { onRemove(condition); });
    row.appendChild(element("div", { class: "col-12 col-md-4" }, [fieldSelect]));
    row.appendChild(element("div", { class: "col-12 col-md-3" }, [opSelect]));
    row.appendChild(element("div", { class: "col-10 col-md-4" }, [valueInput]));
    row.appendChild(element("div", { class: "col-2 col-md-1" }, [remove]));
    return row;
  };

  Builder.prototype.itemsOf = function (group, nested) {
    var self = this;
    var box = element("div", { "data-items": "" });
    group.items.forEach(function (item) {
      if (item.items) {
        box.appendChild(self.groupBox(item, group));
      } else {
        box.appendChild(self.conditionRow(item, group.items, function (condition) {
          group.items.splice(group.items.indexOf(condition), 1);
          if (!nested && !group.items.length) group.items.push(self.blankCondition());
          self.render();
          self.changed();
        }));
      }
    });
    return box;
  };

  Builder.prototype.groupBox = function (group, parent) {
    var self = this;
    var box = element("div", { class: "border rounded p-2 mb-2 bg-body-tertiary", "data-group": "" });
    var remove = element("button", { type: "button", class: "btn btn-sm btn-ghost-danger ms-auto", "data-remove-group": "", text: this.text.remove_group });
    remove.addEventListener("click", function () {
      parent.items.splice(parent.items.indexOf(group), 1);
      if (!parent.items.length) parent.items.push(self.blankCondition());
      self.render();
      self.changed();
    });
    box.appendChild(element("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2" }, [
      element("span", { text: this.text.group_before }),
      this.joinSelect(group, this.text.group_before),
      element("span", { text: this.text.group_after }),
      remove,
    ]));
    box.appendChild(this.itemsOf(group, true));
    var add = element("button", { type: "button", class: "btn btn-sm", "data-add-condition": "", text: "+ " + this.text.add_condition });
    add.addEventListener("click", function () {
      group.items.push(self.blankCondition());
      self.render();
    });
    box.appendChild(add);
    return box;
  };

  Builder.prototype.render = function () {
    var self = this;
    this.root.textContent = "";
    this.root.appendChild(element("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2" }, [
      element("span", { text: this.text.join_before }),
      this.joinSelect(this.state, this.text.join_before),
      element("span", { text: this.text.join_after }),
    ]));
    this.root.appendChild(this.itemsOf(this.state, false));
    var addCondition = element("button", { type: "button", class: "btn btn-sm", "data-add-condition": "", text: "+ " + this.text.add_condition });
    addCondition.addEventListener("click", function () {
      self.state.items.push(self.blankCondition());
      self.render();
    });
    var addGroup = element("button", { type: "button", class: "btn btn-sm", "data-add-group": "", text: "+ " + this.text.add_group });
    addGroup.addEventListener("click", function () {
      self.state.items.push({ join: self.state.join === "and" ? "or" : "and", items: [self.blankCondition(), self.blankCondition()] });
      self.render();
    });
    this.note = element("div", { class: "form-hint mt-2", "aria-live": "polite", "data-builder-note": "" });
    this.note.hidden = true;
    this.root.appendChild(element("div", { class: "d-flex flex-wrap gap-2" }, [addCondition, addGroup]));
    this.root.appendChild(this.note);
  };

  function setUp(container) {
    var source = document.getElementById(container.getAttribute("data-config"));
    var form = container.closest("form");
    var textBox = form && form.querySelector('textarea[name="filter"]');
    if (!source || !textBox) return;
    var config = JSON.parse(source.textContent);
    var root = container.querySelector("[data-builder-root]");
    var advanced = container.querySelector("[data-filter-advanced]");
    var hadText = textBox.value.trim() !== "";
    var builder = new Builder(root, config, textBox);
    var invalid = textBox.classList.contains("is-invalid");
    if (hadText && !config.state) {
      if (!invalid) builder.setNote(config.text.too_complex);  // the text box stays the filter
    } else if (advanced && !invalid) {
      advanced.open = false;
    }
    textBox.addEventListener("input", function () { builder.setNote(config.text.manual); });
  }

  function init() { document.querySelectorAll("[data-filter-builder]").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
