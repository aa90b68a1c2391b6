(function () {
  "use strict";
  // Sort the rows of a table.sortable when one of its column headers is clicked
  // (or activated with Enter/Space). Numeric cells carry their exact value in
  // data-value (empty when undefined: those rows go last); other cells sort as text.
  function key(row, index) {
    var cell = row.cells[index];
    if (!cell) { return { num: false, text: "" }; }
    var value = cell.getAttribute("data-value");
    if (value !== null) {
      var number = value === "" ? NaN : Number(value);
      return { num: true, value: number, text: cell.textContent.trim() };
    }
    return { num: false, text: cell.textContent.trim() };
  }
  function compare(a, b) {
    if (a.num && b.num) {
      var aNaN = isNaN(a.value), bNaN = isNaN(b.value);
      if (aNaN || bNaN) { return aNaN === bNaN ? 0 : (aNaN ? 1 : -1); }
      return a.value < b.value ? -1 : (a.value > b.value ? 1 : 0);
    }
    return a.text.localeCompare(b.text, undefined, { numeric: true, sensitivity: "base" });
  }
  function sortBy(table, header) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var index = header.cellIndex;
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      return { row: row, key: key(row, index), position: position };
    });
    rows.sort(function (a, b) {
      var order = compare(a.key, b.key);
      var undefinedLast = a.key.num && b.key.num && (isNaN(a.key.value) || isNaN(b.key.value));
      if (!undefinedLast && !ascending) { order = -order; }
      return order !== 0 ? order : a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tHead.rows.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      header.tabIndex = 0;
      header.title = "Sort by this column";
      header.addEventListener("click", function () { sortBy(table, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, header);
        }
      });
    });
  });
  // A link into the appendix opens the collapsed sections that hold its target.
  function reveal() {
    var target = location.hash && document.getElementById(location.hash.slice(1));
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    if (target) { target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", reveal);
  if (location.hash) { reveal(); }
  // Printing opens every collapsed section, so the paper copy holds every table.
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) {
      d.setAttribute("open", "");
    });
  });
})();
