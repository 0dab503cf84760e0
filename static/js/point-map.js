// Draws the evaluation points on a Leaflet map. Tiles come from MAP_TILE_URL; with none
// configured the markers are drawn on a blank background (offline use).
(function () {
  "use strict";
  var element = document.getElementById("point-map");
  var data = document.getElementById("point-data");
  if (!element || !data || typeof L === "undefined") { return; }
  var points = JSON.parse(data.textContent);
  var map = L.map(element, { preferCanvas: true });
  map.attributionControl.setPrefix(false);  // no link or flag of its own: only the tiles' credit, if any
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: element.getAttribute("data-tile-attribution") || "" }).addTo(map);
  }
  var markers = points.map(function (p) {
    var marker = L.circleMarker([p.lat, p.lng], { radius: 7, color: "#b4232a", weight: 2, fillOpacity: 0.7 });
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name;
    var popup = document.createElement("div");
    popup.appendChild(link);
    popup.appendChild(document.createElement("br"));
    popup.appendChild(document.createTextNode(p.type + " · " + p.unit));
    marker.bindPopup(popup);
    return marker.addTo(map);
  });
  if (markers.length) {
    map.fitBounds(L.featureGroup(markers).getBounds().pad(0.1));
  } else {
    map.setView([30, 120], 5);
  }
})();
