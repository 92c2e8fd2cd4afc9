/* sarhad situational picture, on the shared map core (sarhad-map.js) and the incidents layer
 * (incidents-layer.js): the offline basemap, the border data (sections coloured by their shared impact level
 * from GET /api/v1/impact/levels, neutral when that fails; crossings, markets, posts, fence), and the
 * incidents of the page's filter, clustered. A time slider hides incidents that occurred after the chosen
 * moment, on the map and in the list. Live: new and changed incidents appear, change or leave the map and the
 * list, and sections change colour when an impact level changes, without reloading (live events).
 * Texts come translated from the page (#picture-config). When everything is drawn, #map gets data-ready="1"
 * and data-markers="<incidents shown>" (the browser tests wait for them); on failure data-error.
 */
(function () {
  "use strict";

  var mapEl = document.getElementById("map");
  var configEl = document.getElementById("picture-config");
  if (!mapEl || !configEl || typeof SarhadIncidents === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.labels;
  var IMPACT = { low: "#16a34a", medium: "#eab308", high: "#ea580c", very_high: "#b91c1c", critical: "#7f1d1d" };
  var NEUTRAL = "#94a3b8";
  var ctx = SarhadMap.create(mapEl, cfg);
  var levels = {};
  var list = document.getElementById("incident-list");
  var slider = document.getElementById("time-slider");
  var sliderOut = document.getElementById("slider-value");
  var since = new Date(cfg.since).getTime();
  var incidents = null;

  function sectionStyle(f) {
    var level = levels[f.properties.id];
    return {
      className: "border-section section-" + f.properties.id + " impact-" + (level || "none"),
      color: IMPACT[level] || NEUTRAL,
      weight: 14,
      opacity: 0.55,
      lineCap: "butt",
    };
  }

  function readLevels() {
    return SarhadMap.getJson(cfg.impactUrl)
      .then(function (answer) {
        levels = {};
        ((answer && answer.sections) || []).forEach(function (s) {
          if (s && s.section && s.level) {
            levels[s.section] = s.level;
          }
        });
        return true;
      })
      .catch(function () {
        return false; /* impact levels are optional: sections stay neutral */
      });
  }

  function legend(available) {
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

  /* --- the list beside the map ------------------------------------------------------------------------ */

  function pill(kind, value, text) {
    var span = document.createElement("span");
    span.className = "pill " + kind + "-" + value;
    span.textContent = text;
    return span;
  }

  /* A list entry like the server's, for an incident that arrived or changed since the page was loaded. */
  function listItem(p) {
    var li = document.createElement("li");
    li.dataset.key = p.origin + "/" + p.id;
    li.dataset.occurred = p.occurred_at;
    li.dataset.type = p.type;
    li.className = "incident-item live-item" + (p.exercise ? " exercise" : "");
    var badge = document.createElement("span");
    badge.className = "party-badge origin-badge " + (p.own ? "own" : "received");
    badge.textContent = p.origin;
    li.appendChild(badge);
    li.appendChild(document.createTextNode(" "));
    var link = document.createElement("a");
    link.href = "/incidents/" + encodeURIComponent(p.origin) + "/" + encodeURIComponent(p.id);
    var strong = document.createElement("strong");
    strong.textContent = p.type_name || p.type;
    link.appendChild(strong);
    li.appendChild(link);
    if (p.exercise) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(pill("exercise", "tag", T.exercise));
    }
    li.appendChild(document.createElement("br"));
    var meta = document.createElement("span");
    meta.className = "muted small";
    meta.textContent = (p.occurred_text || p.occurred_at) + " · " + T.section + " " + (p.section || "—") + " · " + T.side + " " + (p.side || "—");
    li.appendChild(meta);
    li.appendChild(document.createElement("br"));
    li.appendChild(pill("status", p.status, T.status[p.status] || p.status));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(pill("impact", p.impact_level, T.impact[p.impact_level] || p.impact_level));
    return li;
  }

  function itemFor(key) {
    return list ? list.querySelector('li[data-key="' + key.replace(/["\\]/g, "") + '"]') : null;
  }

  function link(entry) {
    var li = itemFor(entry.key);
    if (!li) {
      return;
    }
    entry.marker.on("popupopen", function () {
      li.classList.add("active");
      li.scrollIntoView({ block: "nearest" });
    });
    entry.marker.on("popupclose", function () { li.classList.remove("active"); });
    li.addEventListener("click", function (event) {
      if (event.target.closest("a")) {
        return;
      }
      incidents.group.zoomToShowLayer
        ? incidents.group.zoomToShowLayer(entry.marker, function () { entry.marker.openPopup(); })
        : entry.marker.openPopup();
    });
  }

  function onChange(added, changed, removed) {
    if (list) {
      var empty = list.querySelector("li.muted");
      removed.forEach(function (entry) {
        var li = itemFor(entry.key);
        if (li) {
          li.remove();
        }
      });
      changed.concat(added).forEach(function (entry) {
        var fresh = listItem(entry.props);
        var old = itemFor(entry.key);
        if (old) {
          old.replaceWith(fresh);
        } else {
          list.insertBefore(fresh, list.firstChild);
          if (empty) {
            empty.remove();
          }
        }
        fresh.classList.add(old ? "live-changed" : "live-new");
      });
    }
    changed.concat(added).forEach(link);
    applySlider();
  }

  /* --- the time slider ---------------------------------------------------------------------------------- */

  function applySlider() {
    var hours = slider ? Number(slider.value) : Infinity;
    var atEnd = !slider || Number(slider.value) >= Number(slider.max);
    var limit = atEnd ? Infinity : since + hours * 3600 * 1000; /* at its end, also what happens from now on */
    incidents.visible = function (entry) { return entry.occurred <= limit; };
    var shown = incidents.apply();
    if (list) {
      Array.prototype.forEach.call(list.querySelectorAll("li[data-key]"), function (li) {
        li.classList.toggle("hidden-by-slider", new Date(li.dataset.occurred).getTime() > limit);
      });
    }
    if (sliderOut) {
      var moment = atEnd ? new Date() : new Date(limit);
      /* in the viewer's calendar, zone and digits, as the server writes times (never an ISO time and "UTC") */
      sliderOut.textContent = window.sarhadI18n
        ? window.sarhadI18n.formatTime(moment.toISOString())
        : ctx.num(moment.toISOString().slice(0, 16).replace("T", " ")) + " UTC";
    }
    var count = document.getElementById("incident-count");
    if (count) {
      count.textContent = ctx.num(String(shown));
    }
    mapEl.dataset.markers = String(shown);
  }

  function fail(error) {
    mapEl.dataset.error = String(error);
    var note = document.createElement("p");
    note.className = "error";
    note.textContent = T.loadFailed;
    mapEl.parentNode.insertBefore(note, mapEl);
  }

  /* phones: the filters fold into a compact bar above the map */
  var toggle = document.getElementById("filters-toggle");
  var form = document.getElementById("picture-filters");
  if (toggle && form) {
    toggle.addEventListener("click", function () {
      var open = form.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      window.setTimeout(function () { ctx.map.invalidateSize(); }, 50);
    });
  }

  var sections = null;
  Promise.all([SarhadMap.basemap(ctx), readLevels()])
    .then(function (results) {
      legend(results[1]);
      return SarhadMap.border(ctx, ["sections", "fence", "line", "crossings", "markets", "posts"], {
        off: ["fence", "markets", "posts"],
        sectionStyle: sectionStyle,
        sectionTooltip: function (f) {
          var level = levels[f.properties.id];
          return f.properties.id + " · " + (T.impact[level] || T.impact.none);
        },
      });
    })
    .then(function (drawn) {
      sections = drawn.sections;
      var bounds = sections.getBounds();
      if (bounds.isValid()) {
        ctx.map.fitBounds(bounds.pad(0.25));
      }
      return SarhadIncidents.layer(ctx, cfg.incidents);
    })
    .then(function (state) {
      incidents = state;
      Object.keys(state.entries).forEach(function (key) { link(state.entries[key]); });
      state.onChange = onChange;
      if (slider) {
        slider.addEventListener("input", applySlider);
      }
      applySlider();
      SarhadMap.live(["impact.changed"], function () {
        readLevels().then(function (available) {
          legend(available);
          sections.eachLayer(function (layer) {
            var style = sectionStyle(layer.feature);
            layer.setStyle(style);
            var el = layer.getElement && layer.getElement();
            if (el) {
              el.setAttribute("class", style.className + " leaflet-interactive");
            }
          });
          mapEl.setAttribute("data-impact-updates", String(Number(mapEl.getAttribute("data-impact-updates") || 0) + 1));
        });
      });
      mapEl.dataset.ready = "1";
    })
    .catch(fail);
})();
