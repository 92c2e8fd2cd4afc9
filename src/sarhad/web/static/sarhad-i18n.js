// The viewer's calendar, zone and digits for scripts, and the Solar Hijri date-time picker.
// Loaded on every page by the layout (sarhad.web.templating.i18n_head); no inline script (CSP script-src 'self').
//
//   sarhadI18n.formatTime(iso)                 -> "۱۶ آذر ۱۴۰۵، ۱۴:۳۰" (viewer's calendar, zone, digits)
//   sarhadI18n.formatTime(iso, {seconds: true}) with seconds; {time: false} the date alone
//   sarhadI18n.formatNumber(1234.5)            -> "۱٬۲۳۴٫۵" on Persian pages
//   sarhadI18n.locale                          -> "fa-IR-u-ca-persian-nu-arabext" (for Intl or a chart library)
//
// On pages of a user whose calendar is Solar Hijri, every <input type="date"> and <input type="datetime-local">
// (and any input marked data-calendar-input) gets the Jalali picker (@majidh1/jalalidatepicker, served from
// /static/vendor): a text input shows and takes the Solar Hijri date, and the original input, now hidden, keeps
// the Gregorian ISO value the server reads (YYYY-MM-DD or YYYY-MM-DDTHH:MM, wall clock of the viewer's zone).
// An input marked data-calendar="gregorian" keeps the browser's own control.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="sarhad-locale"]');
  var cfg = {
    locale: meta ? meta.getAttribute("content") : "en-GB",
    language: meta ? meta.dataset.language : "en",
    calendar: meta ? meta.dataset.calendar : "gregorian",
    zone: meta ? meta.dataset.zone : "UTC"
  };

  function formatTime(value, options) {
    var opts = options || {};
    var instant = value instanceof Date ? value : new Date(value);
    if (isNaN(instant.getTime())) return "";
    var spec = { timeZone: cfg.zone, year: "numeric", month: "long", day: "numeric" };
    if (opts.time !== false) {
      spec.hour = "2-digit";
      spec.minute = "2-digit";
      spec.hourCycle = "h23";
      if (opts.seconds) spec.second = "2-digit";
    }
    return new Intl.DateTimeFormat(cfg.locale, spec).format(instant);
  }

  function formatNumber(value, options) {
    return new Intl.NumberFormat(cfg.locale, options || {}).format(value);
  }

  // --- Solar Hijri <-> Gregorian through the browser's own calendar data (Intl) -----------------------------
  var persianParts = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", {
    timeZone: "UTC", year: "numeric", month: "numeric", day: "numeric"
  });

  function toJalali(year, month, day) {
    var out = {};
    persianParts.formatToParts(new Date(Date.UTC(year, month - 1, day))).forEach(function (p) {
      if (p.type === "year" || p.type === "month" || p.type === "day") out[p.type] = parseInt(p.value, 10);
    });
    return out;
  }

  function fromJalali(jy, jm, jd) {
    // Nowruz falls on 19-22 March; guess the day of year, then step to the exact day.
    var dayOfYear = (jm <= 6 ? (jm - 1) * 31 : 186 + (jm - 7) * 30) + jd - 1;
    var guess = Date.UTC(jy + 621, 2, 21) + dayOfYear * 86400000;
    for (var delta = 0; delta <= 4; delta++) {
      for (var sign = -1; sign <= 1; sign += 2) {
        var at = new Date(guess + sign * delta * 86400000);
        var j = toJalali(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate());
        if (j.year === jy && j.month === jm && j.day === jd) {
          return { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() };
        }
      }
    }
    return null;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function isoToJalaliText(iso, withTime) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(iso || "");
    if (!m) return "";
    var j = toJalali(+m[1], +m[2], +m[3]);
    var text = j.year + "/" + pad(j.month) + "/" + pad(j.day);
    if (withTime) text += " " + (m[4] || "00") + ":" + (m[5] || "00");
    return text;
  }

  function jalaliTextToIso(text, withTime) {
    var latin = String(text || "").replace(/[۰-۹]/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹".indexOf(d); })
      .replace(/[٠-٩]/g, function (d) { return "٠١٢٣٤٥٦٧٨٩".indexOf(d); });
    var m = /^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?/.exec(latin);
    if (!m) return "";
    var g = fromJalali(+m[1], +m[2], +m[3]);
    if (!g) return "";
    var iso = g.year + "-" + pad(g.month) + "-" + pad(g.day);
    if (withTime) iso += "T" + pad(+(m[4] || 0)) + ":" + (m[5] || "00");
    return iso;
  }

  var MONTHS = {
    fa: ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"],
    ur: ["فروردین", "اردیبہشت", "خرداد", "تیر", "مرداد", "شہریور", "مہر", "آبان", "آذر", "دی", "بہمن", "اسفند"],
    en: ["Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr", "Aban", "Azar", "Dey",
      "Bahman", "Esfand"]
  };
  var DAYS = {
    fa: ["ش", "ی", "د", "س", "چ", "پ", "ج"],
    ur: ["ہفتہ", "اتوار", "پیر", "منگل", "بدھ", "جمعرات", "جمعہ"],
    en: ["Sa", "Su", "Mo", "Tu", "We", "Th", "Fr"]
  };

  function attachPicker(input) {
    if (input.dataset.calendarAttached || input.dataset.calendar === "gregorian") return;
    var withTime = input.type === "datetime-local" || input.dataset.calendarInput === "datetime";
    var shown = document.createElement("input");
    shown.type = "text";
    shown.className = "jdp-input";
    shown.setAttribute("data-jdp", "");
    if (!withTime) shown.setAttribute("data-jdp-only-date", "");
    shown.setAttribute("autocomplete", "off");
    shown.setAttribute("inputmode", "none");
    shown.setAttribute("dir", "ltr");
    shown.placeholder = withTime ? "1405/01/01 08:00" : "1405/01/01";
    shown.required = input.required;
    shown.value = isoToJalaliText(input.value, withTime);
    if (input.id) { shown.id = input.id + "-jalali"; }
    var label = input.getAttribute("aria-label");
    if (label) shown.setAttribute("aria-label", label);
    input.dataset.calendarAttached = "1";
    input.required = false;
    input.type = "hidden";
    input.insertAdjacentElement("afterend", shown);
    var sync = function () {
      input.value = jalaliTextToIso(shown.value, withTime);
      input.dispatchEvent(new Event("change", { bubbles: true }));
    };
    shown.addEventListener("change", sync);
    shown.addEventListener("jdp:change", sync);
    shown.addEventListener("input", sync);
  }

  // The picker writes its buttons in Persian ("امروز", "انتخاب", "خالی", "بستن") whatever the page's language;
  // the page gives their translations (data-picker-* on the sarhad-locale meta) and the buttons are relabelled
  // each time the picker draws them.
  var BUTTONS = { "امروز": "pickerToday", "انتخاب": "pickerChoose", "خالی": "pickerEmpty", "بستن": "pickerClose" };

  function relabel(container) {
    var buttons = container.querySelectorAll(".jdp-btn-today, .jdp-btn-empty, .jdp-btn-close");
    Array.prototype.forEach.call(buttons, function (button) {
      var original = button.dataset.label || button.textContent.trim();
      var label = meta && BUTTONS[original] ? meta.dataset[BUTTONS[original]] : "";
      button.dataset.label = original;
      if (label && button.textContent !== label) {
        button.textContent = label;
      }
    });
  }

  function watchPickerButtons() {
    var watched = null;
    function watch(container) {
      if (!container || container === watched) return;
      watched = container;
      relabel(container);
      new MutationObserver(function () { relabel(container); }).observe(container, { childList: true, subtree: true });
    }
    watch(document.querySelector("jdp-container"));
    new MutationObserver(function () { watch(document.querySelector("jdp-container")); })
      .observe(document.body, { childList: true });
  }

  function startPickers() {
    if (cfg.calendar !== "solar_hijri" || !window.jalaliDatepicker) return;
    watchPickerButtons();
    var inputs = document.querySelectorAll(
      'input[type="date"], input[type="datetime-local"], input[data-calendar-input]'
    );
    Array.prototype.forEach.call(inputs, attachPicker);
    window.jalaliDatepicker.startWatch({
      time: true,
      hasSecond: false,
      persianDigits: cfg.language === "fa",
      months: MONTHS[cfg.language] || MONTHS.en,
      days: DAYS[cfg.language] || DAYS.en,
      autoReadOnlyInput: false,
      showCloseBtn: true
    });
  }

  window.sarhadI18n = {
    locale: cfg.locale,
    language: cfg.language,
    calendar: cfg.calendar,
    zone: cfg.zone,
    formatTime: formatTime,
    formatNumber: formatNumber,
    toJalali: toJalali,
    fromJalali: fromJalali,
    attachPickers: startPickers
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startPickers);
  } else {
    startPickers();
  }
})();
