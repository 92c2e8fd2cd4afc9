/* Draws every chart of the page with Chart.js from its <script type="application/json" class="chart-data">
   (built by sarhad.web.chartdata). Labels, series names and the unit come from the server, already in the
   viewer's language, calendar and digits; this script formats only the numbers on the value axis and in the
   tooltips (Intl.NumberFormat in the page's locale, so Persian pages get Persian digits). No inline script,
   no eval: the node's CSP is script-src 'self'. Without JavaScript the figures table stays open. */
(function () {
  "use strict";

  function draw(figure) {
    var holder = figure.querySelector(".chart-data");
    var canvas = figure.querySelector("canvas");
    if (!holder || !canvas || typeof window.Chart !== "function") return;
    var c = JSON.parse(holder.textContent);
    var number = new Intl.NumberFormat(c.locale, { maximumFractionDigits: 3 });
    var style = window.getComputedStyle(figure);
    window.Chart.defaults.font.family = style.fontFamily;
    window.Chart.defaults.color = style.color;
    var valueAxis = c.horizontal ? "x" : "y";
    var categoryAxis = c.horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      stacked: c.stacked,
      title: { display: !!c.unit, text: c.unit },
      ticks: { precision: 0, callback: function (v) { return number.format(v); } },
      reverse: c.horizontal && c.rtl
    };
    scales[categoryAxis] = {
      stacked: c.stacked,
      title: { display: !!c.categoryTitle, text: c.categoryTitle },
      reverse: !c.horizontal && c.rtl,
      position: c.horizontal && c.rtl ? "right" : undefined,
      ticks: { autoSkip: true, maxRotation: 50 }
    };
    var chart = new window.Chart(canvas, {
      type: c.kind,
      data: {
        labels: c.labels,
        datasets: c.series.map(function (s) {
          return {
            label: s.name, data: s.values, backgroundColor: s.colour, borderColor: s.colour,
            borderWidth: c.kind === "line" ? 2 : 0, pointRadius: c.kind === "line" ? 3 : 0,
            spanGaps: false, maxBarThickness: 48
          };
        })
      },
      options: {
        indexAxis: c.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: c.locale,
        interaction: { mode: "nearest", intersect: false, axis: categoryAxis },
        scales: scales,
        plugins: {
          legend: { display: c.series.length > 1, rtl: c.rtl, position: "bottom" },
          tooltip: {
            rtl: c.rtl,
            textDirection: c.rtl ? "rtl" : "ltr",
            callbacks: {
              label: function (item) {
                var value = item.parsed[valueAxis];
                return item.dataset.label + ": " + number.format(value) + (c.unit ? " " + c.unit : "");
              }
            }
          }
        }
      }
    });
    figure.chart = chart;
    figure.setAttribute("data-drawn", "1");
    var figures = figure.querySelector(".chart-figures");
    if (figures) figures.removeAttribute("open");
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("figure.chart[data-chart]"), function (figure) {
      try { draw(figure); } catch (error) { if (window.console) window.console.error(error); }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
