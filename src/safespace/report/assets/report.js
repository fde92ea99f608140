/* safespace report: draws the layout and the findings on a Leaflet map in the layout's
 * metric CRS (L.CRS.Simple: lat = northing, lng = easting, in metres from a local origin).
 * Every input-derived string reaches the page through textContent, never innerHTML. */
(function () {
  "use strict";
  var SEV = { high: "#b3261e", medium: "#e8710a", low: "#c99a00", info: "#5f6b7a" };
  var STATUS = { "new": "#b3261e", resolved: "#1e7b34", unchanged: "#5f6b7a" };
  var RADIUS = { high: 9, medium: 8, low: 7, info: 6 };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // Delta-decoded ring or line: [x0, y0, dx1, dy1, ...] in decimetres -> [[lat, lng], ...]
  function dec(r) {
    var out = [], x = 0, y = 0;
    for (var i = 0; i < r.length; i += 2) {
      x += r[i];
      y += r[i + 1];
      out.push([y / 10, x / 10]);
    }
    return out;
  }
  function polys(list) { return list.map(function (p) { return p.map(dec); }); }
  function lines(list) { return list.map(dec); }
  function pts(flat) {
    var out = [];
    for (var i = 0; i + 1 < flat.length; i += 2) out.push([flat[i + 1] / 10, flat[i] / 10]);
    return out;
  }

  // A link to something folded away opens the <details> that hold it.
  function reveal(id) {
    var t = document.getElementById(id);
    if (!t) return null;
    for (var e = t; e; e = e.parentElement) if (e.tagName === "DETAILS") e.open = true;
    return t;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[href^='#']");
    if (a && a.getAttribute("href").length > 1) reveal(a.getAttribute("href").slice(1));
  });
  if (location.hash.length > 1) reveal(location.hash.slice(1));

  // Print: open every <details> so nothing folded is lost on paper.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });

  var dataEl = document.getElementById("ss-map-data");
  var mapEl = document.getElementById("ss-map");
  if (!dataEl || !mapEl || typeof L === "undefined") return;
  var data = JSON.parse(dataEl.textContent);

  var map = L.map(mapEl, {
    crs: L.CRS.Simple, minZoom: -8, maxZoom: 6, zoomSnap: 0.25, zoomDelta: 0.5,
    scrollWheelZoom: false, attributionControl: true
  });
  // Wheel zoom only once the reader has clicked into the map: the page must still scroll.
  map.on("click focus", function () { map.scrollWheelZoom.enable(); });
  mapEl.addEventListener("mouseleave", function () { map.scrollWheelZoom.disable(); });
  map.attributionControl.setPrefix(false);
  if (data.attribution) map.attributionControl.addAttribution(data.attribution);
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);

  var canvas = L.canvas({ padding: 0.5 });
  var svg = L.svg({ padding: 0.5 });
  var overlays = {};

  function tip(layer, text) {
    layer.bindTooltip(el("span", null, text), { sticky: true });
  }

  function drawLayout(spec) {
    var g = spec.L, ghost = spec.style === "ghost";
    var base = L.layerGroup(), bld = L.layerGroup(), furn = L.layerGroup();
    var opt = function (o) { o.renderer = canvas; o.interactive = !!o.interactive; return o; };
    if (!ghost) {
      if (g.green.length) L.polygon(polys(g.green), opt({ stroke: false, fillColor: "#d5e6c6", fillOpacity: 1 })).addTo(base);
      if (g.ped.length) L.polygon(polys(g.ped), opt({ stroke: false, fillColor: "#ebe4d6", fillOpacity: 1 })).addTo(base);
      if (g.parking.length) L.polygon(polys(g.parking), opt({ color: "#c3c8cf", weight: 0.6, fillColor: "#e2e5e9", fillOpacity: 1 })).addTo(base);
      if (g.hedges.length) L.polyline(lines(g.hedges), opt({ color: "#8fb37a", weight: 2 })).addTo(base);
      if (g.streets.length) {
        L.polyline(lines(g.streets), opt({ color: "#a39d92", weight: 6, lineCap: "round", lineJoin: "round" })).addTo(base);
        L.polyline(lines(g.streets), opt({ color: "#ffffff", weight: 4, lineCap: "round", lineJoin: "round" })).addTo(base);
      }
      if (g.paths.length) L.polyline(lines(g.paths), opt({ color: "#9c7b62", weight: 1.6, dashArray: "4 3" })).addTo(base);
      if (g.barriers.length) L.polyline(lines(g.barriers), opt({ color: "#5d4037", weight: 1.2 })).addTo(base);
    } else if (g.streets.length) {
      L.polyline(lines(g.streets), opt({ color: "#9c8f7a", weight: 1, dashArray: "2 3" })).addTo(base);
    }
    var bstyle = ghost
      ? { color: "#7a5c3a", weight: 1.2, dashArray: "4 3", fill: false }
      : { color: "#8c8477", weight: 0.6, fillColor: "#cdc6ba", fillOpacity: 1 };
    var cstyle = ghost ? bstyle : { color: "#b3ab9e", weight: 0.5, fillColor: "#e2ddd4", fillOpacity: 1 };
    if (g.bld_ctx.length) L.polygon(polys(g.bld_ctx), opt(L.extend({}, cstyle))).addTo(bld);
    if (g.bld_prop.length) L.polygon(polys(g.bld_prop), opt(L.extend({}, bstyle))).addTo(bld);
    g.named.forEach(function (b) {
      if (!b.p.length) return;
      var s = L.extend({}, b.ctx ? cstyle : bstyle, { interactive: true });
      var layer = L.polygon(polys(b.p), opt(s)).addTo(bld);
      tip(layer, b.n);
    });
    if (!ghost) {
      pts(g.trees).forEach(function (p) {
        L.circleMarker(p, opt({ radius: 2.2, stroke: false, fillColor: "#7fa866", fillOpacity: 0.9 })).addTo(base);
      });
      pts(g.entrances).forEach(function (p) {
        L.circleMarker(p, opt({ radius: 1.6, stroke: false, fillColor: "#3b3b3b", fillOpacity: 1 })).addTo(bld);
      });
      pts(g.lamps).forEach(function (p) {
        L.circleMarker(p, opt({ radius: 2.6, color: "#6b5500", weight: 1, fillColor: "#ffd23f", fillOpacity: 1 })).addTo(furn);
      });
      pts(g.phones).forEach(function (p) {
        L.circleMarker(p, opt({ radius: 4, color: "#fff", weight: 1, fillColor: "#00838f", fillOpacity: 1 })).addTo(furn);
      });
      g.police.forEach(function (p) {
        var m = L.circleMarker(pts(p.c)[0], opt({ radius: 7, color: "#fff", weight: 2, fillColor: "#1f4e9c", fillOpacity: 1, interactive: true })).addTo(furn);
        tip(m, p.t ? p.n + " (" + p.t + ")" : p.n);
      });
    }
    if (g.boundary.length) {
      L.polygon(polys(g.boundary), opt({ color: "#1d1d1d", weight: 1.8, dashArray: "7 4", fill: false })).addTo(bld);
    }
    if (ghost) {
      overlays[spec.label + ": buildings and streets"] = L.layerGroup([base, bld]).addTo(map);
    } else {
      base.addTo(map); bld.addTo(map); furn.addTo(map);
      overlays[spec.label + ": ground, streets and paths"] = base;
      overlays[spec.label + ": buildings and boundary"] = bld;
      overlays[spec.label + ": lamps, phones and police"] = furn;
    }
  }
  data.layouts.forEach(drawLayout);

  function popupFor(f) {
    var d = el("div", "ss-pop");
    var head = el("div", "ss-pop-head");
    if (f.status) head.appendChild(el("span", "ss-badge ss-status-" + f.status, f.status));
    head.appendChild(el("span", "ss-badge ss-sev-" + f.sev, f.sev));
    head.appendChild(el("span", "ss-pop-rule", f.rule));
    d.appendChild(head);
    d.appendChild(el("strong", "ss-pop-title", f.title));
    d.appendChild(el("p", "ss-pop-msg", f.msg));
    if (f.rec) {
      var p = el("p", "ss-pop-rec");
      p.appendChild(el("em", null, "Recommendation: "));
      p.appendChild(document.createTextNode(f.rec));
      d.appendChild(p);
    }
    var a = el("a", null, "Details in the findings table");
    a.href = "#f-" + f.id;
    d.appendChild(a);
    return d;
  }

  var byId = {};
  var groups = {};
  var areaFindings = [];
  data.findings.forEach(function (f) {
    if (!f.g) return;
    var colour = f.status ? STATUS[f.status] : SEV[f.sev];
    var cls = "ss-finding ss-sev-" + f.sev + (f.status ? " ss-status-" + f.status : "");
    var key = f.status ? "Findings: " + f.status : "Findings: " + f.sev;
    var group = groups[key] || (groups[key] = L.featureGroup());
    var layer;
    if (f.g.k === "pt") {
      layer = L.circleMarker(pts(f.g.c)[0], {
        renderer: svg, className: cls, radius: RADIUS[f.sev] || 7, color: "#ffffff", weight: 2,
        fillColor: colour, fillOpacity: 0.95
      });
      if (f.g.parts) {
        pts(f.g.parts).forEach(function (p) {
          L.circleMarker(p, { renderer: svg, className: "ss-finding-part", interactive: false, radius: 3, stroke: false, fillColor: colour, fillOpacity: 0.7 }).addTo(group);
        });
      }
    } else if (f.g.k === "ln") {
      layer = L.polyline(lines(f.g.c), { renderer: svg, className: cls, color: colour, weight: 5, opacity: 0.85 });
    } else {
      layer = L.polygon(polys(f.g.c), { renderer: svg, className: cls, color: colour, weight: 3, fillColor: colour, fillOpacity: 0.12 });
      areaFindings.push(layer);
    }
    layer.bindPopup(popupFor(f), { maxWidth: 340, autoPanPadding: [20, 20] });
    layer.on("popupopen", function () {
      document.querySelectorAll(".ss-frow.ss-active").forEach(function (r) { r.classList.remove("ss-active"); });
      var row = document.getElementById("f-" + f.id);
      if (row) row.classList.add("ss-active");
    });
    layer.addTo(group);
    byId[f.id] = layer;
  });
  var showFindings = data.show_findings !== false;
  ["high", "medium", "low", "info", "new", "resolved", "unchanged"].forEach(function (k) {
    var key = "Findings: " + k;
    if (groups[key]) { if (showFindings) groups[key].addTo(map); overlays[key] = groups[key]; }
  });

  // Issues: one shape per place, numbered as in the report's list, drawn over the findings.
  var issueLayer = L.featureGroup();
  var issuesById = {};
  function issuePopup(i) {
    var d = el("div", "ss-pop");
    var head = el("div", "ss-pop-head");
    head.appendChild(el("span", "ss-badge ss-w-" + i.w, i.w));
    head.appendChild(el("span", "ss-pop-rule", (i.key ? "key concern " : "issue ") + i.n + " · " + i.scope));
    d.appendChild(head);
    d.appendChild(el("strong", "ss-pop-title", i.place));
    d.appendChild(el("p", "ss-pop-msg", i.title));
    if (i.rec) {
      var p = el("p", "ss-pop-rec");
      p.appendChild(el("em", null, "Action: "));
      p.appendChild(document.createTextNode(i.rec));
      d.appendChild(p);
    }
    var a = el("a", null, "Details in the list of issues");
    a.href = "#issue-" + i.id;
    d.appendChild(a);
    return d;
  }
  (data.issues || []).forEach(function (i) {
    if (!i.g) return;
    var colour = SEV[i.sev] || SEV.info;
    var cls = "ss-issue-shape ss-sev-" + i.sev + (i.key ? " ss-key" : "");
    var layer;
    if (i.g.k === "pt") {
      layer = L.circleMarker(pts(i.g.c)[0], { renderer: svg, className: cls, radius: i.key ? 11 : 7,
        color: "#1c2430", weight: i.key ? 2.5 : 1.5, fillColor: colour, fillOpacity: 0.9 });
    } else if (i.g.k === "ln") {
      layer = L.polyline(lines(i.g.c), { renderer: svg, className: cls, color: colour, weight: i.key ? 8 : 5, opacity: 0.8 });
    } else {
      layer = L.polygon(polys(i.g.c), { renderer: svg, className: cls, color: colour, weight: i.key ? 3 : 2, fillColor: colour, fillOpacity: 0.15 });
    }
    layer.bindPopup(issuePopup(i), { maxWidth: 340, autoPanPadding: [20, 20] });
    if (i.key) layer.bindTooltip(el("span", "ss-inum", String(i.n)), { permanent: true, direction: "center", className: "ss-inum-tip" });
    layer.addTo(issueLayer);
    issuesById[i.id] = layer;
  });
  if ((data.issues || []).length) { issueLayer.addTo(map); overlays["Issues"] = issueLayer; }
  // Area findings (a site, a block) sit under lines and points, so those stay clickable.
  areaFindings.forEach(function (l) { if (map.hasLayer(l)) l.bringToBack(); });
  L.control.layers(null, overlays, { collapsed: window.innerWidth < 720 }).addTo(map);

  var b = data.bounds;
  if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [12, 12] });
  else map.setView([0, 0], 0);

  // A table row (or its "map" button) focuses the map on its finding and opens its text.
  function focusFinding(id) {
    var layer = byId[id];
    if (!layer) return;
    mapEl.scrollIntoView({ behavior: "smooth", block: "center" });
    if (layer.getLatLng) map.setView(layer.getLatLng(), Math.max(map.getZoom(), 1));
    else map.fitBounds(layer.getBounds(), { maxZoom: 2, padding: [30, 30] });
    layer.openPopup();
  }
  document.querySelectorAll(".ss-frow[data-fid]").forEach(function (row) {
    if (!byId[row.getAttribute("data-fid")]) return;
    row.classList.add("ss-located");
    row.addEventListener("click", function (e) {
      if (e.target.closest("a, summary")) return;
      focusFinding(row.getAttribute("data-fid"));
    });
  });
  window.addEventListener("beforeprint", function () { map.invalidateSize(); });
  // A key concern in the list focuses the map on its issue.
  document.querySelectorAll(".ss-concern[data-issue]").forEach(function (li) {
    var layer = issuesById[li.getAttribute("data-issue")];
    if (!layer) return;
    li.classList.add("ss-located");
    li.addEventListener("click", function (e) {
      if (e.target.closest("a")) return;
      mapEl.scrollIntoView({ behavior: "smooth", block: "center" });
      if (layer.getLatLng) map.setView(layer.getLatLng(), Math.max(map.getZoom(), 1));
      else map.fitBounds(layer.getBounds(), { maxZoom: 2, padding: [30, 30] });
      layer.openPopup();
    });
  });
  window.safespaceMap = { map: map, findings: byId, issues: issuesById,
    showFindings: function () { Object.keys(groups).forEach(function (k) { groups[k].addTo(map); }); } };
})();
