/*
 * Patient forms: progressive enhancement for the NHS.UK frontend.
 *
 * Loaded by base.html as a classic (blocking, tiny) script at the top of <body>, in
 * place of NHS.UK's inline snippet, which a strict Content-Security-Policy forbids:
 *
 *   <script src=".../js/app.js" data-nhsuk-frontend=".../nhsuk/nhsuk-frontend.min.js"></script>
 *
 * 1. Adds `js-enabled` and, in browsers with ES modules, `nhsuk-frontend-supported` to
 *    <body> before anything is painted (so conditional content does not flash).
 * 2. Once the page is parsed, imports the NHS.UK frontend module (its hashed static URL
 *    comes from the data attribute) and runs initAll(): error summary focus and links,
 *    radios and checkboxes, password reveal, double-click prevention on buttons.
 * 3. Makes sure an error summary has focus, so it is read out first.
 * Every page works without this file.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var body = document.body;
  if (!body) {
    return;
  }
  body.classList.add("js-enabled");

  var supported = "noModule" in HTMLScriptElement.prototype;
  var moduleUrl = script && script.getAttribute("data-nhsuk-frontend");
  if (!supported || !moduleUrl) {
    return;
  }
  body.classList.add("nhsuk-frontend-supported");

  function focusErrorSummary() {
    var summary = document.querySelector(".nhsuk-error-summary");
    if (!summary || summary.contains(document.activeElement)) {
      return;
    }
    if (document.activeElement && document.activeElement !== body) {
      return; // the patient has already moved on
    }
    if (!summary.hasAttribute("tabindex")) {
      summary.setAttribute("tabindex", "-1");
    }
    summary.focus();
  }

  function start() {
    import(moduleUrl)
      .then(function (nhsuk) {
        nhsuk.initAll();
      })
      .catch(function () {
        // Without the components, show everything (for example conditional questions)
        // the way a browser without JavaScript would.
        body.classList.remove("nhsuk-frontend-supported");
      })
      .then(focusErrorSummary);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
