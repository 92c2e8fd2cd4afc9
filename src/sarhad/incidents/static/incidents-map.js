/* sarhad situational picture.
 *
 * Draws, with Leaflet (xstatic-leaflet), the country outlines and border sections from the border GeoJSON API,
 * colours each section by its shared impact level (GET /api/v1/impact/levels; neutral when that fails or has
 * no level for the section), and the incidents of the page's filter (GET /api/v1/incidents?format=geojson)
 * as circles: fill = impact level, outline = origin (own or received), dashed outline = exercise.
 * A time slider hides incidents that occurred after the chosen moment, on the map and in the list.
 * Texts come translated from the page (#picture-config). When everything is drawn, #map gets data-ready="1"
 * and data-markers="<incidents shown>" (the browser tests wait for them); on failure data-error.
 */
(function () {
  "use strict";

  var mapEl = document.getElementById("map");
  var configEl = document.getElementById("picture-config");
  if (!mapEl || !configEl || typeof L === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.labels;
  var IMPACT = { low: "#16a34a", medium: "#eab308", high: "#ea580c", very_high: "#b91c1c", critical: "#7f1d1d" };
  var NEUTRAL = "#94a3b8";
  var OWN = "#0f172a";
  var RECEIVED = "#7c2d12";

  var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: Boolean(cfg.tileUrl) });
  map.setView([28, 62], 6);
  [["countries", 300], ["sections", 380], ["incidents", 450]].forEach(function (pane) {
    map.createPane(pane[0]).style.zIndex = String(pane[1]);
  });
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: 18 }).addTo(map);
  }

  function getJson(url, accept) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: accept || "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          throw new Error(url + ": HTTP " + response.status);
        }
        return response.json();
      }
    );
  }

  function popup(props) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var heading = document.createElement("h4");
    heading.textContent = (T.types[props.type] || props.type) + (props.exercise ? " · " + T.exercise : "");
    box.appendChild(heading);
    var table = document.createElement("table");
    [
      [props.own ? T.own : T.received, props.origin],
      [T.occurred, new Date(props.occurred_at).toLocaleString()],
      [T.section, props.section || "—"],
      [T.side, props.side || "—"],
      ["", (T.status[props.status] || props.status) + " · " + (T.impact[props.impact_level] || props.impact_level)],
    ].forEach(function (row) {
      var tr = table.insertRow();
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = row[0];
      tr.appendChild(th);
      tr.insertCell().textContent = row[1];
    });
    box.appendChild(table);
    var link = document.createElement("a");
    link.href = "/incidents/" + encodeURIComponent(props.origin) + "/" + encodeURIComponent(props.id);
    link.textContent = T.details;
    link.className = "incident-link";
    box.appendChild(link);
    return box;
  }

  var markers = [];
  var listItems = Array.prototype.slice.call(document.querySelectorAll("#incident-list li[data-key]"));
  var slider = document.getElementById("time-slider");
  var sliderOut = document.getElementById("slider-value");
  var since = new Date(cfg.since).getTime();

  function applySlider() {
    var hours = slider ? Number(slider.value) : Infinity;
    var limit = since + hours * 3600 * 1000;
    var shown = 0;
    markers.forEach(function (m) {
      var visible = m.occurred <= limit;
      if (visible && !map.hasLayer(m.layer)) {
        m.layer.addTo(map);
      } else if (!visible && map.hasLayer(m.layer)) {
        map.removeLayer(m.layer);
      }
      if (visible) {
        shown += 1;
      }
    });
    listItems.forEach(function (li) {
      li.classList.toggle("hidden-by-slider", new Date(li.dataset.occurred).getTime() > limit);
    });
    if (sliderOut) {
      sliderOut.textContent = new Date(Math.min(limit, new Date(cfg.now).getTime())).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    }
    var count = document.getElementById("incident-count");
    if (count) {
      count.textContent = String(shown);
    }
    mapEl.dataset.markers = String(shown);
  }

  function drawIncidents(fc) {
    var byKey = {};
    listItems.forEach(function (li) {
      byKey[li.dataset.key] = li;
    });
    fc.features.forEach(function (f) {
      var p = f.properties;
      var layer = L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        pane: "incidents",
        radius: 7,
        color: p.own ? OWN : RECEIVED,
        weight: p.own ? 2 : 3,
        dashArray: p.exercise ? "3 2" : null,
        fillColor: IMPACT[p.impact_level] || NEUTRAL,
        fillOpacity: 0.85,
        className:
          "incident-marker origin-" + p.origin + " type-" + p.type + (p.exercise ? " exercise" : "") + (p.own ? " own" : " received"),
      });
      layer.bindPopup(popup(p));
      var li = byKey[p.origin + "/" + p.id];
      if (li) {
        layer.on("popupopen", function () {
          li.classList.add("active");
          li.scrollIntoView({ block: "nearest" });
        });
        layer.on("popupclose", function () {
          li.classList.remove("active");
        });
        li.addEventListener("mouseenter", function () {
          layer.setStyle({ radius: 11 });
        });
        li.addEventListener("mouseleave", function () {
          layer.setStyle({ radius: 7 });
        });
      }
      markers.push({ layer: layer, occurred: new Date(p.occurred_at).getTime() });
      layer.addTo(map);
    });
  }

  function sectionLevels(answer) {
    var levels = {};
    ((answer && answer.sections) || []).forEach(function (s) {
      if (s && s.section && s.level) {
        levels[s.section] = s.level;
      }
    });
    return levels;
  }

  function legend(levels, available) {
    var el = document.getElementById("impact-legend");
    if (!el) {
      return;
    }
    el.textContent = "";
    var title = document.createElement("div");
    title.className = "impact-key";
    title.textContent = T.impactLegend + ":";
    ["low", "medium", "high", "critical"].forEach(function (level) {
      var i = document.createElement("i");
      i.style.background = IMPACT[level];
      title.appendChild(i);
      title.appendChild(document.createTextNode(T.impact[level]));
    });
    el.appendChild(title);
    if (!available) {
      var note = document.createElement("div");
      note.className = "muted";
      note.textContent = T.impactUnavailable;
      el.appendChild(note);
    }
    mapEl.dataset.impact = available ? "1" : "0";
  }

  function draw(results) {
    var countries = results[0];
    var sections = results[1];
    var impact = results[2];
    var incidents = results[3];
    var levels = sectionLevels(impact);
    var outlines = L.geoJSON(countries, {
      pane: "countries",
      style: function () {
        return { color: "#6b7280", weight: 1, fillColor: "#e5e7eb", fillOpacity: 0.35 };
      },
    }).addTo(map);
    var sectionLayer = L.geoJSON(sections, {
      pane: "sections",
      style: function (f) {
        var level = levels[f.properties.id];
        return {
          className: "border-section section-" + f.properties.id + " impact-" + (level || "none"),
          color: IMPACT[level] || NEUTRAL,
          weight: 14,
          opacity: 0.55,
          lineCap: "butt",
        };
      },
      onEachFeature: function (f, layer) {
        var level = levels[f.properties.id];
        layer.bindTooltip(f.properties.id + " · " + (T.impact[level] || T.impact.none), { sticky: true });
      },
    }).addTo(map);
    legend(levels, impact !== null);
    drawIncidents(incidents);
    var bounds = sectionLayer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.25));
    } else if (outlines.getBounds().isValid()) {
      map.fitBounds(outlines.getBounds());
    }
    if (slider) {
      slider.addEventListener("input", applySlider);
    }
    applySlider();
    mapEl.dataset.ready = "1";
  }

  function fail(error) {
    mapEl.dataset.error = String(error);
    var note = document.createElement("p");
    note.className = "error";
    note.textContent = T.loadFailed;
    mapEl.parentNode.insertBefore(note, mapEl);
  }

  Promise.all([
    getJson(cfg.borderApi + "/countries", "application/geo+json"),
    getJson(cfg.borderApi + "/sections", "application/geo+json"),
    getJson(cfg.impactUrl).catch(function () {
      return null; /* impact levels are optional: sections stay neutral */
    }),
    getJson(cfg.incidentsUrl, "application/geo+json"),
  ])
    .then(draw)
    .catch(fail);
})();
