// Phone cards for list tables (table.cards, see app.css): each cell gets its
// column's name as data-label so a card reads "期限：2026-05-01". The layout is
// CSS; without this script the values still stack inside each card.
(function () {
  "use strict";
  document.querySelectorAll("table.cards").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var i = 0;
      Array.prototype.forEach.call(row.children, function (cell) {
        if (!cell.hasAttribute("data-label") && heads[i]) { cell.setAttribute("data-label", heads[i]); }
        i += cell.colSpan || 1;
      });
    });
  });
})();
