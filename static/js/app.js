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
 * 5. Turns a long choice list with the autocomplete control (a <select
 *    data-module="app-autocomplete">) into a box to type into with the browser's own
 *    suggestions (<input list> and <datalist>); the select stays, hidden, and is what
 *    the form sends, so the server sees the same answer either way.
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

  function enhanceAutocomplete(select) {
    var input = document.createElement("input");
    var list = document.createElement("datalist");
    var byText = {};
    input.type = "text";
    input.className = "nhsuk-input" + (select.classList.contains("nhsuk-select--error")
      ? " nhsuk-input--error" : "");
    input.setAttribute("autocomplete", "off");
    list.id = select.id + "-options";
    input.setAttribute("list", list.id);
    var described = select.getAttribute("aria-describedby") || "";
    var hintText = select.getAttribute("data-hint");
    if (hintText) {
      // How the box works ("Start typing, then choose from the list"), in the page's
      // language: the server wrote it in data-hint.
      var hint = document.createElement("div");
      hint.className = "nhsuk-hint";
      hint.id = select.id + "-how";
      hint.textContent = hintText;
      select.parentNode.insertBefore(hint, select);
      described = (described + " " + hint.id).trim();
    }
    if (described) {
      input.setAttribute("aria-describedby", described);
    }
    for (var i = 0; i < select.options.length; i++) {
      var option = select.options[i];
      if (!option.value) {
        continue; // "Select an option"
      }
      var choice = document.createElement("option");
      choice.value = option.text;
      list.appendChild(choice);
      byText[option.text.trim().toLowerCase()] = option.value;
      if (option.selected) {
        input.value = option.text;
      }
    }
    input.addEventListener("input", function () {
      var value = byText[input.value.trim().toLowerCase()];
      select.value = value === undefined ? "" : value;
    });
    // The label and the error summary's link name the select's id: give it to the box.
    input.id = select.id;
    select.id = select.id + "-select";
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    select.parentNode.insertBefore(input, select);
    select.parentNode.insertBefore(list, select);
  }

  function start() {
    var selects = document.querySelectorAll('select[data-module="app-autocomplete"]');
    for (var i = 0; i < selects.length; i++) {
      enhanceAutocomplete(selects[i]);
    }
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
