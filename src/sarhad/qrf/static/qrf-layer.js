/* sarhad QRF layer (window.SarhadQrf), on the shared map core (sarhad-map.js).
 *
 * The units of GET /api/v1/qrf/units as markers at their stations: fill = status, ring = own or received,
 * dashed = stale. Popups are built from DOM nodes (call sign, origin, type, status, notice, station). The
 * layer's refresh() reads the units again and replaces the markers; with conf.live it does so on every
 * "qrf.changed" live event (a status change here or a unit version received from the other side); the
 * board (/qrf) passes live: false and refreshes it from the page's shared stream instead.
 * Registered as the map overlay kind "qrf" (/map), and used directly by the board (/qrf).
 */
(function () {
  "use strict";
  if (typeof L === "undefined" || typeof SarhadMap === "undefined") {
    return;
  }
  var COLOURS = {
    available: "#15803d",
    standby: "#65a30d",
    responding: "#dc2626",
    on_scene: "#7f1d1d",
    returning: "#d97706",
    unavailable: "#6b7280",
    out_of_service: "#111827",
  };

  function subscribe(fn) {
    /* a layer added after the page loaded (the /map overlays) cannot join the page's shared stream, which
     * opened with the topics known at DOMContentLoaded: it uses the map core's stream */
    SarhadMap.live(["qrf.changed"], function () { fn(); });
  }

  function layer(ctx, conf) {
    var T = conf.labels;
    var group = L.featureGroup();
    var state = { group: group, units: [], shown: 0, onChange: null };

    function popup(u) {
      var rows = [
        [u.own ? T.own : T.received, u.origin],
        [T.type, T.types[u.unit_type] || u.unit_type],
        [T.station, u.station.name],
        [T.section, u.station.section || "—"],
        ["status", (T.status[u.status] || u.status) +
          (u.notice_minutes ? " · " + T.notice.replace("%(n)s", String(u.notice_minutes)) : "")],
      ];
      if (u.strength !== null && u.strength !== undefined) {
        rows.push([T.strength, String(u.strength)]);
      }
      return SarhadMap.popup(ctx, u.call_sign, rows, u.stale ? T.stale : "");
    }

    function draw(units) {
      group.clearLayers();
      var shown = 0;
      units.forEach(function (u) {
        if (u.station.lat === null || u.station.lon === null) {
          return;
        }
        var marker = L.circleMarker([u.station.lat, u.station.lon], {
          pane: "points",
          radius: 8,
          color: u.own ? "#0f172a" : "#7c2d12",
          weight: 3,
          dashArray: u.stale ? "3 3" : null,
          fillColor: COLOURS[u.status] || "#6b7280",
          fillOpacity: 0.9,
          className: "qrf-marker status-" + u.status + (u.own ? " own" : " received"),
        });
        marker.bindPopup(function () { return popup(u); });
        marker.bindTooltip(u.call_sign, { direction: "top" });
        group.addLayer(marker);
        shown += 1;
      });
      state.shown = shown;
    }

    state.refresh = function () {
      return SarhadMap.getJson(conf.url).then(function (units) {
        state.units = units;
        draw(units);
        if (state.onChange) {
          state.onChange(units);
        }
        return state;
      });
    };
    ctx.addOverlay("qrf", T.layer, group, true);
    if (conf.live) {
      subscribe(state.refresh);
    }
    return state.refresh();
  }

  window.SarhadQrf = { layer: layer, colours: COLOURS };
  SarhadMap.overlay("qrf", function (ctx, conf) {
    return layer(ctx, conf);
  });
})();
