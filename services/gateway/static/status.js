// The status page: polls the JSON API every 2 s and updates state and counters in place.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root || !window.fetch) return;
  var apiUrl = root.getAttribute("data-api-url");
  var zone = root.getAttribute("data-timezone") || "UTC";
  var INTERVAL_MS = 2000;
  var FINISHED = { ready: true, failed: true, cancelled: true, expired: true };
  var LABELS = {
    scheduled: "Scheduled",
    running: "Searching for images",
    packaging: "Downloading and packing",
    ready: "Ready to download",
    expired: "Expired",
    failed: "Failed",
    cancelled: "Cancelled"
  };

  var EXPIRY_LABELS = { ready: "Link expires", expired: "Link expired" };

  function field(name) { return root.querySelector('[data-field="' + name + '"]'); }
  function parts(name) { return root.querySelectorAll('[data-part="' + name + '"]'); }
  function show(name, visible) {
    Array.prototype.forEach.call(parts(name), function (el) { el.hidden = !visible; });
  }
  function setText(name, text) {
    var el = field(name);
    if (el && el.textContent !== String(text)) el.textContent = text;
  }

  function humanBytes(size) {
    if (size < 1000) return size + " B";
    var value = size / 1000;
    var units = ["KB", "MB"];
    for (var i = 0; i < units.length; i++) {
      if (value < 1000) return value.toFixed(1) + " " + units[i];
      value /= 1000;
    }
    return value.toFixed(1) + " GB";
  }

  // Same shape as the server's: "Tue 24 Nov 2026, 14:05 (Europe/Paris)".
  function formatTime(iso) {
    if (!iso) return "";
    try {
      var p = {};
      new Intl.DateTimeFormat("en-GB", {
        timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
      return p.weekday + " " + p.day + " " + p.month + " " + p.year + ", " + p.hour + ":" + p.minute + " (" + zone + ")";
    } catch (e) {
      return iso;
    }
  }

  function render(job) {
    var state = field("status");
    state.textContent = LABELS[job.status] || job.status;
    state.className = "state state-" + job.status;
    root.setAttribute("data-status", job.status);
    var p = job.progress || {};
    setText("links_found", p.links_found || 0);
    setText("images_downloaded", p.images_downloaded || 0);
    setText("images_failed", p.images_failed || 0);
    setText("bytes_downloaded", humanBytes(p.bytes_downloaded || 0));
    var bar = field("progress");
    if (bar) bar.value = p.images_downloaded || 0;
    setText("note", job.note || "");
    show("note", !!job.note);
    setText("failure_reason", job.failure_reason || "");
    show("failure", !!job.failure_reason);
    setText("expires_at", formatTime(job.expires_at));
    // Same words as the server's: a link's end, or, with no link, when the record is deleted.
    setText("expiry_label", EXPIRY_LABELS[job.status] || "Kept until");
    show("progress", job.status !== "failed" && job.status !== "cancelled");
    show("expiry", !!job.expires_at);
    if (job.download_url) {
      // The API gives the public address; stay on the host this page was served from.
      field("download_url").setAttribute("href", new URL(job.download_url).pathname);
      setText("zip_bytes", humanBytes(job.zip_bytes || 0));
    }
    show("download", !!job.download_url);
    show("cancel", job.status === "scheduled");
    show("retry", job.status === "failed" || job.status === "cancelled" || job.status === "expired");
    show("expired", job.status === "expired");
    show("live", !FINISHED[job.status]);
    renderEmails(job.emails || []);
  }

  function renderEmails(emails) {
    var list = field("emails");
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    emails.forEach(function (email) {
      var item = document.createElement("li");
      item.setAttribute("data-state", email.state);
      var kind = email.kind.charAt(0).toUpperCase() + email.kind.slice(1);
      item.textContent = kind + " email: " + email.label + (email.detail ? " (" + email.detail + ")" : "");
      list.appendChild(item);
    });
    show("emails", emails.length > 0);
  }

  function mailInFlight(job) {
    return (job.emails || []).some(function (e) { return e.state === "pending" || e.state === "retrying"; });
  }

  function poll() {
    fetch(apiUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) {
          show("live", false);
          return null;
        }
        return response.ok ? response.json() : undefined;
      })
      .then(function (job) {
        if (job === null) return;
        if (job) render(job);
        if (!job || !FINISHED[job.status] || mailInFlight(job)) window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS); });
  }

  if (!FINISHED[root.getAttribute("data-status")] || root.getAttribute("data-mail-in-flight")) {
    window.setTimeout(poll, INTERVAL_MS);
  }
})();
