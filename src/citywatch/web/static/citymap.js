// CityWatch map: one symbology for the dashboard and the HTML report (Leaflet, no tiles).
// Draws, from the JSON of citywatch.maps.map_data: the basemap (the Thames, roads),
// response-time cells from the plan's ARV posts, borough boundaries, sites and ARV posts,
// with a legend in real units, a scale bar, hover details and the boundaries' credit.
"use strict";
(function (root) {
  // minutes from call to armed help: upper class limits and colours (ColorBrewer YlOrRd)
  const MINUTE_BREAKS = [6, 8, 10, 12, 15, Infinity];
  const MINUTE_COLOURS = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
  // share of a site's time with an armed patrol present (ColorBrewer Blues)
  const COVERAGE_BREAKS = [0.05, 0.2, 0.4, 0.6, 0.8, Infinity];
  const COVERAGE_COLOURS = ["#f7fbff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
  const PEOPLE_LEGEND = [100, 1000, 5000];

  function classOf(breaks, colours, v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "#bbbbbb";
    for (let i = 0; i < breaks.length; i++) if (v <= breaks[i]) return colours[i];
    return colours[colours.length - 1];
  }
  const minuteColour = (m) => classOf(MINUTE_BREAKS, MINUTE_COLOURS, m);
  const coverageColour = (c) => classOf(COVERAGE_BREAKS, COVERAGE_COLOURS, c);
  const pct = (c) => (c === null || c === undefined ? "–" : Math.round(100 * c) + "%");
  const num = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-GB"));
  const mins = (m) => (m === null || m === undefined ? "–" : m.toFixed(1) + " min");
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  function radius(people, small) {
    // circle area in proportion to the people present; 5,000 people → 14 px (9 small)
    const r = (small ? 9 : 14) * Math.sqrt(Math.max(0, people) / 5000);
    return Math.max(small ? 1.5 : 2.5, r);
  }

  function legendHTML(data, slotIndex) {
    const sw = (c, label) => '<span class="cw-key"><i style="background:' + c + '"></i>' + label + "</span>";
    let lo = 0;
    const minuteKeys = MINUTE_BREAKS.map((b, i) => {
      const label = b === Infinity ? "over " + lo : lo + "–" + b;
      lo = b;
      return sw(MINUTE_COLOURS[i], label);
    }).join("");
    let clo = 0;
    const covKeys = COVERAGE_BREAKS.map((b, i) => {
      const label = b === Infinity ? "over " + Math.round(clo * 100) + "%" : Math.round(clo * 100) + "–" + Math.round(b * 100) + "%";
      clo = b;
      return sw(COVERAGE_COLOURS[i], label);
    }).join("");
    const sizes = PEOPLE_LEGEND.map((p) => {
      const r = radius(p, false);
      return '<span class="cw-key"><svg width="' + (2 * r + 2) + '" height="' + (2 * r + 2) + '"><circle cx="' + (r + 1) + '" cy="' + (r + 1) + '" r="' + r + '" fill="#9ecae1" stroke="#333" stroke-width="0.6"/></svg>' + num(p) + "</span>";
    }).join("");
    return '<div class="cw-legend">' +
      "<div><b>Minutes from call to armed help</b> (cells, by ARV from the slot's posts): " + minuteKeys + "</div>" +
      "<div><b>Patrol coverage</b> (share of the slot an armed patrol is at the site): " + covKeys + "</div>" +
      "<div><b>People present</b> (circle area): " + sizes +
      '<span class="cw-key"><i class="cw-arv-key">2</i>ARV post (vehicles waiting)</span>' +
      '<span class="cw-key"><i class="cw-line" style="border-color:#2b7bba"></i>River Thames</span>' +
      '<span class="cw-key"><i class="cw-line" style="border-color:#333"></i>borough boundary</span></div>' +
      "</div>";
  }

  function zoneTooltip(p, slot) {
    return "<b>" + esc(p.name) + "</b><br>" +
      "patrol coverage of people at its sites: " + pct(p["coverage_" + slot]) + "<br>" +
      "people at its " + p.sites + " sites: " + num(p["people_" + slot]) + " · residents " + num(p.population) + "<br>" +
      "expected patrol teams: " + (p["patrols_" + slot] ?? 0).toFixed(2) + " · ARVs waiting: " + (p["arv_posts_" + slot] ?? 0) + "<br>" +
      "call to armed help: mean " + mins(p["response_min_" + slot]) + ", worst cell " + mins(p["worst_response_min_" + slot]);
  }

  // draw(element, data, {slot: index, small: bool, legend: bool}) -> {map, setSlot(i)}
  function draw(el, data, opts) {
    opts = opts || {};
    const L = root.L;
    const small = !!opts.small;
    const map = L.map(el, { zoomSnap: 0.25, zoomControl: !small, attributionControl: true,
      preferCanvas: false, minZoom: 8, maxZoom: 17 });
    map.attributionControl.setPrefix("Leaflet");
    if (data.attribution) map.attributionControl.addAttribution(esc(data.attribution));
    const b = data.bounds;
    map.fitBounds([[b[0][0], b[0][1]], [b[1][0], b[1][1]]], { padding: [4, 4] });
    L.control.scale({ imperial: false, metric: true, maxWidth: small ? 80 : 140 }).addTo(map);
    const canvas = L.canvas({ padding: 0.2 });
    const state = { slot: opts.slot || 0, layers: [] };

    map.createPane("cells").style.zIndex = 350;
    map.createPane("basemap").style.zIndex = 380;
    map.createPane("zones").style.zIndex = 400;
    map.createPane("sites").style.zIndex = 450;

    // response cells (canvas: thousands of hexagons)
    const cells = data.cells ? data.cells.rings.map((ring) => L.polygon(ring.map((p) => [p[1], p[0]]),
      { renderer: canvas, pane: "cells", stroke: false, fillOpacity: 0.6, interactive: false }).addTo(map)) : [];
    // basemap: water, roads, boundaries
    if (data.basemap) {
      L.geoJSON(data.basemap, { pane: "basemap", interactive: false, style: (f) => {
        const layer = f.properties.layer;
        if (layer === "water") return { color: "#2b7bba", weight: small ? 2 : 3, opacity: 0.9, fillColor: "#9ecae1", fillOpacity: 0.8 };
        if (layer === "road") return { color: "#777", weight: 1, opacity: 0.7 };
        return { color: "#555", weight: 1, dashArray: "4 3", fill: false };
      } }).addTo(map);
    }
    // borough boundaries with their figures on hover
    const zones = L.geoJSON(data.zones, { pane: "zones", className: "cw-zone",
      style: () => ({ color: "#333", weight: small ? 0.7 : 1.2, fillOpacity: 0, fill: true }) }).addTo(map);
    zones.eachLayer((layer) => {
      layer.bindTooltip(() => {
        let html = zoneTooltip(layer.feature.properties, data.slots[state.slot]);
        if (state.cursor) html += "<br>here: " + mins(state.cursor) + " from call to armed help";
        return html;
      }, { sticky: true });
      layer.on("mouseover", () => layer.setStyle({ weight: 2.5 }));
      layer.on("mouseout", () => layer.setStyle({ weight: small ? 0.7 : 1.2 }));
    });
    // the cell under the cursor, for the tooltip
    const centres = data.cells ? data.cells.rings.map((r) => {
      let x = 0, y = 0;
      for (let i = 0; i < r.length - 1; i++) { x += r[i][0]; y += r[i][1]; }
      return [x / (r.length - 1), y / (r.length - 1)];
    }) : [];
    map.on("mousemove", (ev) => {
      if (!centres.length) return;
      const k = Math.cos(ev.latlng.lat * Math.PI / 180);
      let best = Infinity, idx = -1;
      for (let i = 0; i < centres.length; i++) {
        const d = ((centres[i][0] - ev.latlng.lng) * k) ** 2 + (centres[i][1] - ev.latlng.lat) ** 2;
        if (d < best) { best = d; idx = i; }
      }
      state.cursor = best < 1e-4 ? data.cells.minutes[state.slot][idx] : null;
    });

    const siteLayer = L.layerGroup().addTo(map);
    const postLayer = L.layerGroup().addTo(map);

    function setSlot(s) {
      state.slot = s;
      const slot = data.slots[s];
      if (data.cells) cells.forEach((c, i) => c.setStyle({ fillColor: minuteColour(data.cells.minutes[s][i]) }));
      siteLayer.clearLayers();
      postLayer.clearLayers();
      const order = [...data.sites].sort((a, b2) => b2.people[s] - a.people[s]);
      for (const site of order) {
        const c = site.coverage ? site.coverage[s] : null;
        L.circleMarker([site.lat, site.lon], { pane: "sites", radius: radius(site.people[s], small),
          className: "cw-site", color: "#222", weight: 0.6, fillColor: coverageColour(c), fillOpacity: 0.9 })
          .bindTooltip("<b>" + esc(site.name) + "</b> (" + esc(site.zone) + ")<br>" + num(site.people[s]) +
            " people present, " + esc(slot) + "<br>patrol coverage " + pct(c) + "<br>call to armed help " +
            mins(site.response ? site.response[s] : null))
          .addTo(siteLayer);
      }
      for (const post of (data.posts ? data.posts[s] : [])) {
        const icon = L.divIcon({ className: "cw-arv", html: String(post.vehicles), iconSize: small ? [12, 12] : [16, 16] });
        L.marker([post.lat, post.lon], { icon, pane: "sites", zIndexOffset: 1000, keyboard: false })
          .bindTooltip("<b>ARV post: " + esc(post.name) + "</b><br>" + post.vehicles + " vehicle(s) waiting in " + esc(slot))
          .addTo(postLayer);
      }
    }
    setSlot(state.slot);
    if (opts.legend !== false && !small) {
      const legend = L.control({ position: "bottomleft" });
      legend.onAdd = () => {
        const div = L.DomUtil.create("div", "cw-legend-box");
        div.innerHTML = legendHTML(data, state.slot);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      };
      legend.addTo(map);
    }
    return { map, setSlot, state };
  }

  root.CityMap = { draw, legendHTML, minuteColour, coverageColour, MINUTE_BREAKS, COVERAGE_BREAKS };
})(typeof window !== "undefined" ? window : this);
