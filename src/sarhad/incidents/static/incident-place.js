/* sarhad incident place: the map picker of the incident form and the mini-map of the incident page, on the
 * shared map core (sarhad-map.js) with the offline basemap, the border line and the crossing points.
 *
 * Picker (#place-config.picker): a click or tap puts the marker there and fills the form's lat/lon fields;
 * dragging the marker updates them; typing coordinates (Latin or Persian digits, comma or point) moves the
 * marker; "my location" puts the marker where the device is. The fields stay the form's real inputs.
 * Mini-map: the incident's point, on the border. #place-map gets data-ready="1" when drawn.
 */
(function () {
  "use strict";

  var el = document.getElementById("place-map");
  var configEl = document.getElementById("place-config");
  if (!el || !configEl || typeof SarhadMap === "undefined") {
    return;
  }
  var cfg = JSON.parse(configEl.textContent);
  cfg.layerControl = false;
  cfg.towns = true;
  var T = cfg.labels;
  var form = el.closest("form");
  var latInput = form ? form.querySelector("input[name=lat]") : null;
  var lonInput = form ? form.querySelector("input[name=lon]") : null;
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  var ARABIC = "٠١٢٣٤٥٦٧٨٩";

  function parse(text) {
    var latin = String(text || "").trim().replace(/[۰-۹٠-٩]/g, function (d) {
      var i = PERSIAN.indexOf(d);
      return String(i >= 0 ? i : ARABIC.indexOf(d));
    }).replace(/[٫,]/g, ".");
    if (!/^[-+]?\d+(\.\d+)?$/.test(latin)) {
      return null;
    }
    return Number(latin);
  }

  function given() {
    var lat = cfg.point ? cfg.point[0] : parse(latInput && latInput.value);
    var lon = cfg.point ? cfg.point[1] : parse(lonInput && lonInput.value);
    if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      return null;
    }
    return [lat, lon];
  }

  var ctx = SarhadMap.create(el, cfg);
  var marker = null;

  function place(latlng, fill) {
    if (!marker) {
      marker = L.marker(latlng, {
        draggable: Boolean(cfg.picker),
        keyboard: true,
        title: T.point,
        alt: T.point,
        icon: L.divIcon({ className: "place-marker incident-marker impact-" + (cfg.impact || "high"), iconSize: [18, 18] }),
      }).addTo(ctx.map);
      marker.on("dragend", function () {
        place(marker.getLatLng(), true);
      });
    } else {
      marker.setLatLng(latlng);
    }
    var ll = L.latLng(latlng);
    el.setAttribute("data-point", ll.lat.toFixed(5) + "," + ll.lng.toFixed(5));
    if (fill && latInput && lonInput) {
      latInput.value = ll.lat.toFixed(5);
      lonInput.value = ll.lng.toFixed(5);
      [latInput, lonInput].forEach(function (input) {
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
  }

  if (cfg.picker) {
    ctx.map.on("click", function (event) {
      place(event.latlng, true);
    });
    ctx.onLocate = function (here) {
      place(here, true);
    };
    [latInput, lonInput].forEach(function (input) {
      if (input) {
        input.addEventListener("input", function () {
          var point = given();
          if (point) {
            place(point, false);
            ctx.map.panTo(point);
          }
        });
      }
    });
  }

  SarhadMap.basemap(ctx)
    .then(function () {
      return SarhadMap.border(ctx, ["sections", "line", "crossings"], {
        sectionStyle: function (f) {
          return { className: "border-section section-" + f.properties.id, color: "#64748b", weight: 8, opacity: 0.25, lineCap: "butt" };
        },
        sectionTooltip: function (f) { return f.properties.id + " · " + f.properties.name; },
      });
    })
    .then(function (drawn) {
      var point = given();
      if (point) {
        place(point, false);
        ctx.map.setView(point, cfg.picker ? 9 : 10);
      } else if (drawn.line.getBounds().isValid()) {
        ctx.map.fitBounds(drawn.line.getBounds(), { padding: [10, 10] });
      }
      el.setAttribute("data-ready", "1");
    })
    .catch(function (error) {
      el.setAttribute("data-error", String(error));
    });
})();
