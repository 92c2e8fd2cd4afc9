/* sarhad QRF board (/qrf): the map (basemap, border line and sections, the QRF layer of qrf-layer.js) and the
 * list by section, both redrawn from GET /api/v1/qrf/units on every "qrf.changed" live event, without a
 * reload. Texts come translated from #qrf-config; times through sarhadI18n (the viewer's calendar and zone).
 * #map gets data-ready="1" when drawn; #qrf-list counts its redraws in data-updates (the browser tests wait
 * for them); on failure #map gets data-error.
 */
(function () {
  "use strict";
  var mapEl = document.getElementById("map");
  var configEl = document.getElementById("qrf-config");
  if (!mapEl || !configEl || typeof SarhadQrf === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.qrf.labels;
  var list = document.getElementById("qrf-list");
  var count = document.getElementById("qrf-count");
  var ctx = SarhadMap.create(mapEl, cfg);
  /* The page's one live stream (alerts.js) opens at DOMContentLoaded with the topics subscribed by then:
   * subscribe now, before the map is drawn, and refresh once the layer exists. */
  var refresh = null;
  var missed = false;
  var shared = !!window.sarhadLive;
  if (shared) {
    window.sarhadLive.subscribe(["qrf.changed"], function () {
      if (refresh) {
        refresh();
      } else {
        missed = true;
      }
    });
  }

  function time(iso) {
    return window.sarhadI18n ? window.sarhadI18n.formatTime(iso) : new Date(iso).toLocaleString();
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function item(u) {
    var li = el("li", "qrf-unit status-" + u.status + (u.stale ? " stale" : "") + (u.own ? " own" : " received"));
    li.setAttribute("data-key", u.origin + "/" + u.id);
    li.setAttribute("data-status", u.status);
    li.appendChild(el("span", "party-badge" + (u.own ? " own" : ""), u.origin));
    li.appendChild(document.createTextNode(" "));
    var name = el("bdi", "", u.call_sign);
    var strong = el("strong");
    strong.appendChild(name);
    li.appendChild(strong);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "muted", T.types[u.unit_type] || u.unit_type));
    li.appendChild(el("br"));
    li.appendChild(el("span", "pill qrf-status status-" + u.status, T.status[u.status] || u.status));
    if (u.notice_minutes) {
      li.appendChild(document.createTextNode(" "));
      var n = window.sarhadI18n ? window.sarhadI18n.formatNumber(u.notice_minutes) : String(u.notice_minutes);
      li.appendChild(el("span", "small", T.notice.replace("%(n)s", n)));
    }
    if (u.stale) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "pill qrf-stale", T.stale));
    }
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "muted small", T.since + " " + time(u.status_since)));
    li.appendChild(el("br"));
    var station = T.station + ": " + u.station.name;
    if (u.strength !== null && u.strength !== undefined) {
      station += " · " + T.strength + ": " + String(u.strength);
    }
    li.appendChild(el("span", "muted small", station));
    return li;
  }

  function redraw(units) {
    var bySection = {};
    var order = [];
    units.forEach(function (u) {
      var key = u.station.section || "";
      if (!bySection[key]) {
        bySection[key] = [];
        order.push(key);
      }
      bySection[key].push(u);
    });
    list.textContent = "";
    if (!units.length) {
      list.appendChild(el("p", "muted", T.none));
    }
    order.forEach(function (key) {
      var section = el("section", "qrf-section");
      section.setAttribute("data-section", key);
      var heading = el("h2");
      if (key) {
        heading.appendChild(document.createTextNode(T.section + " "));
        heading.appendChild(el("bdi", "", key));
      } else {
        heading.textContent = T.noSection;
      }
      section.appendChild(heading);
      var ol = el("ol", "qrf-units");
      bySection[key].forEach(function (u) { ol.appendChild(item(u)); });
      section.appendChild(ol);
      list.appendChild(section);
    });
    count.textContent = window.sarhadI18n ? window.sarhadI18n.formatNumber(units.length) : String(units.length);
    list.setAttribute("data-updates", String(parseInt(list.getAttribute("data-updates") || "0", 10) + 1));
  }

  function fail(error) {
    var message = (error && error.message) || String(error);
    var box = el("div", "map-error", T.loadFailed + " (" + message + ")");
    box.setAttribute("role", "alert");
    mapEl.appendChild(box);
    mapEl.setAttribute("data-error", message);
  }

  SarhadMap.basemap(ctx)
    .then(function () {
      return SarhadMap.border(ctx, ["sections", "line"]);
    })
    .then(function (drawn) {
      var bounds = drawn.line.getBounds();
      if (bounds.isValid()) {
        ctx.map.fitBounds(bounds, { padding: [20, 20] });
      }
      /* without the shared stream, the layer opens a stream of its own (SarhadMap.live) */
      return SarhadQrf.layer(ctx, Object.assign({}, cfg.qrf, { live: !shared }));
    })
    .then(function (state) {
      state.onChange = redraw;
      refresh = state.refresh;
      if (missed) {
        refresh();
      }
      mapEl.setAttribute("data-markers", String(state.shown));
      mapEl.setAttribute("data-ready", "1");
    })
    .catch(fail);
})();
