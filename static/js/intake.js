// Intake form: add contact rows from the formset's empty form, and submit only once.
(function () {
  "use strict";
  var button = document.getElementById("add-contact");
  var template = document.getElementById("contact-empty-form");
  var container = document.getElementById("contact-forms");
  var total = document.querySelector("input[name='contacts-TOTAL_FORMS']");
  if (button && template && container && total) {
    var max = parseInt(button.dataset.max, 10) || 20;
    button.classList.remove("d-none");
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (index >= max) { return; }
      container.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
      total.value = String(index + 1);
      if (index + 1 >= max) { button.disabled = true; }
    });
  }
  var errors = document.getElementById("form-errors");
  if (errors) { errors.focus(); }
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      var submit = form.querySelector("[data-submit-once]");
      if (submit) {
        // The server also de-duplicates by the form's submission key; this only spares a second request.
        window.setTimeout(function () { submit.disabled = true; }, 0);
      }
    });
  });
})();
