// Unit boxes (input[data-unit-lookup]): as the user types a name or a code, the
// matching units of their scope (/units/lookup/?q=) fill the box's <datalist>,
// written "name（code）" — which the server reads back as that unit. Without this
// script the box still takes a name or a code.
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (text === asked || /（[^）]*）$/.test(text)) { return; }
      clearTimeout(timer);
      timer = setTimeout(function () {
        asked = text;
        if (!text) { list.textContent = ""; return; }
        fetch(input.getAttribute("data-unit-lookup") + "?q=" + encodeURIComponent(text), {
          credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(function (response) {
          return response.ok ? response.json() : { results: [] };
        }).then(function (data) {
          if (input.value.trim() !== text) { return; }
          list.textContent = "";
          data.results.forEach(function (unit) {
            var option = document.createElement("option");
            option.value = unit.value;
            option.label = [unit.kind, unit.parent].filter(Boolean).join(" · ");
            list.appendChild(option);
          });
        }).catch(function () { /* no suggestions; the box still accepts a name or a code */ });
      }, 200);
    });
  }
  document.querySelectorAll("input[data-unit-lookup]").forEach(attach);
})();
