/* sarhad map core (window.SarhadMap): one Leaflet map with layers, used by /map, the situational picture, the
 * incident form's map picker and the incident page's mini-map.
 *
 *  - SarhadMap.create(el, cfg)        the map, its panes, the layer control, scale, "my location" control
 *  - SarhadMap.basemap(ctx)           the offline vector basemap (GET /api/v1/border/basemap: countries,
 *                                     rivers, boundaries, towns, with their attribution), the tile server when the node
 *                                     configures one; the 1:110m country outlines when no basemap was built
 *  - SarhadMap.border(ctx, names, o)  border data layers: sections, fence, line, crossings, markets, posts
 *  - SarhadMap.overlay(kind, fn)      other packages plug their layers in (incidents today; patrols later)
 *  - SarhadMap.live(topics, fn)       live events (GET /api/v1/events, Server-Sent Events)
 *
 * Texts come translated from the page's JSON config (cfg.labels); nothing here is user-visible English.
 * Popups are built from DOM nodes, never HTML strings. Digits follow the viewer (cfg.digits).
 */
(function () {
  "use strict";
  if (typeof L === "undefined") {
    return;
  }

  var FENCE = { complete: "#15803d", under_construction: "#d97706", planned: "#dc2626" };
  var CROSSING = { open: "#15803d", restricted: "#d97706", closed: "#b91c1c", unknown: "#6b7280" };
  var MARKET = { operating: "#15803d", planned: "#2563eb", suspended: "#d97706", closed: "#b91c1c" };
  var SECTION_COLOURS = ["#1f77b4", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#8c564b", "#2ca02c", "#7f7f7f"];
  var PARTY_COLOURS = ["#0f766e", "#7c2d12", "#1d4ed8", "#a16207", "#6d28d9"];
  var overlayKinds = {};

  function getJson(url, accept) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: accept || "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          throw new Error(url.split("?")[0] + ": HTTP " + response.status);
        }
        return response.json();
      }
    );
  }

  /* Latin digits in a text written in the viewer's digits (cfg.digits: ten characters, or none). */
  function digitsFor(cfg) {
    var set = cfg.digits;
    return function (value) {
      var text = value === null || value === undefined ? "" : String(value);
      if (!set || set.length !== 10) {
        return text;
      }
      return text.replace(/[0-9]/g, function (d) { return set.charAt(Number(d)); });
    };
  }

  function create(el, cfg) {
    var T = cfg.labels || {};
    var map = L.map(el, { zoomSnap: 0.25, minZoom: 3, maxZoom: 18 });
    map.attributionControl.setPrefix("Leaflet");
    map.setView(cfg.center || [28.5, 62], cfg.zoom || 6);
    [["basemap", 250], ["countries", 300], ["sections", 380], ["fence", 390], ["line", 400], ["points", 450]].forEach(
      function (pane) { map.createPane(pane[0]).style.zIndex = String(pane[1]); }
    );
    map.getPane("basemap").style.pointerEvents = "none";
    var ctx = {
      map: map,
      el: el,
      cfg: cfg,
      T: T,
      num: digitsFor(cfg),
      control: null,
      layers: {},
    };
    if (cfg.layerControl !== false) {
      ctx.control = L.control.layers(null, null, { collapsed: window.innerWidth < 1200 }).addTo(map);
    }
    ctx.addBase = function (label, layer, active) {
      if (ctx.control) {
        ctx.control.addBaseLayer(layer, label);
      }
      if (active) {
        layer.addTo(map);
      }
    };
    ctx.addOverlay = function (key, label, layer, on) {
      ctx.layers[key] = layer;
      if (ctx.control) {
        ctx.control.addOverlay(layer, label);
      }
      if (on !== false) {
        layer.addTo(map);
      }
    };
    L.control.scale({ imperial: false }).addTo(map);
    if (cfg.locate !== false) {
      locateControl(ctx);
    }
    return ctx;
  }

  /* A popup body: a heading and label/value rows (empty values skipped), from DOM nodes. */
  function popup(ctx, title, rows, note) {
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
      th.textContent = (ctx.T.fields && ctx.T.fields[row[0]]) || row[0];
      tr.appendChild(th);
      var td = tr.insertCell();
      td.textContent = String(value);
      td.setAttribute("dir", "auto");
    });
    box.appendChild(table);
    if (note) {
      var extra = document.createElement("div");
      extra.className = "estimate";
      extra.textContent = note;
      box.appendChild(extra);
    }
    return box;
  }

  function partyColour(cfg, code) {
    var index = (cfg.partyOrder || []).indexOf(code);
    return index < 0 ? "#9ca3af" : PARTY_COLOURS[index % PARTY_COLOURS.length];
  }

  /* --- the basemap ----------------------------------------------------------------------------------- */

  function attributionText(sources) {
    return (sources || []).map(function (s) { return s.attribution || ""; }).filter(Boolean).map(function (text) {
      var span = document.createElement("span");
      span.textContent = text; /* Leaflet writes attributions as HTML: escape them first */
      return span.innerHTML;
    }).join(" · ");
  }

  function drawOfflineBase(ctx, doc) {
    var layers = doc.layers || {};
    var attribution = attributionText(doc.sources);
    var group = L.featureGroup([], { attribution: attribution });
    L.geoJSON(layers.countries, {
      pane: "basemap",
      interactive: false,
      style: function (f) {
        var code = f.properties.iso2;
        var ours = (ctx.cfg.partyOrder || []).indexOf(code) >= 0;
        return {
          className: "basemap-country country-" + (code || f.properties.iso3),
          color: "#94a3b8",
          weight: 0.5,
          fillColor: ours ? partyColour(ctx.cfg, code) : "#e5e7eb",
          fillOpacity: ours ? 0.1 : 0.45,
        };
      },
    }).addTo(group);
    if (layers.rivers && layers.rivers.features.length) {
      /* rivers (GSHHG): thin blue lines under the boundaries */
      L.geoJSON(layers.rivers, {
        pane: "basemap",
        interactive: false,
        style: { className: "basemap-river", color: "#3b82f6", weight: 1.2, opacity: 0.75 },
      }).addTo(group);
    }
    L.geoJSON(layers.boundaries, {
      pane: "basemap",
      interactive: false,
      style: { className: "basemap-boundary", color: "#475569", weight: 1.5, opacity: 0.9 },
    }).addTo(group);
    group.getAttribution = function () { return attribution; };
    return group;
  }

  function drawTowns(ctx, fc, attribution) {
    var group = L.geoJSON(fc, {
      pane: "countries",
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {
          pane: "countries",
          className: "town",
          radius: 2.5,
          color: "#334155",
          weight: 1,
          fillColor: "#ffffff",
          fillOpacity: 1,
        });
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(f.properties.name, { direction: "right", className: "town-label", offset: [4, 0] });
      },
    });
    group.getAttribution = function () { return attribution; };
    /* names are shown by themselves only when zoomed in enough for them not to cover each other */
    function labels() {
      var on = ctx.map.getZoom() >= 9 && ctx.map.hasLayer(group);
      group.eachLayer(function (layer) {
        var tip = layer.getTooltip();
        if (tip) {
          tip.options.permanent = on;
          layer.closeTooltip();
          if (on) {
            layer.openTooltip();
          }
        }
      });
    }
    ctx.map.on("zoomend overlayadd", labels);
    return group;
  }

  function basemap(ctx) {
    var cfg = ctx.cfg;
    var T = ctx.T.layers || {};
    var tiles = null;
    if (cfg.tileUrl) {
      tiles = L.tileLayer(cfg.tileUrl, { maxZoom: 18, attribution: cfg.tileAttribution || "" });
    }
    return getJson(cfg.basemapUrl || "/api/v1/border/basemap")
      .catch(function () { return { missing: true, layers: {} }; })
      .then(function (doc) {
        if (doc.missing || !doc.layers || !doc.layers.countries) {
          /* not built (make install builds it): the 1:110m outlines of the border data are the base */
          return getJson((cfg.api || "/api/v1/border") + "/countries", "application/geo+json").then(function (fc) {
            var outlines = L.geoJSON(fc, {
              pane: "countries",
              interactive: false,
              style: function (f) {
                var ours = (cfg.partyOrder || []).indexOf(f.properties.iso2) >= 0;
                return {
                  className: "country-outline",
                  color: "#6b7280",
                  weight: 1,
                  fillColor: ours ? partyColour(cfg, f.properties.iso2) : "#e5e7eb",
                  fillOpacity: ours ? 0.16 : 0.5,
                };
              },
            });
            ctx.addBase(T.offline || "offline", outlines, !tiles);
            if (tiles) {
              ctx.addBase(T.tiles || "tiles", tiles, true);
            }
            ctx.el.setAttribute("data-basemap", "outlines");
            return outlines;
          });
        }
        var base = drawOfflineBase(ctx, doc);
        ctx.addBase(T.offline || "offline", base, !tiles);
        if (tiles) {
          ctx.addBase(T.tiles || "tiles", tiles, true);
        }
        if (doc.layers.towns && doc.layers.towns.features.length) {
          ctx.addOverlay("towns", T.towns || "towns", drawTowns(ctx, doc.layers.towns, attributionText(doc.sources)), cfg.towns !== false);
        }
        ctx.el.setAttribute("data-basemap", "offline");
        return base;
      });
  }

  /* --- border data ------------------------------------------------------------------------------------ */

  function statusText(ctx, status) {
    return (ctx.T.status && ctx.T.status[status]) || status || "";
  }
  function partyName(ctx, code) {
    return code ? (ctx.cfg.parties && ctx.cfg.parties[code]) || code : "";
  }
  function km(ctx, value) {
    return typeof value === "number" ? ctx.num(value.toFixed(1)) : "";
  }
  function yesNo(ctx, value) {
    return value === true ? ctx.T.yes : value === false ? ctx.T.no : "";
  }
  function estimate(ctx, p) {
    return p.estimate ? ctx.T.estimate : "";
  }

  var DRAW = {
    sections: function (ctx, fc, opts) {
      var sectionLayers = (ctx.sections = {});
      return L.geoJSON(fc, {
        pane: "sections",
        style: opts.sectionStyle || function (f) {
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
          if (opts.sectionTooltip) {
            layer.bindTooltip(function () { return opts.sectionTooltip(f); }, { sticky: true });
            return;
          }
          var label = p.id + " · " + p.name;
          layer.bindTooltip(label.length > 32 ? label.slice(0, 31) + "…" : label, {
            permanent: true,
            direction: "center",
            className: "section-label",
          });
          var rows = [["start_km", km(ctx, p.start_km)], ["end_km", km(ctx, p.end_km)], ["length_km", km(ctx, p.length_km)], ["district", p.district]];
          Object.keys(p.fence_progress || {}).forEach(function (party) {
            var g = p.fence_progress[party];
            rows.push([
              partyName(ctx, party),
              statusText(ctx, "complete") + " " + km(ctx, g.complete_km) + " · " + statusText(ctx, "under_construction") + " " +
                km(ctx, g.under_construction_km) + " · " + statusText(ctx, "planned") + " " + km(ctx, g.planned_km) + " km",
            ]);
          });
          layer.bindPopup(popup(ctx, p.id + " · " + p.name, rows, estimate(ctx, p)));
        },
      });
    },
    fence: function (ctx, fc) {
      var outer = (ctx.cfg.partyOrder || [])[0];
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
          layer.bindPopup(popup(ctx, p.id, [
            ["party", partyName(ctx, p.party)],
            ["section", p.section],
            ["status", statusText(ctx, p.status)],
            ["length_km", km(ctx, p.length_km)],
            ["reported_length_km", p.reported_length_km === null || p.reported_length_km === undefined ? "" : ctx.num(p.reported_length_km)],
          ], estimate(ctx, p)));
        },
      });
    },
    line: function (ctx, fc) {
      return L.geoJSON(fc, {
        pane: "line",
        style: { className: "border-line", color: "#111827", weight: 2.5, dashArray: "8 5" },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindPopup(popup(ctx, p.name, [
            ["length_km", km(ctx, p.length_km)],
            ["left_party", partyName(ctx, p.left_party)],
            ["right_party", partyName(ctx, p.right_party)],
            ["source", p.source],
          ]));
        },
      });
    },
    crossings: function (ctx, fc) {
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
          layer.bindPopup(popup(ctx, p.crossing_name + " — " + p.name, [
            ["side", partyName(ctx, p.side)],
            ["counterpart", p.counterpart],
            ["status", statusText(ctx, p.status)],
            ["open_now", yesNo(ctx, p.open_now)],
            ["hours", ctx.num(p.hours_text)],
            ["modes", (p.modes || []).map(function (m) { return (ctx.T.modes && ctx.T.modes[m]) || m; }).join(", ")],
            ["section", p.section],
          ], estimate(ctx, p)));
        },
      }).addTo(group);
      return group;
    },
    markets: function (ctx, fc) {
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
          layer.bindPopup(popup(ctx, p.name, [
            ["status", statusText(ctx, p.status)],
            ["host_party", partyName(ctx, p.host_party)],
            ["market_days", ctx.num(p.market_days)],
            ["open_now", yesNo(ctx, p.open_now)],
            ["section", p.section],
          ], estimate(ctx, p)));
        },
      });
    },
    posts: function (ctx, fc) {
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
            fillColor: partyColour(ctx.cfg, f.properties.party),
            fillOpacity: 1,
          });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindPopup(popup(ctx, p.name, [
            ["kind", (ctx.T.kinds && ctx.T.kinds[p.kind]) || p.kind],
            ["party", partyName(ctx, p.party)],
            ["section", p.section],
            ["formation", p.formation],
          ], estimate(ctx, p)));
        },
      });
    },
  };

  /* Border data layers, drawn in a fixed order; opts.off lists those added to the control but not shown. */
  function border(ctx, names, opts) {
    opts = opts || {};
    var api = ctx.cfg.api || "/api/v1/border";
    return Promise.all(names.map(function (name) {
      return getJson(api + "/" + name, "application/geo+json");
    })).then(function (results) {
      var drawn = {};
      names.forEach(function (name, index) {
        drawn[name] = DRAW[name](ctx, results[index], opts);
        var off = (opts.off || []).indexOf(name) >= 0;
        ctx.addOverlay(name, (ctx.T.layers && ctx.T.layers[name]) || name, drawn[name], !off);
      });
      return drawn;
    });
  }

  /* --- my location --------------------------------------------------------------------------------------- */

  function locateControl(ctx) {
    var T = ctx.T;
    var mark = null;
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "leaflet-bar locate-control");
      var button = L.DomUtil.create("a", "locate-button", box);
      button.href = "#";
      button.setAttribute("role", "button");
      button.title = T.myLocation || "";
      button.setAttribute("aria-label", T.myLocation || "");
      button.textContent = "◎";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.on(button, "click", function (event) {
        L.DomEvent.preventDefault(event);
        if (!navigator.geolocation) {
          say(T.locationUnavailable);
          return;
        }
        box.classList.add("busy");
        navigator.geolocation.getCurrentPosition(
          function (position) {
            box.classList.remove("busy");
            var here = [position.coords.latitude, position.coords.longitude];
            var accuracy = position.coords.accuracy || 0;
            if (mark) {
              ctx.map.removeLayer(mark);
            }
            mark = L.featureGroup([
              L.circle(here, { radius: accuracy, className: "my-location-accuracy", color: "#2563eb", weight: 1, fillOpacity: 0.1, interactive: false }),
              L.circleMarker(here, { className: "my-location", radius: 7, color: "#ffffff", weight: 2, fillColor: "#2563eb", fillOpacity: 1 })
                .bindTooltip(T.youAreHere || ""),
            ]).addTo(ctx.map);
            ctx.map.setView(here, Math.max(ctx.map.getZoom(), 11));
            ctx.el.setAttribute("data-located", here.join(","));
            if (ctx.onLocate) {
              ctx.onLocate(here);
            }
          },
          function () {
            box.classList.remove("busy");
            say(T.locationUnavailable);
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
        );
      });
      return box;
    };
    function say(text) {
      var note = ctx.el.querySelector(".map-note");
      if (!note) {
        note = L.DomUtil.create("div", "map-note", ctx.el);
        note.setAttribute("role", "status");
      }
      note.textContent = text || "";
      window.setTimeout(function () { note.textContent = ""; }, 8000);
    }
    control.addTo(ctx.map);
  }

  /* --- live events ----------------------------------------------------------------------------------- */

  /* Calls fn(topic, data) for each live event of the given topics; one stream per page. The browser
   * reconnects by itself (with Last-Event-ID). Sets data-map-live on <body>: "1" when connected. */
  var stream = null;
  var handlers = [];
  function live(topics, fn) {
    handlers.push({ topics: topics, fn: fn });
    if (typeof EventSource === "undefined") {
      return;
    }
    if (!stream) {
      stream = new EventSource("/api/v1/events");
      stream.onopen = function () { document.body.setAttribute("data-map-live", "1"); };
      stream.onerror = function () { document.body.setAttribute("data-map-live", "0"); };
    }
    topics.forEach(function (topic) {
      stream.addEventListener(topic, function (event) {
        var payload;
        try {
          payload = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        fn(topic, payload.data || {});
      });
    });
  }

  window.SarhadMap = {
    create: create,
    basemap: basemap,
    border: border,
    popup: popup,
    getJson: getJson,
    live: live,
    overlayKinds: overlayKinds,
    overlay: function (kind, fn) { overlayKinds[kind] = fn; },
    colours: { fence: FENCE, crossing: CROSSING, market: MARKET, party: partyColour },
    statusText: statusText,
    partyName: partyName,
  };
})();
