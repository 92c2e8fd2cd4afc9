/* sarhad incidents layer (window.SarhadIncidents), on the shared map core (sarhad-map.js).
 *
 * The incidents of a filter (GET /api/v1/incidents?format=geojson...) as markers that cluster when dense
 * (Leaflet.markercluster from PyPI's xstatic-leaflet-markercluster): fill = impact level, dark ring = own,
 * brown ring = received, dashed = exercise; a cluster shows its count in the colour of its highest impact.
 * Popups show the time as the server wrote it for the viewer (occurred_text: their calendar, zone, digits).
 * Live: on each "incident.changed" event the layer reads its filter again and adds, replaces or removes
 * only the markers that changed, without reloading the page.
 * Registered as the map overlay kind "incidents" (the /map page), and used directly by the picture page.
 */
(function () {
  "use strict";
  if (typeof L === "undefined" || typeof SarhadMap === "undefined") {
    return;
  }
  var RANK = { low: 1, medium: 2, high: 3, very_high: 4, critical: 5 };

  function markerClass(p) {
    return "incident-marker impact-" + p.impact_level + " origin-" + p.origin + " type-" + p.type +
      (p.exercise ? " exercise" : "") + (p.own ? " own" : " received") + " status-" + p.status;
  }

  function clusterIcon(cluster) {
    var top = "low";
    cluster.getAllChildMarkers().forEach(function (m) {
      var level = m.options.impact;
      if ((RANK[level] || 0) > (RANK[top] || 0)) {
        top = level;
      }
    });
    var count = cluster.getChildCount();
    return L.divIcon({
      className: "incident-cluster impact-" + top,
      html: "<span>" + String(count) + "</span>", /* a number: no text from the data */
      iconSize: [34, 34],
    });
  }

  function layer(ctx, conf) {
    var T = conf.labels;
    var group = L.markerClusterGroup
      ? L.markerClusterGroup({
          maxClusterRadius: 45,
          disableClusteringAtZoom: 12,
          showCoverageOnHover: false,
          spiderfyOnMaxZoom: true,
          iconCreateFunction: clusterIcon,
        })
      : L.featureGroup();
    var state = {
      group: group,
      entries: {}, /* "origin/id" -> {marker, signature, props, occurred} */
      visible: function () { return true; },
      onChange: null,
      conf: conf,
    };

    function popup(p) {
      var box = SarhadMap.popup(ctx, p.type_name || (T.types && T.types[p.type]) || p.type, [
        [p.own ? T.own : T.received, p.origin],
        [T.occurred, p.occurred_text || new Date(p.occurred_at).toLocaleString()],
        [T.section, p.section || "—"],
        [T.side, p.side || "—"],
        [T.statusLabel, (T.status[p.status] || p.status) + " · " + (T.impact[p.impact_level] || p.impact_level)],
      ], p.exercise ? T.exercise : "");
      var link = document.createElement("a");
      link.href = "/incidents/" + encodeURIComponent(p.origin) + "/" + encodeURIComponent(p.id);
      link.textContent = T.details;
      link.className = "incident-link";
      box.appendChild(link);
      return box;
    }

    function make(f) {
      var p = f.properties;
      var marker = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        icon: L.divIcon({ className: markerClass(p), iconSize: [16, 16], html: "" }),
        impact: p.impact_level,
        keyboard: true,
        title: p.type_name || p.type,
      });
      marker.bindPopup(function () { return popup(p); });
      return marker;
    }

    function show(entry) {
      var wanted = state.visible(entry);
      if (wanted && !group.hasLayer(entry.marker)) {
        group.addLayer(entry.marker);
      } else if (!wanted && group.hasLayer(entry.marker)) {
        group.removeLayer(entry.marker);
      }
      return wanted;
    }

    state.apply = function () {
      var shown = 0;
      Object.keys(state.entries).forEach(function (key) {
        if (show(state.entries[key])) {
          shown += 1;
        }
      });
      state.shown = shown;
      return shown;
    };

    function sync(fc) {
      var seen = {};
      var added = [];
      var changed = [];
      var removed = [];
      fc.features.forEach(function (f) {
        var p = f.properties;
        var key = p.origin + "/" + p.id;
        var signature = [p.version, p.status, p.impact_level, p.type, f.geometry.coordinates.join(",")].join("|");
        seen[key] = true;
        var old = state.entries[key];
        if (old && old.signature === signature) {
          return;
        }
        if (old) {
          group.removeLayer(old.marker);
        }
        var entry = { key: key, marker: make(f), signature: signature, props: p, occurred: new Date(p.occurred_at).getTime() };
        state.entries[key] = entry;
        (old ? changed : added).push(entry);
      });
      Object.keys(state.entries).forEach(function (key) {
        if (!seen[key]) {
          group.removeLayer(state.entries[key].marker);
          removed.push(state.entries[key]);
          delete state.entries[key];
        }
      });
      state.apply();
      if (state.onChange) {
        state.onChange(added, changed, removed);
      }
      return state;
    }

    state.refresh = function () {
      return SarhadMap.getJson(conf.url, "application/geo+json").then(sync);
    };

    if (conf.live !== false) {
      var timer = null;
      SarhadMap.live(["incident.changed"], function () {
        window.clearTimeout(timer); /* a burst of changes is read once */
        timer = window.setTimeout(function () {
          state.refresh().then(function () {
            ctx.el.setAttribute("data-live-updates", String(Number(ctx.el.getAttribute("data-live-updates") || 0) + 1));
          }).catch(function () { /* the next event tries again */ });
        }, 300);
      });
    }
    ctx.addOverlay("incidents", T.layer, group, true);
    return state.refresh();
  }

  window.SarhadIncidents = { layer: layer, rank: RANK };
  SarhadMap.overlay("incidents", function (ctx, conf) {
    return layer(ctx, conf).then(function (state) {
      ctx.el.setAttribute("data-markers", String(state.shown));
      state.onChange = function () {
        ctx.el.setAttribute("data-markers", String(state.shown));
      };
      return state;
    });
  });
})();
