// Main navigation menus (<details>): they open and close without this script;
// it only keeps one group open at a time and closes menus on Escape or on a
// click elsewhere.
(function () {
  "use strict";
  var groups = Array.prototype.slice.call(document.querySelectorAll(".navgroup"));
  var wrap = document.querySelector(".navwrap");

  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) { return; }
      groups.forEach(function (other) { if (other !== group) { other.open = false; } });
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = groups.filter(function (g) { return g.open; })[0];
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
      return;
    }
    if (wrap && wrap.open) {
      wrap.open = false;
      wrap.querySelector("summary").focus();
    }
  });

  document.addEventListener("click", function (event) {
    groups.forEach(function (group) {
      if (group.open && !group.contains(event.target)) { group.open = false; }
    });
  });
}());
