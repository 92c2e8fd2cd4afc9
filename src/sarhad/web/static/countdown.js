// sarhad: the countdown to each deadline on a list (the requests list). The server writes the time left when it
// renders the page; this script rewrites it every 20 seconds from the deadline in data-deadline, with the phrases
// of the table's data-countdown-* attributes (translated on the server) and the page language's digits, and
// marks a row overdue when its deadline passes. No inline script, no eval (CSP script-src 'self').
(function () {
  "use strict";
  var table = document.querySelector("[data-countdown-left]");
  if (!table) { return; }
  var words = {
    left: table.getAttribute("data-countdown-left"),
    over: table.getAttribute("data-countdown-over"),
    d: table.getAttribute("data-countdown-d"),
    h: table.getAttribute("data-countdown-h"),
    m: table.getAttribute("data-countdown-m")
  };
  var lang = document.documentElement.lang || "en";
  var digits;
  try { digits = new Intl.NumberFormat(lang === "fa" ? "fa-IR" : lang, { useGrouping: false }); }
  catch (e) { digits = new Intl.NumberFormat("en", { useGrouping: false }); }

  function fill(template, key, value) { return template.replace("%(" + key + ")s", value); }

  function text(deadline, now) {
    var seconds = Math.trunc((deadline - now) / 1000);
    var past = seconds < 0;
    var total = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(total / 1440), hours = Math.floor((total % 1440) / 60), minutes = total % 60;
    var parts = [];
    if (days) { parts.push(fill(words.d, "n", digits.format(days))); }
    if (days || hours) { parts.push(fill(words.h, "n", digits.format(hours))); }
    parts.push(fill(words.m, "n", digits.format(minutes)));
    return { past: past, text: fill(past ? words.over : words.left, "time", parts.join(" ")) };
  }

  function tick() {
    var now = Date.now();
    var items = document.querySelectorAll(".countdown[data-deadline]");
    for (var i = 0; i < items.length; i++) {
      var deadline = Date.parse(items[i].getAttribute("data-deadline"));
      if (isNaN(deadline)) { continue; }
      var shown = text(deadline, now);
      items[i].textContent = shown.text;
      items[i].classList.toggle("overdue", shown.past);
      var row = items[i].closest("tr");
      if (row && shown.past) { row.classList.add("overdue"); }
    }
    table.setAttribute("data-countdown-ready", "1");
  }
  tick();
  setInterval(tick, 20000);
})();
