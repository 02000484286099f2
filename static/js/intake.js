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
  // Known problems: once the category and the provider are filled, the open incidents that match
  // them are shown with a box "this is my problem too" (the server renders them; without this
  // script it does so when the form comes back).
  var known = document.getElementById("known-incidents");
  var subcategory = document.querySelector("select[name='subcategory']");
  var provider = document.querySelector("input[name='provider_name']");
  if (known && subcategory && provider && window.fetch) {
    var timer = null;
    var ask = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        if (!subcategory.value || !provider.value.trim()) { known.innerHTML = ""; return; }
        var query = new URLSearchParams({ subcategory: subcategory.value, provider_name: provider.value });
        fetch(known.dataset.url + "?" + query.toString(), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.text() : ""; })
          .then(function (html) { known.innerHTML = html; })
          .catch(function () { /* the form works without it */ });
      }, 300);
    };
    subcategory.addEventListener("change", ask);
    provider.addEventListener("input", ask);
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
