// sarhad: the layout's script, on every page. No inline script (CSP script-src 'self'); translated texts come
// from the banner's data-labels attribute (JSON).
//  1. The alert banner (#alerts): FLASH/IMMEDIATE hotline messages waiting for the viewer's positions. It is
//     rendered by the server; on each hotline live event it is re-read (GET /alerts/banner) and swapped. While
//     a message waits: the tab title says "(n) FLASH · …", the favicon gets a badge, a desktop notification is
//     raised once per message (where allowed), and the alarm beeps every 2 s until acknowledged or muted.
//     Acknowledge posts to the hotline API with the session's CSRF token (the form works without JS too).
//  2. One live-event stream per page, shared: window.sarhadLive.subscribe(topics, handler) for page scripts.
//  3. The main navigation's menu button on phones (aria-expanded).
//  4. [data-refresh-every="<seconds>"]: the page re-reads itself that often and swaps its [data-live-region]s.
(function () {
  "use strict";
  var banner = document.getElementById("alerts");
  var labels = {};
  try { labels = banner ? JSON.parse(banner.getAttribute("data-labels") || "{}") : {}; } catch (err) { labels = {}; }
  var HOTLINE = ["hotline.message", "hotline.delivered", "hotline.seen", "hotline.acknowledged",
                 "hotline.escalated", "hotline.closed", "hotline.link_down"];

  // --- 2. the shared live-event stream ------------------------------------------------------------------
  var subscribers = [];   // [{topics: [...], handler: fn}]
  var stateListeners = [];
  var source = null;
  window.sarhadLive = {
    subscribe: function (topics, handler) {
      subscribers.push({ topics: topics, handler: handler });
      // a script that subscribes after the stream opened (a deferred page script runs after this one) is
      // heard too: its topics are added to the open stream
      if (source) { topics.forEach(listen); }
    },
    onState: function (listener) { stateListeners.push(listener); },
    connected: function () { return !!source && source.readyState === 1; }
  };
  function startMark() {
    // Each region renders the newest event id it read before its data; the stream resumes after the oldest.
    var marks = [];
    document.querySelectorAll("[data-live-after]").forEach(function (el) {
      var n = parseInt(el.getAttribute("data-live-after"), 10);
      if (!isNaN(n)) { marks.push(n); }
    });
    return marks.length ? Math.min.apply(null, marks) : null;
  }
  function setState(up) {
    if (banner) { banner.dataset.connected = up ? "1" : "0"; }
    stateListeners.forEach(function (fn) { try { fn(up); } catch (err) { /* a page script's own problem */ } });
  }
  function connect() {
    var mark = startMark();
    if (mark === null || !window.EventSource) { return; }
    var topics = HOTLINE.slice();
    subscribers.forEach(function (s) {
      s.topics.forEach(function (t) { if (topics.indexOf(t) < 0) { topics.push(t); } });
    });
    source = new EventSource("/api/v1/events?last_event_id=" + mark);
    source.onopen = function () { setState(true); };
    source.onerror = function () { setState(false); };
    topics.forEach(listen);
  }
  var listening = {};
  function listen(topic) {
    if (!source || listening[topic]) { return; }
    listening[topic] = true;
    source.addEventListener(topic, function (event) {
      if (HOTLINE.indexOf(topic) >= 0) { refreshBanner(); }
      subscribers.forEach(function (s) {
        if (s.topics.indexOf(topic) >= 0) {
          try { s.handler(topic, event); } catch (err) { /* a page script's own problem */ }
        }
      });
    });
  }

  // --- 1. the banner -----------------------------------------------------------------------------------
  var baseTitle = document.title;
  var baseIcon = (document.getElementById("favicon") || {}).href || "/static/favicon.svg";
  var notified = readSet("sarhad.alerts.notified");
  var muted = readSet("sarhad.alerts.muted");

  function readSet(key) {
    try { return JSON.parse(window.sessionStorage.getItem(key) || "[]"); } catch (err) { return []; }
  }
  function writeSet(key, list) {
    try { window.sessionStorage.setItem(key, JSON.stringify(list.slice(-200))); } catch (err) { /* private mode */ }
  }
  function number(n) {  // in the page language's digits (Persian digits on Persian pages)
    try { return new Intl.NumberFormat(document.documentElement.lang || "en").format(n); } catch (err) { return String(n); }
  }
  function waiting() {
    if (!banner) { return []; }
    return Array.prototype.map.call(banner.querySelectorAll(".urgent-alert[data-message]"), function (el) {
      return { id: el.dataset.message, precedence: el.dataset.precedence, subject: el.dataset.subject || "" };
    });
  }

  function drawBadge(count, flash) {
    var link = document.getElementById("favicon");
    if (!link) { return; }
    if (!count) {
      link.type = "image/svg+xml";
      link.href = baseIcon;
      banner.dataset.favicon = "plain";
      return;
    }
    var canvas = document.createElement("canvas");
    canvas.width = 32; canvas.height = 32;
    var g = canvas.getContext("2d");
    if (!g) { return; }
    g.fillStyle = "#11202e"; g.fillRect(0, 0, 32, 32);
    g.fillStyle = flash ? "#b91c1c" : "#c2410c";
    g.beginPath(); g.arc(16, 16, 15, 0, 2 * Math.PI); g.fill();
    g.fillStyle = "#ffffff";
    g.font = "bold 20px sans-serif"; g.textAlign = "center"; g.textBaseline = "middle";
    g.fillText(count > 9 ? "9+" : String(count), 16, 17);
    link.type = "image/png";
    link.href = canvas.toDataURL("image/png");
    banner.dataset.favicon = "badge";
  }

  function notify(list) {
    var fresh = list.filter(function (m) { return notified.indexOf(m.id) < 0; });
    if (!fresh.length) { return; }
    fresh.forEach(function (m) { notified.push(m.id); });
    writeSet("sarhad.alerts.notified", notified);
    if (!("Notification" in window) || window.Notification.permission !== "granted") { return; }
    fresh.forEach(function (m) {
      try {
        var note = new window.Notification(
          (m.precedence === "FLASH" ? labels.flash : labels.immediate) + " · " + (labels.notification || ""),
          { body: m.subject, tag: "sarhad-" + m.id, requireInteraction: m.precedence === "FLASH" });
        note.onclick = function () { window.focus(); window.location.href = "/hotline/messages/" + m.id; };
        banner.dataset.notified = String(Number(banner.dataset.notified || "0") + 1);
      } catch (err) { /* notifications from a page are not allowed here (e.g. Android): the banner remains */ }
    });
  }

  // the alarm: the hotline's beep (WebAudio, no asset), every 2 s while a waiting message is not muted
  var audio = null, timer = null;
  function beep() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { banner.dataset.audio = "unavailable"; return; }
      audio = audio || new Context();
      if (audio.state === "suspended") { audio.resume(); }
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.value = 0.12;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
      banner.dataset.beeps = String(Number(banner.dataset.beeps || "0") + 1);
      banner.dataset.audio = audio.state;  // "running", or "suspended" until the first click on the page
    } catch (err) { banner.dataset.audio = "unavailable"; }
  }
  document.addEventListener("click", function () {
    if (audio && audio.state === "suspended") {
      audio.resume().then(function () { if (banner) { banner.dataset.audio = audio.state; } });
    }
  });

  function update() {
    if (!banner) { return; }
    var list = waiting();
    var flash = list.filter(function (m) { return m.precedence === "FLASH"; }).length;
    banner.hidden = list.length === 0;
    banner.dataset.count = String(list.length);
    banner.dataset.flash = String(flash);
    document.title = list.length
      ? "(" + number(list.length) + ") " + (flash ? labels.flash : labels.immediate) + " · " + baseTitle
      : baseTitle;
    drawBadge(list.length, flash > 0);
    notify(list);
    var ringing = list.filter(function (m) { return muted.indexOf(m.id) < 0; });
    var mute = document.getElementById("alerts-mute");
    if (mute) {
      mute.hidden = list.length === 0;
      mute.setAttribute("aria-pressed", list.length && !ringing.length ? "true" : "false");
      mute.textContent = list.length && !ringing.length ? labels.unmute : labels.mute;
    }
    var alarm = ringing.length > 0;
    banner.dataset.alarm = alarm ? "1" : "0";
    banner.dataset.muted = list.length && !alarm ? "1" : "0";
    document.body.classList.toggle("hotline-alarm", list.length > 0);
    if (alarm && !timer) { beep(); timer = window.setInterval(beep, 2000); }
    if (!alarm && timer) { window.clearInterval(timer); timer = null; }
    var ask = document.getElementById("alerts-notify");
    if (ask) {
      ask.hidden = !(list.length && "Notification" in window && window.Notification.permission === "default");
    }
  }

  var refreshing = false, again = false;
  function refreshBanner() {
    if (!banner) { return; }
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(banner.dataset.bannerUrl || "/alerts/banner",
          { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("alerts-list");
        var list = document.getElementById("alerts-list");
        if (fresh && list) { list.innerHTML = fresh.innerHTML; }
        banner.dataset.refreshed = String(Number(banner.dataset.refreshed || "0") + 1);
      })
      .catch(function () { /* the next event or reconnect refreshes again */ })
      .then(function () {
        refreshing = false;
        update();
        if (again) { again = false; refreshBanner(); }
      });
  }

  function acknowledge(form) {
    var button = form.querySelector("button");
    var token = form.querySelector("input[name=csrf_token]");
    var error = document.getElementById("alerts-error");
    if (button) { button.disabled = true; }
    fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": token ? token.value : "" },
      body: "{}"
    }).then(function (answer) {
      // 409: acknowledged meanwhile (by another holder): the banner's refresh drops it all the same
      if (!answer.ok && answer.status !== 409) { throw new Error(String(answer.status)); }
      if (error) { error.textContent = ""; }
      document.dispatchEvent(new CustomEvent("sarhad:acknowledged", { detail: { form: form } }));
    }).catch(function () {
      if (error) { error.textContent = labels.ack_failed || "Acknowledgement failed"; }
      if (button) { button.disabled = false; }
    }).then(refreshBanner);
  }

  if (banner) {
    banner.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.classList || !form.classList.contains("alert-ack") || !window.fetch) { return; }
      event.preventDefault();
      acknowledge(form);
    });
    var mute = document.getElementById("alerts-mute");
    if (mute) {
      mute.addEventListener("click", function () {
        var ids = waiting().map(function (m) { return m.id; });
        var allMuted = ids.every(function (id) { return muted.indexOf(id) >= 0; });
        muted = allMuted ? muted.filter(function (id) { return ids.indexOf(id) < 0; }) : muted.concat(ids);
        writeSet("sarhad.alerts.muted", muted);
        update();
      });
    }
    var ask = document.getElementById("alerts-notify");
    if (ask && "Notification" in window) {
      ask.addEventListener("click", function () {  // asked on a user gesture, as browsers require
        var answer = window.Notification.requestPermission(function () { update(); });
        if (answer && answer.then) { answer.then(function () { notified = []; update(); }); }
      });
    }
    update();
  }

  // --- 3. the menu button of the main navigation (phones) ------------------------------------------------
  var toggle = document.querySelector(".navtoggle");
  var nav = document.getElementById("mainnav");
  if (toggle && nav) {
    toggle.hidden = false;
    document.documentElement.classList.add("js-nav");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
      var more = nav.querySelector(".navmore");
      if (more) { more.open = open; }  // on a phone the secondary entries are part of the one list
    });
  }

  // --- 4. pages that refresh themselves by polling ------------------------------------------------------
  var poll = document.querySelector("[data-refresh-every]");
  if (poll) {
    var every = Math.max(2, parseInt(poll.getAttribute("data-refresh-every"), 10) || 10) * 1000;
    window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(window.location.href, { credentials: "same-origin",
                                    headers: { "Accept": "text/html", "X-Sarhad-Live": "refresh" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live-region]").forEach(function (region) {
            var fresh = doc.getElementById(region.id);
            if (fresh) { region.innerHTML = fresh.innerHTML; }
          });
          poll.dataset.refreshed = String(Number(poll.dataset.refreshed || "0") + 1);
        })
        .catch(function () { /* the next tick tries again */ });
    }, every);
  }

  // open the stream once every page script has subscribed (deferred scripts run before DOMContentLoaded)
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
}());
