(function () {
  "use strict";
  // Copy buttons: hidden until this script runs (without it the text can still be selected).
  function say(status, message) {
    status.textContent = message;
  }
  function selectFor(field, status) {
    field.focus();
    field.select();
    say(status, "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
  }
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-status"));
    if (!field || !status) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say(status, "Copied."); },
          function () { selectFor(field, status); }
        );
      } else {
        selectFor(field, status);
      }
    });
  });
})();
