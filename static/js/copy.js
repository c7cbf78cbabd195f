// "Copy" buttons: data-copy-target names the element whose text is copied, data-copy-status the
// element that says what happened. Where the clipboard cannot be written (an http page on
// another host, or a refused permission), the text is selected for the reader to copy.
(function () {
  "use strict";

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy-target]");
    if (!button) return;
    const source = document.getElementById(button.getAttribute("data-copy-target"));
    const status = document.getElementById(button.getAttribute("data-copy-status") || "");
    if (!source) return;
    const text = source.textContent.trim();
    const say = function (message) { if (status) status.textContent = message; };
    const fallback = function () {
      selectText(source);
      say("Selected: press Ctrl+C (or ⌘C) to copy it.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say("Copied to the clipboard."); }, fallback);
    } else {
      fallback();
    }
  });
})();
