// "Record a finding" on a phone: take the browser's GPS position, fill the
// coordinates and list the nearest evaluation points first in the point picker.
(function () {
  "use strict";
  // Choosing a point fills the responsible unit with the point's territorial unit,
  // unless the user has typed another unit themselves.
  var units = document.getElementById("point-units");
  var pointBox = document.getElementById("id_point");
  var unitBox = document.getElementById("id_unit");
  if (units && pointBox && unitBox) {
    var unitOf = JSON.parse(units.textContent);
    var filled = unitBox.value;
    pointBox.addEventListener("change", function () {
      if (unitBox.value && unitBox.value !== filled) { return; }
      filled = unitOf[pointBox.value] || "";
      unitBox.value = filled;
    });
  }
})();
(function () {
  "use strict";
  var button = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  var data = document.getElementById("point-positions");
  var lat = document.getElementById("id_latitude");
  var lng = document.getElementById("id_longitude");
  var select = document.getElementById("id_point");
  if (!button || !navigator.geolocation) { if (button) { button.hidden = true; } return; }
  var positions = data ? JSON.parse(data.textContent) : [];
  var byId = {};
  positions.forEach(function (p) { byId[String(p.id)] = p; });

  function distance(aLat, aLng, bLat, bLng) {
    var rad = Math.PI / 180, dLat = (bLat - aLat) * rad, dLng = (bLng - aLng) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(aLat * rad) * Math.cos(bLat * rad) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 12742000 * Math.asin(Math.sqrt(h));
  }

  function sortPoints(here) {
    if (!select) { return; }
    var options = Array.prototype.slice.call(select.options).filter(function (o) { return o.value; });
    options.forEach(function (o) {
      var p = byId[o.value];
      o.dataset.distance = p ? distance(here.lat, here.lng, p.lat, p.lng) : Infinity;
      if (p && !o.dataset.label) {
        o.dataset.label = o.textContent;
        var d = Number(o.dataset.distance);
        o.textContent = o.dataset.label + " · " + (d < 1000 ? Math.round(d) + " m" : (d / 1000).toFixed(1) + " km");
      }
    });
    options.sort(function (a, b) { return Number(a.dataset.distance) - Number(b.dataset.distance); });
    options.forEach(function (o) { select.appendChild(o); });
    if (!select.value && options.length && Number(options[0].dataset.distance) < 200) {
      select.value = options[0].value;
      select.dispatchEvent(new Event("change"));
    }
  }

  button.addEventListener("click", function () {
    status.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var here = { lat: pos.coords.latitude, lng: pos.coords.longitude };
      if (lat) { lat.value = here.lat.toFixed(6); }
      if (lng) { lng.value = here.lng.toFixed(6); }
      sortPoints(here);
      status.textContent = button.dataset.done;
    }, function () {
      status.textContent = button.dataset.failed;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
})();
