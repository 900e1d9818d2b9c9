/* The public portal's small enhancements; every page works without them.
 *
 * - The workshop directory's filters apply as soon as one is changed.
 * - The scan page's complaint link also names the code that was scanned.
 * - The complaint form counts the characters left.
 */
(function () {
  "use strict";

  function autosubmit() {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("change", function (event) {
        if (event.target && event.target.tagName === "SELECT") {
          form.submit();
        }
      });
    });
  }

  function complaintLinkWithCode() {
    var link = document.querySelector("a[data-complaint-link]");
    var code = document.querySelector(".scan-info code");
    if (link && code && code.textContent) {
      link.href += (link.href.indexOf("?") < 0 ? "?" : "&") +
        "code=" + encodeURIComponent(code.textContent.trim());
    }
  }

  function counter() {
    var area = document.querySelector("textarea[maxlength]");
    if (!area) {
      return;
    }
    var max = parseInt(area.getAttribute("maxlength"), 10);
    var out = document.createElement("p");
    out.className = "fine counter";
    out.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", out);
    function update() {
      out.textContent = (max - area.value.length) + " / " + max;
    }
    area.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    autosubmit();
    complaintLinkWithCode();
    counter();
  });
})();
