/*
 * Patient pages: warn before the session times out, and keep it alive on request.
 *
 * The server ends an idle patient session after data-seconds (PATIENT_SESSION_SECONDS);
 * every page of answers is already saved, so nothing is lost either way. This script
 * opens the <dialog id="session-timeout"> data-warning-seconds before that, counts down,
 * and either POSTs to data-keep-alive-url (the "Continue" button, which restarts the
 * server's clock) or, when time is up, goes to data-timed-out-url, which ends the session
 * and says how to carry on. Without JavaScript the dialog never shows.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var dialog = document.getElementById("session-timeout");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) {
    return;
  }
  var seconds = parseInt(dialog.getAttribute("data-seconds"), 10);
  var warning = parseInt(dialog.getAttribute("data-warning-seconds"), 10);
  var countdown = dialog.querySelector("[data-countdown]");
  var form = dialog.querySelector("form");
  var warnTimer = null;
  var tick = null;
  var deadline = 0;

  function words(remaining) {
    var minutes = Math.ceil(remaining / 60);
    if (remaining < 60) {
      return script.getAttribute("data-under-a-minute");
    }
    if (minutes === 1) {
      return script.getAttribute("data-one-minute");
    }
    return script.getAttribute("data-minutes").replace("__N__", String(minutes));
  }

  function update() {
    var remaining = Math.round((deadline - Date.now()) / 1000);
    if (remaining <= 0) {
      window.location.href = dialog.getAttribute("data-timed-out-url");
      return;
    }
    var text = words(remaining);
    if (countdown.textContent !== text) {
      countdown.textContent = text; // aria-live: read out only when the words change
    }
  }

  function warn() {
    update();
    dialog.showModal();
    tick = window.setInterval(update, 1000);
  }

  function restart() {
    window.clearTimeout(warnTimer);
    window.clearInterval(tick);
    deadline = Date.now() + seconds * 1000;
    warnTimer = window.setTimeout(warn, Math.max(0, seconds - warning) * 1000);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: {Accept: "application/json"},
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) {
        window.location.href = dialog.getAttribute("data-timed-out-url");
        return;
      }
      dialog.close();
      restart();
    }).catch(function () {
      dialog.close(); // offline for a moment: the next page load will tell
      restart();
    });
  });
  dialog.addEventListener("cancel", function () {
    // Escape closes the dialog: treat it as "continue", as the button would.
    form.requestSubmit();
  });

  restart();
})();
