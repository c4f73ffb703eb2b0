// Niceties on top of pages that work without JavaScript: copy buttons.
// Loaded as a file (no inline script), so the Content Security Policy can
// forbid inline code.
(function () {
  "use strict";
  function copyFrom(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var text = field.value !== undefined ? field.value : field.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      var status = document.getElementById(button.getAttribute("data-copy") + "-status");
      if (status) status.textContent = "Copied to the clipboard.";
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(field, done); });
    } else {
      fallback(field, done);
    }
  }
  function fallback(field, done) {
    if (field.select) {
      field.select();
    } else {
      // A key shown as text (<code>): select its text the same way.
      var range = document.createRange();
      range.selectNodeContents(field);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the field stays selected for Ctrl+C */ }
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (b) { ev.preventDefault(); copyFrom(b); }
  });
  // Copy buttons are hidden until this script runs: without it they could not work.
  document.documentElement.classList.add("js");
})();
