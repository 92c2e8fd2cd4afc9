/* sarhad border map.
 *
 * Draws the border GeoJSON API (/api/v1/border/...) with Leaflet from the xstatic-leaflet package: country
 * outlines as the base (tiles only when the node configures a tile URL), sections, fence segments per side,
 * the border line, crossing points, markets and posts, with a legend, a layer switch and a popup per feature.
 * Texts come translated from the page (#map-config); nothing here is user-visible English.
 * When every layer is drawn, #map gets data-ready="1" (the browser tests wait for it); on failure data-error.
 */
(function () {
  "use strict";

  var mapEl = document.getElementById("map");
  var configEl = document.getElementById("map-config");
  if (!mapEl || !configEl || typeof L === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.labels;

  var FENCE = { complete: "#15803d", under_construction: "#d97706", planned: "#dc2626" };
  var CROSSING = { open: "#15803d", restricted: "#d97706", closed: "#b91c1c", unknown: "#6b7280" };
  var MARKET = { operating: "#15803d", planned: "#2563eb", suspended: "#d97706", closed: "#b91c1c" };
  var SECTION_COLOURS = ["#1f77b4", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#8c564b", "#2ca02c", "#7f7f7f"];
  var PARTY_COLOURS = ["#0f766e", "#7c2d12", "#1d4ed8", "#a16207", "#6d28d9"];
  var LAYER_ORDER = ["countries", "sections", "fence", "line", "crossings", "markets", "posts"];

  function partyColour(code) {
    var index = (cfg.partyOrder || []).indexOf(code);
    return index < 0 ? "#9ca3af" : PARTY_COLOURS[index % PARTY_COLOURS.length];
  }
  function partyName(code) {
    return code ? (cfg.parties && cfg.parties[code]) || code : "";
  }
  function statusText(status) {
    return (T.status && T.status[status]) || status || "";
  }
  function yesNo(value) {
    return value === true ? T.yes : value === false ? T.no : "";
  }
  function km(value) {
    return typeof value === "number" ? value.toFixed(1) : "";
  }
  function shorten(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  /* A popup body built from DOM nodes (never from HTML strings), so names cannot inject markup. */
  function popup(title, rows, estimate) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var heading = document.createElement("h4");
    heading.textContent = title;
    box.appendChild(heading);
    var table = document.createElement("table");
    rows.forEach(function (row) {
      var value = row[1];
      if (value === null || value === undefined || value === "") {
        return;
      }
      var tr = table.insertRow();
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = (T.fields && T.fields[row[0]]) || row[0];
      tr.appendChild(th);
      tr.insertCell().textContent = String(value);
    });
    box.appendChild(table);
    if (estimate) {
      var note = document.createElement("div");
      note.className = "estimate";
      note.textContent = T.estimate;
      box.appendChild(note);
    }
    return box;
  }

  var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: Boolean(cfg.tileUrl) });
  map.setView([0, 0], 2);
  [["countries", 300], ["sections", 380], ["fence", 390], ["line", 400], ["points", 450]].forEach(function (pane) {
    map.createPane(pane[0]).style.zIndex = String(pane[1]);
  });
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: 18, attribution: cfg.tileAttribution || "" }).addTo(map);
  }

  function fetchLayer(name) {
    return fetch(cfg.api + "/" + name, {
      credentials: "same-origin",
      headers: { Accept: "application/geo+json" },
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(name + ": HTTP " + response.status);
      }
      return response.json();
    });
  }

  var sectionLayers = {};

  function drawCountries(fc) {
    return L.geoJSON(fc, {
      pane: "countries",
      style: function (f) {
        var inOrder = (cfg.partyOrder || []).indexOf(f.properties.iso2) >= 0;
        return {
          className: "country-outline",
          color: "#6b7280",
          weight: 1,
          fillColor: inOrder ? partyColour(f.properties.iso2) : "#e5e7eb",
          fillOpacity: inOrder ? 0.16 : 0.5,
        };
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(popup(f.properties.name, [["note", f.properties.note]], false));
      },
    });
  }

  function drawSections(fc) {
    return L.geoJSON(fc, {
      pane: "sections",
      style: function (f) {
        return {
          className: "border-section section-" + f.properties.id,
          color: SECTION_COLOURS[(f.properties.seq - 1 + SECTION_COLOURS.length) % SECTION_COLOURS.length],
          weight: 22,
          opacity: 0.3,
          lineCap: "butt",
        };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        sectionLayers[p.id] = layer;
        layer.bindTooltip(shorten(p.id + " · " + p.name, 32), {
          permanent: true,
          direction: "center",
          className: "section-label",
        });
        var rows = [["start_km", km(p.start_km)], ["end_km", km(p.end_km)], ["length_km", km(p.length_km)], ["district", p.district]];
        Object.keys(p.fence_progress || {}).forEach(function (party) {
          var g = p.fence_progress[party];
          rows.push([
            partyName(party),
            statusText("complete") + " " + km(g.complete_km) + " · " + statusText("under_construction") + " " +
              km(g.under_construction_km) + " · " + statusText("planned") + " " + km(g.planned_km) + " km",
          ]);
        });
        layer.bindPopup(popup(p.id + " · " + p.name, rows, p.estimate));
      },
    });
  }

  function drawFence(fc) {
    var outer = (cfg.partyOrder || [])[0];
    return L.geoJSON(fc, {
      pane: "fence",
      style: function (f) {
        var p = f.properties;
        var isOuter = p.party === outer;
        return {
          className: "fence-segment fence-" + p.status + " fence-party-" + p.party,
          color: FENCE[p.status] || "#6b7280",
          weight: isOuter ? 11 : 4,
          opacity: isOuter ? 0.55 : 1,
          lineCap: "butt",
          dashArray: p.status === "planned" ? "6 4" : null,
        };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(
          popup(p.id, [
            ["party", partyName(p.party)],
            ["section", p.section],
            ["status", statusText(p.status)],
            ["length_km", km(p.length_km)],
            ["reported_length_km", p.reported_length_km],
          ], p.estimate)
        );
      },
    });
  }

  function drawLine(fc) {
    return L.geoJSON(fc, {
      pane: "line",
      style: { className: "border-line", color: "#111827", weight: 2.5, dashArray: "8 5" },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(
          popup(p.name, [
            ["length_km", km(p.length_km)],
            ["left_party", partyName(p.left_party)],
            ["right_party", partyName(p.right_party)],
            ["source", p.source],
          ], false)
        );
      },
    });
  }

  function drawCrossings(fc) {
    var group = L.featureGroup();
    var pairs = {};
    fc.features.forEach(function (f) {
      if (f.geometry && f.geometry.type === "Point") {
        (pairs[f.properties.crossing] = pairs[f.properties.crossing] || []).push(f);
      }
    });
    Object.keys(pairs).forEach(function (id) {
      var sides = pairs[id];
      if (sides.length === 2) {
        L.polyline(
          sides.map(function (f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; }),
          { pane: "points", className: "crossing-pair", color: CROSSING[sides[0].properties.status] || "#6b7280", weight: 2, dashArray: "2 4", interactive: false }
        ).addTo(group);
      }
    });
    L.geoJSON(fc, {
      pane: "points",
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {
          pane: "points",
          className: "crossing-point crossing-" + f.properties.status,
          radius: 7,
          color: "#111827",
          weight: 2,
          fillColor: CROSSING[f.properties.status] || "#6b7280",
          fillOpacity: 1,
        });
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(
          popup(p.crossing_name + " — " + p.name, [
            ["side", partyName(p.side)],
            ["counterpart", p.counterpart],
            ["status", statusText(p.status)],
            ["open_now", yesNo(p.open_now)],
            ["hours", p.hours_text],
            ["modes", (p.modes || []).join(", ")],
            ["section", p.section],
          ], p.estimate)
        );
      },
    }).addTo(group);
    return group;
  }

  function drawMarkets(fc) {
    return L.geoJSON(fc, {
      pane: "points",
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {
          pane: "points",
          className: "market market-" + f.properties.status,
          radius: 6,
          color: "#6d28d9",
          weight: 3,
          fillColor: MARKET[f.properties.status] || "#6b7280",
          fillOpacity: 1,
        });
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(
          popup(p.name, [
            ["status", statusText(p.status)],
            ["host_party", partyName(p.host_party)],
            ["market_days", p.market_days],
            ["open_now", yesNo(p.open_now)],
            ["section", p.section],
          ], p.estimate)
        );
      },
    });
  }

  function drawPosts(fc) {
    return L.geoJSON(fc, {
      pane: "points",
      pointToLayer: function (f, latlng) {
        var hq = f.properties.kind === "headquarters";
        return L.circleMarker(latlng, {
          pane: "points",
          className: "post post-" + f.properties.kind + " post-party-" + f.properties.party,
          radius: hq ? 6 : 4,
          color: "#ffffff",
          weight: 1.5,
          fillColor: partyColour(f.properties.party),
          fillOpacity: 1,
        });
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(
          popup(p.name, [
            ["kind", (T.kinds && T.kinds[p.kind]) || p.kind],
            ["party", partyName(p.party)],
            ["section", p.section],
            ["formation", p.formation],
          ], p.estimate)
        );
      },
    });
  }

  function swatch(kind, colour, border) {
    var el = document.createElement("span");
    el.className = "swatch-" + kind;
    if (kind === "line") {
      el.style.borderColor = colour;
    } else {
      el.style.background = colour;
      if (border) {
        el.style.borderColor = border;
      }
    }
    return el;
  }

  /* One legend group: a heading and swatch/label pairs that wrap. */
  function legendGroup(parent, heading, items) {
    var group = document.createElement("div");
    group.className = "group";
    var title = document.createElement("div");
    title.className = "group-title";
    title.textContent = heading;
    group.appendChild(title);
    items.forEach(function (item) {
      var entry = document.createElement("span");
      entry.className = "item";
      entry.appendChild(item[0]);
      entry.appendChild(document.createTextNode(item[1]));
      group.appendChild(entry);
    });
    parent.appendChild(group);
  }

  function addLegend() {
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "legend");
      var title = document.createElement("h4");
      title.textContent = T.legend;
      box.appendChild(title);
      var order = cfg.partyOrder || [];
      legendGroup(box, T.layers.line, [[swatch("line", "#111827"), ""]]);
      legendGroup(box, T.layers.fence, Object.keys(FENCE).map(function (s) {
        return [swatch("line", FENCE[s]), statusText(s)];
      }).concat(order.slice(0, 2).map(function (party, index) {
        return [swatch(index === 0 ? "band" : "line", "#6b7280"), (index === 0 ? T.fence_outer : T.fence_inner) + ": " + partyName(party)];
      })));
      legendGroup(box, T.layers.crossings, Object.keys(CROSSING).map(function (s) {
        return [swatch("dot", CROSSING[s], "#111827"), statusText(s)];
      }));
      legendGroup(box, T.layers.markets, Object.keys(MARKET).map(function (s) {
        return [swatch("dot", MARKET[s], "#6d28d9"), statusText(s)];
      }));
      legendGroup(box, T.layers.posts, order.map(function (party) {
        return [swatch("dot", partyColour(party), "#ffffff"), partyName(party)];
      }));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    legend.addTo(map);
  }

  function linkSidePanel() {
    var links = document.querySelectorAll("a[data-section]");
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener("click", function (event) {
        var layer = sectionLayers[link.getAttribute("data-section")];
        if (!layer) {
          return;
        }
        event.preventDefault();
        Array.prototype.forEach.call(links, function (other) { other.classList.remove("active"); });
        link.classList.add("active");
        map.fitBounds(layer.getBounds(), { padding: [30, 30] });
        layer.openPopup(layer.getBounds().getCenter());
      });
    });
  }

  function draw(results) {
    var data = {};
    LAYER_ORDER.forEach(function (name, index) { data[name] = results[index]; });
    var layers = {
      countries: drawCountries(data.countries),
      sections: drawSections(data.sections),
      fence: drawFence(data.fence),
      line: drawLine(data.line),
      crossings: drawCrossings(data.crossings),
      markets: drawMarkets(data.markets),
      posts: drawPosts(data.posts),
    };
    var overlays = {};
    LAYER_ORDER.forEach(function (name) {
      layers[name].addTo(map);
      overlays[T.layers[name]] = layers[name];
    });
    L.control.layers(null, overlays, { collapsed: window.innerWidth < 1200 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    addLegend();
    var bounds = layers.line.getBounds();
    if (!bounds.isValid()) {
      bounds = layers.countries.getBounds();
    }
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [20, 20] });
    }
    linkSidePanel();
    mapEl.setAttribute("data-ready", "1");
  }

  function fail(error) {
    var box = document.createElement("div");
    box.className = "map-error";
    box.setAttribute("role", "alert");
    box.textContent = T.error + " (" + error.message + ")";
    mapEl.appendChild(box);
    mapEl.setAttribute("data-error", error.message);
  }

  Promise.all(LAYER_ORDER.map(fetchLayer)).then(draw).catch(fail);
})();
