// sarhad hotline pages: live updates from the Server-Sent Events stream (the layout's shared stream, alerts.js)
// and the link-down banner. The FLASH/IMMEDIATE alert and its alarm are the layout's, on every page (alerts.js).
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
        checkLink();
        if (pending) { pending = false; refresh(); }
      });
  }

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

  // --- the stream: the layout's shared one (alerts.js), or one of our own ------------------------------------
  function state(up) {
    root.dataset.connected = up ? "1" : "0";
    if (status) { status.textContent = up ? "● " + (labels.live || "Live") : (labels.reconnecting || "Reconnecting…"); }
  }
  function onEvent(topic, event) {
    root.dataset.lastEvent = event.lastEventId;
    refresh();
  }
  function connect() {
    if (window.sarhadLive) {
      window.sarhadLive.onState(state);
      window.sarhadLive.subscribe(TOPICS, onEvent);
      return;
    }
    var source = new EventSource(root.dataset.events || "/api/v1/events");
    source.onopen = function () { state(true); };
    source.onerror = function () { state(false); };
    TOPICS.forEach(function (topic) {
      source.addEventListener(topic, function (event) { onEvent(topic, event); });
    });
  }
  checkLink();
  connect();
}());
