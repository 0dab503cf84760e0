// The dashboards' charts (ECharts) and map of open findings (Leaflet + markercluster).
// Data comes from the page (json_script "dashboard-data"); every bar, point and
// marker opens the filtered list behind it. Without JS the page keeps its data
// tables and the point list; without tiles the markers sit on a blank background.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var LIGHTS = { red: "#b4232a", yellow: "#c98500", green: "#2a7a3b", grey: "#7a828c" };
  var RANK = { red: 3, yellow: 2, green: 1, grey: 0 };
  var PALETTE = ["#b4232a", "#0b57a4", "#c98500", "#2a7a3b", "#6f42c1", "#1f8a8a", "#a0522d", "#5b636e"];

  function go(url) { if (url) { window.location.href = url; } }

  function chart(id, option, onClick) {
    var element = document.getElementById(id);
    if (!element || typeof echarts === "undefined") { return; }
    // Canvas renderer and rich-text tooltips: no inline style attributes (CSP).
    var instance = echarts.init(element, null, { renderer: "canvas" });
    option.color = PALETTE;
    option.animation = false;
    option.tooltip = Object.assign({ renderMode: "richText", confine: true }, option.tooltip || {});
    instance.setOption(option);
    if (onClick) { instance.on("click", onClick); }
    window.addEventListener("resize", function () { instance.resize(); });
    element.classList.add("dash-chart-ready");
  }

  var trend = data.trend;
  chart("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 44, top: 36, bottom: 28 },
    xAxis: { type: "category", data: trend.months },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 100, splitLine: { show: false } }],
    series: [
      { name: trend.labels.opened, type: "bar", data: trend.opened },
      { name: trend.labels.closed, type: "bar", data: trend.closed },
      { name: trend.labels.index, type: "line", yAxisIndex: 1, data: trend.index, connectNulls: true,
        symbolSize: 7, lineStyle: { width: 3 } }
    ]
  }, function (p) {
    if (p.seriesIndex === 0) { go(trend.openedUrls[p.dataIndex]); }
    if (p.seriesIndex === 1) { go(trend.closedUrls[p.dataIndex]); }
  });

  var categories = data.categories.slice().reverse();
  chart("chart-categories", {
    tooltip: { trigger: "item" },
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: categories.map(function (c) { return c.name; }) },
    series: [{ type: "bar", data: categories.map(function (c) { return c.value; }), itemStyle: { color: "#b4232a" },
               label: { show: true, position: "right" } }]
  }, function (p) { go(categories[p.dataIndex] && categories[p.dataIndex].url); });

  var types = data.pointTypes;
  chart("chart-point-types", {
    tooltip: { trigger: "item" },
    legend: { bottom: 0, type: "scroll" },
    series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"], data: types,
               label: { formatter: "{b}: {c}" } }]
  }, function (p) { go(types[p.dataIndex] && types[p.dataIndex].url); });

  // --- the map ---
  var element = document.getElementById("dash-map");
  if (!element || typeof L === "undefined") { return; }
  var map = L.map(element, { maxZoom: 18 });
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: element.getAttribute("data-tile-attribution") || "" }).addTo(map);
  } else {
    element.classList.add("dash-map-blank");
  }
  var clusters = typeof L.markerClusterGroup === "function" ? L.markerClusterGroup({
    showCoverageOnHover: false,
    iconCreateFunction: function (cluster) {
      var worst = "grey";
      cluster.getAllChildMarkers().forEach(function (m) {
        if (RANK[m.options.light] > RANK[worst]) { worst = m.options.light; }
      });
      return L.divIcon({ html: "<span>" + cluster.getChildCount() + "</span>",
                         className: "dash-cluster dash-cluster-" + worst, iconSize: L.point(36, 36) });
    }
  }) : L.featureGroup();
  var points = [];
  data.map.forEach(function (f) {
    var icon = L.divIcon({ className: "dash-marker dash-marker-" + f.light, iconSize: L.point(16, 16) });
    var marker = L.marker([f.lat, f.lng], { icon: icon, light: f.light, title: f.label, keyboard: true });
    var link = document.createElement("a");
    link.href = f.url;
    link.textContent = f.label;
    var popup = document.createElement("div");
    popup.appendChild(link);
    popup.appendChild(document.createElement("br"));
    popup.appendChild(document.createTextNode(f.detail));
    marker.bindPopup(popup);
    clusters.addLayer(marker);
    points.push([f.lat, f.lng]);
  });
  map.addLayer(clusters);
  if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.1)); } else { map.setView([30, 120], 5); }
  element.classList.add("dash-map-ready");
})();
