// sarhad hotline pages: live updates from the Server-Sent Events stream, the FLASH alarm, the link-down banner.
// No inline script (CSP): translated texts come from <script type="application/json" id="hotline-labels">.
(function () {
  "use strict";
  var root = document.getElementById("hotline-root");
  if (!root) { return; }
  var labelsNode = document.getElementById("hotline-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent || "{}") : {};
  var status = document.getElementById("hotline-live-status");
  var TOPICS = ["hotline.message", "hotline.delivered", "hotline.seen", "hotline.acknowledged",
                "hotline.escalated", "hotline.closed", "hotline.link_down"];

  // --- live regions: re-read this page and swap every [data-live-region] by id --------------------------
  var refreshing = false, pending = false;
  function refresh() {
    if (refreshing) { pending = true; return; }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html", "X-Sarhad-Live": "refresh" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var fresh = doc.getElementById(region.id);
          if (fresh) { region.innerHTML = fresh.innerHTML; }
        });
        root.dataset.refreshed = String(Date.now());
      })
      .catch(function () { /* the next event or reconnect refreshes again */ })
      .then(function () {
        refreshing = false;
        updateAlarm();
        checkLink();
        if (pending) { pending = false; refresh(); }
      });
  }

  // --- the FLASH alarm: visual (CSS) and audible (WebAudio beep, no asset) until acknowledged ------------
  var audio = null, timer = null;
  function beep() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { return; }
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
      root.dataset.beeps = String(Number(root.dataset.beeps || "0") + 1);
    } catch (err) { /* no audio device: the visual alert remains */ }
  }
  function updateAlarm() {
    var on = document.querySelectorAll("#hotline-alerts .flash-alert").length > 0;
    document.body.classList.toggle("hotline-alarm", on);
    root.dataset.alarm = on ? "1" : "0";
    if (on && !timer) { beep(); timer = window.setInterval(beep, 2000); }
    if (!on && timer) { window.clearInterval(timer); timer = null; }
  }
  document.addEventListener("click", function () { if (audio && audio.state === "suspended") { audio.resume(); } });

  // --- link down: an urgent message of ours not delivered 30 s after it was queued -----------------------
  function checkLink() {
    var watch = document.querySelector("[data-link-watch]");
    var banner = document.getElementById("link-down");
    if (!watch || !banner) { return; }
    if (watch.dataset.delivered !== "1" && Date.now() >= Date.parse(watch.dataset.linkDownAt || "")) {
      banner.hidden = false;
    }
  }
  window.setInterval(checkLink, 1000);

  // --- the stream (the browser reconnects by itself, sending Last-Event-ID) ------------------------------
  function connect() {
    var source = new EventSource(root.dataset.events || "/api/v1/events");
    source.onopen = function () {
      root.dataset.connected = "1";
      if (status) { status.textContent = "● " + (labels.live || "Live"); }
    };
    source.onerror = function () {
      root.dataset.connected = "0";
      if (status) { status.textContent = labels.reconnecting || "Reconnecting…"; }
    };
    TOPICS.forEach(function (topic) {
      source.addEventListener(topic, function (event) {
        root.dataset.lastEvent = event.lastEventId;
        refresh();
      });
    });
  }
  updateAlarm();
  checkLink();
  connect();
}());
