// Staff reply form: choosing a prepared reply fills the message box with its text in the
// complainant's language (each option carries it in data-canned-text). Without JavaScript
// the server sends that text when the box is left empty, so both ways give the same reply.
(function () {
  "use strict";
  document.querySelectorAll("select[data-canned-source]").forEach(function (select) {
    var box = select.form && select.form.querySelector("textarea[data-canned-target]");
    if (!box) { return; }
    var inserted = "";
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var text = option ? option.getAttribute("data-canned-text") : null;
      if (text === null) { return; }
      // Ask before replacing words the user typed (not a prepared text put there earlier).
      var typed = box.value.trim() !== "" && box.value !== inserted;
      if (typed && !window.confirm(select.getAttribute("data-canned-confirm") || "")) { return; }
      box.value = text;
      inserted = text;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      box.focus();
    });
  });
})();
