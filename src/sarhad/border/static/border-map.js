/* sarhad /map: the one map of the border, on the shared core (sarhad-map.js): the offline basemap (or the
 * node's tile server), the border data layers, and the layers other packages plug in (cfg.overlays: the
 * incidents of the last days today), with a legend, the layer control, "my location" and the side panel.
 * Texts come translated from the page (#map-config). When every layer is drawn, #map gets data-ready="1"
 * (the browser tests wait for it); on failure data-error.
 */
(function () {
  "use strict";

  var mapEl = document.getElementById("map");
  var configEl = document.getElementById("map-config");
  if (!mapEl || !configEl || typeof SarhadMap === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.labels;
  var C = SarhadMap.colours;
  var ctx = SarhadMap.create(mapEl, cfg);
  var BORDER_LAYERS = ["sections", "fence", "line", "crossings", "markets", "posts"];

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
      legendGroup(box, T.layers.fence, Object.keys(C.fence).map(function (s) {
        return [swatch("line", C.fence[s]), SarhadMap.statusText(ctx, s)];
      }).concat(order.slice(0, 2).map(function (party, index) {
        return [swatch(index === 0 ? "band" : "line", "#6b7280"), (index === 0 ? T.fence_outer : T.fence_inner) + ": " + SarhadMap.partyName(ctx, party)];
      })));
      legendGroup(box, T.layers.crossings, Object.keys(C.crossing).map(function (s) {
        return [swatch("dot", C.crossing[s], "#111827"), SarhadMap.statusText(ctx, s)];
      }));
      legendGroup(box, T.layers.markets, Object.keys(C.market).map(function (s) {
        return [swatch("dot", C.market[s], "#6d28d9"), SarhadMap.statusText(ctx, s)];
      }));
      legendGroup(box, T.layers.posts, order.map(function (party) {
        return [swatch("dot", C.party(cfg, party), "#ffffff"), SarhadMap.partyName(ctx, party)];
      }));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    legend.addTo(ctx.map);
  }

  function linkSidePanel() {
    var links = document.querySelectorAll("a[data-section]");
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener("click", function (event) {
        var layer = (ctx.sections || {})[link.getAttribute("data-section")];
        if (!layer) {
          return;
        }
        event.preventDefault();
        Array.prototype.forEach.call(links, function (other) { other.classList.remove("active"); });
        link.classList.add("active");
        ctx.map.fitBounds(layer.getBounds(), { padding: [30, 30] });
        layer.openPopup(layer.getBounds().getCenter());
      });
    });
  }

  function fail(error) {
    var box = document.createElement("div");
    box.className = "map-error";
    box.setAttribute("role", "alert");
    var message = (error && error.message) || String(error);
    box.textContent = T.error + " (" + message + ")";
    mapEl.appendChild(box);
    mapEl.setAttribute("data-error", message);
  }

  SarhadMap.basemap(ctx)
    .then(function () {
      return SarhadMap.border(ctx, BORDER_LAYERS);
    })
    .then(function (drawn) {
      addLegend();
      var bounds = drawn.line.getBounds();
      if (bounds.isValid()) {
        ctx.map.fitBounds(bounds, { padding: [20, 20] });
      }
      linkSidePanel();
      return Promise.all((cfg.overlays || []).map(function (overlay) {
        var plug = SarhadMap.overlayKinds[overlay.kind];
        return plug ? plug(ctx, overlay) : null;
      }));
    })
    .then(function () {
      mapEl.setAttribute("data-ready", "1");
    })
    .catch(fail);
})();
