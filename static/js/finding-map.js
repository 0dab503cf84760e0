// Findings on a Leaflet map, loaded from the filtered JSON endpoint. Tiles come
// from MAP_TILE_URL; with none configured markers are drawn on a blank background.
(function () {
  "use strict";
  var element = document.getElementById("finding-map");
  if (!element || typeof L === "undefined") { return; }
  var colours = { "new": "#b4232a", "dispatched": "#d98b00", "closed": "#2a7a3b", "duplicate": "#777", "void": "#777" };
  var map = L.map(element, { preferCanvas: true });
  map.attributionControl.setPrefix(false);  // no link or flag of its own: only the tiles' credit, if any
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: element.getAttribute("data-tile-attribution") || "" }).addTo(map);
  }
  fetch(element.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var markers = data.findings.map(function (f) {
        var colour = colours[f.status] || "#b4232a";
        var marker = L.circleMarker([f.lat, f.lng], { radius: 7, color: colour, weight: 2, fillOpacity: 0.7 });
        var link = document.createElement("a");
        link.href = f.url;
        link.textContent = f.label;
        var popup = document.createElement("div");
        popup.appendChild(link);
        popup.appendChild(document.createElement("br"));
        popup.appendChild(document.createTextNode(f.detail));
        marker.bindPopup(popup);
        return marker.addTo(map);
      });
      if (markers.length) { map.fitBounds(L.featureGroup(markers).getBounds().pad(0.1)); } else { map.setView([30, 120], 5); }
    })
    .catch(function () { map.setView([30, 120], 5); });
})();
