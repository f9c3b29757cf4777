// The job form: fills in the browser's time zone, keeps "as soon as possible" and the date/time
// fields consistent, and refuses a time in the past before the server has to.
(function () {
  "use strict";
  var form = document.getElementById("job-form");
  if (!form) return;
  var zoneInput = document.getElementById("timezone");
  var zoneName = document.getElementById("timezone-name");
  var now = document.getElementById("now");
  var date = document.getElementById("date");
  var time = document.getElementById("time");
  // A submission typed a moment ago is still "now" for the server; match its tolerance.
  var TOLERANCE_MS = 60 * 1000;
  var DAY_MS = 24 * 60 * 60 * 1000;
  // The server's limit on how far ahead a job may be scheduled, given by the page.
  var MAX_AHEAD_DAYS = parseInt(form.getAttribute("data-max-ahead-days"), 10) || 365;

  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      zoneInput.value = zone;
      if (zoneName) zoneName.textContent = zone;
    }
  } catch (e) {
    // Without Intl the server falls back to UTC, which the page already says.
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function isoDate(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function showError(input, message) {
    var box = document.getElementById(input.id + "-error");
    if (box) {
      box.textContent = message;
      box.hidden = !message;
    }
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function checkWhen() {
    date.setCustomValidity("");
    time.setCustomValidity("");
    if (now.checked) return;
    // The picker's own range messages name dates in a format of its choosing; say it plainly instead.
    if (date.validity.rangeUnderflow) date.setCustomValidity("Choose today or a later date.");
    if (date.validity.rangeOverflow) date.setCustomValidity("Choose a date within " + MAX_AHEAD_DAYS + " days.");
    if (!date.value || !time.value) return;
    var parts = date.value.split("-").map(Number);
    var hm = time.value.split(":").map(Number);
    // Local time in the browser's zone, which is the zone the server is told about.
    var when = new Date(parts[0], parts[1] - 1, parts[2], hm[0], hm[1]).getTime();
    if (when < Date.now() - TOLERANCE_MS) {
      time.setCustomValidity("Choose a time in the future.");
    } else if (when > Date.now() + MAX_AHEAD_DAYS * DAY_MS) {
      time.setCustomValidity("Choose a time within " + MAX_AHEAD_DAYS + " days.");
    }
  }

  function syncNow() {
    var immediate = now.checked;
    [date, time].forEach(function (input) {
      input.required = !immediate;
      input.disabled = immediate;
      if (immediate) showError(input, "");
    });
    checkWhen();
  }

  date.min = isoDate(new Date());
  date.max = isoDate(new Date(Date.now() + MAX_AHEAD_DAYS * DAY_MS));
  now.addEventListener("change", syncNow);
  // While the person types, show our own messages (a past time) at once, but not "fill in this
  // field" for a field they have not reached yet; that waits for the submit.
  function refresh(input) {
    if (input.validity.customError) showError(input, input.validationMessage);
    else if (input.validity.valid) showError(input, "");
  }
  [date, time].forEach(function (input) {
    input.addEventListener("input", function () {
      checkWhen();
      refresh(date);
      refresh(time);
    });
  });

  // Show the browser's message next to the field as well as in its bubble; a field in the closed
  // "Advanced" section is shown first, since a browser cannot point at a field it cannot show.
  Array.prototype.forEach.call(form.querySelectorAll("input, select"), function (input) {
    input.addEventListener("invalid", function () {
      var section = input.closest("details");
      if (section && !section.open) section.open = true;
      showError(input, input.validationMessage);
    });
    input.addEventListener("change", function () {
      if (input.checkValidity()) showError(input, "");
    });
  });

  form.addEventListener("submit", function (event) {
    checkWhen();
    if (!form.checkValidity()) {
      event.preventDefault();
      form.reportValidity();
    }
  });

  syncNow();
})();
