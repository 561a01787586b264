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
 * 3. Takes off the aria-expanded that the conditional reveal puts on radios and
 *    checkboxes (not allowed there by ARIA; see dropAriaExpanded).
 * 4. Makes sure an error summary has focus, so it is read out first.
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

  // nhsuk-frontend 10.6.1's conditional reveal sets aria-expanded on the radio or
  // checkbox that controls it, which ARIA 1.2 does not allow on those roles (axe:
  // aria-allowed-attr, critical). The reveal itself, and aria-controls, stay; only that
  // attribute is taken off again, as soon as it is set.
  function dropAriaExpanded(root) {
    var inputs = root.querySelectorAll(
      ".nhsuk-radios__input[aria-expanded], .nhsuk-checkboxes__input[aria-expanded]");
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].removeAttribute("aria-expanded");
    }
  }

  function watchAriaExpanded() {
    dropAriaExpanded(document);
    if (!("MutationObserver" in window)) {
      return;
    }
    new MutationObserver(function (changes) {
      for (var i = 0; i < changes.length; i++) {
        var target = changes[i].target;
        if (target.hasAttribute("aria-expanded") && target.matches(
            ".nhsuk-radios__input, .nhsuk-checkboxes__input")) {
          target.removeAttribute("aria-expanded");
        }
      }
    }).observe(document.body, {attributes: true, attributeFilter: ["aria-expanded"], subtree: true});
  }

  function start() {
    import(moduleUrl)
      .then(function (nhsuk) {
        nhsuk.initAll();
        watchAriaExpanded();
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
