// hookline dashboard: the few behaviours htmx does not cover. No inline scripts, so the
// Content-Security-Policy can forbid them.
(function () {
  "use strict";
  // Plain forms that change something ask first: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !form.hasAttribute("hx-post")) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  }, true);
  // Copy buttons: <button data-copy="#id" data-copied="Copied">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var source = document.querySelector(button.dataset.copy);
    if (!source) { return; }
    var text = source.textContent.trim();
    var done = function () {
      button.textContent = button.dataset.copied || button.textContent;
      button.setAttribute("aria-live", "polite");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(source); done(); });
    } else {
      select(source);
      try { document.execCommand("copy"); } catch (e) { /* selection stays for Ctrl+C */ }
      done();
    }
  });
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
