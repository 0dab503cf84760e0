// The dashboards' charts (ECharts) and map of open findings (Leaflet + markercluster).
// Data comes from the page (json_script "dashboard-data"); every bar, point and
// marker opens the filtered list behind it; the units one level below are drawn from their
// boundaries and coloured by a figure (index / overdue tasks / open findings), and clicking
// one opens its own dashboard. Without JS the page keeps its data tables and the point
// list; without tiles the outlines and markers sit on a blank background.
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

  // --- the map: unit outlines coloured by a figure (choropleth), open findings as markers ---
  var element = document.getElementById("dash-map");
  if (!element || typeof L === "undefined") { return; }
  var areas = data.areas || { features: [], labels: {} };
  var labels = areas.labels || {};
  var map = L.map(element, { maxZoom: 18, zoomSnap: 0.25 });
  map.attributionControl.setPrefix(false);  // no link or flag of its own: only the tiles' credit, if any
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: element.getAttribute("data-tile-attribution") || "" }).addTo(map);
  } else {
    element.classList.add("dash-map-blank");
  }

  // Classes per figure, over the values shown: the index (higher is better: red to green) in five
  // equal steps from the lowest to the highest unit, the counts (higher is worse) in five steps up to
  // the largest. Grey: no value (no score yet).
  var INDEX_COLOURS = ["#b4232a", "#e07b24", "#e3b21b", "#7fb13d", "#1a7f37"];
  var COUNT_COLOURS = ["#f3e7e4", "#f0b8a8", "#e5806a", "#cc4a3b", "#8f1d22"];
  var NO_DATA = "#d5d9de";

  function values(metric) {
    return areas.features.map(function (f) { return f.properties[metric]; })
      .filter(function (v) { return v !== null && v !== undefined; });
  }

  function classes(metric) {
    var shown = values(metric);
    if (metric === "index") {
      if (!shown.length) { return []; }
      var low = Math.min.apply(null, shown), high = Math.max.apply(null, shown);
      if (high - low < 0.05) { return [{ from: low, to: high, colour: INDEX_COLOURS[4] }]; }
      var width = (high - low) / 5;
      return INDEX_COLOURS.map(function (colour, i) {
        return { from: low + width * i, to: i === 4 ? high : low + width * (i + 1), colour: colour };
      });
    }
    var max = Math.max.apply(null, shown.concat([0]));
    var out = [{ from: 0, to: 0, colour: COUNT_COLOURS[0] }];
    var start = 1;
    var steps = Math.min(4, max);
    for (var i = 1; i <= steps; i++) {
      var top = Math.ceil(max * i / steps);
      if (top >= start) { out.push({ from: start, to: top, colour: COUNT_COLOURS[i + 4 - steps] }); }
      start = top + 1;
    }
    return out;
  }

  function colourOf(metric, value, bands) {
    if (value === null || value === undefined) { return NO_DATA; }
    for (var i = bands.length - 1; i >= 0; i--) {
      if (value >= bands[i].from - 1e-9) { return bands[i].colour; }
    }
    return bands.length ? bands[0].colour : NO_DATA;
  }

  function legendRows(metric, bands) {
    var rows = bands.slice().reverse().map(function (band) {
      var from = metric === "index" ? band.from.toFixed(1) : String(band.from);
      var to = metric === "index" ? band.to.toFixed(1) : String(band.to);
      return [from === to ? from : from + "–" + to, band.colour];
    });
    if (metric === "index" && values("index").length < areas.features.length) { rows.push([labels.noData, NO_DATA]); }
    return rows;
  }

  var metric = "index";
  var outline = null;
  var boundaryLayer = null;
  var legend = null;

  function swatch(colour, shape) {
    var box = document.createElement("span");
    box.className = "dash-swatch" + (shape ? " dash-swatch-" + shape : "");
    box.style.backgroundColor = colour;  // CSSOM, not a style attribute: allowed by the CSP
    return box;
  }

  function drawLegend() {
    if (legend) { map.removeControl(legend); }
    legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "dash-legend");
      L.DomEvent.disableClickPropagation(box);
      function section(title, rows, shape) {
        var head = document.createElement("strong");
        head.textContent = title;
        box.appendChild(head);
        var list = document.createElement("ul");
        rows.forEach(function (row) {
          var item = document.createElement("li");
          item.appendChild(swatch(row[1], shape));
          item.appendChild(document.createTextNode(row[0]));
          list.appendChild(item);
        });
        box.appendChild(list);
      }
      if (areas.features.length) {
        var title = labels[metric] + (metric === "index" && areas.month ? " · " + areas.month : "");
        section(title, legendRows(metric, classes(metric)), "");
      }
      var lights = labels.lights || {};
      section(labels.markers || "", ["red", "yellow", "green", "grey"].map(function (key) {
        return [lights[key] || key, LIGHTS[key]];
      }), "dot");
      return box;
    };
    legend.addTo(map);
  }

  function styleFor(feature) {
    return { color: "#38414a", weight: 1.5, opacity: 0.9, fillOpacity: 0.55,
             fillColor: colourOf(metric, feature.properties[metric], classes(metric)) };
  }

  function tooltipOf(p) {
    // Built from text nodes: unit names never become markup.
    var box = document.createElement("div");
    var index = p.index === null || p.index === undefined ? labels.noData : p.index;
    [[p.name, ""], [labels.index + ": ", index], [labels.overdue + ": ", p.overdue], [labels.open + ": ", p.open]]
      .forEach(function (line, n) {
        if (n) { box.appendChild(document.createElement("br")); }
        var text = document.createElement(n ? "span" : "strong");
        text.textContent = line[0] + line[1];
        box.appendChild(text);
      });
    return box;
  }

  if (areas.outline) {
    outline = L.geoJSON(areas.outline, { interactive: false,
      style: { color: "#38414a", weight: 2.5, fill: false, dashArray: "6 4" } }).addTo(map);
  }
  if (areas.features.length) {
    boundaryLayer = L.geoJSON({ type: "FeatureCollection", features: areas.features }, {
      style: styleFor,
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindTooltip(tooltipOf(p), { sticky: true, className: "dash-area-tip" });
        layer.on("click", function () { go(p.url); });
        layer.on("mouseover", function () { layer.setStyle({ weight: 3 }); });
        layer.on("mouseout", function () { layer.setStyle({ weight: 1.5 }); });
        layer.on("add", function () {
          var path = layer.getElement && layer.getElement();
          if (path) {
            path.classList.add("dash-area");
            path.setAttribute("data-code", p.code);
            path.setAttribute("role", "link");
            path.setAttribute("aria-label", p.name);
          }
        });
      }
    }).addTo(map);
    // Each unit's name in its middle (text, not markup; clicks go through to the unit).
    var names = L.layerGroup().addTo(map);
    boundaryLayer.eachLayer(function (layer) {
      var text = document.createElement("span");
      text.textContent = layer.feature.properties.name;
      names.addLayer(L.marker(layer.getBounds().getCenter(), { interactive: false, keyboard: false,
        icon: L.divIcon({ className: "dash-area-label", html: text, iconSize: null }) }));
    });
    var switcher = document.getElementById("dash-metric");
    if (switcher) {
      switcher.addEventListener("change", function (event) {
        if (!event.target || event.target.name !== "metric") { return; }
        metric = event.target.value;
        boundaryLayer.setStyle(styleFor);
        drawLegend();
        element.setAttribute("data-metric", metric);
      });
    }
  }
  element.setAttribute("data-metric", metric);

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
  drawLegend();
  var frame = boundaryLayer || outline;
  if (frame && frame.getBounds().isValid()) {
    map.fitBounds(frame.getBounds().pad(0.02));
  } else if (points.length) {
    map.fitBounds(L.latLngBounds(points).pad(0.1));
  } else {
    map.setView([30, 120], 5);
  }
  element.classList.add("dash-map-ready");
})();
