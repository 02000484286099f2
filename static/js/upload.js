// Forms marked data-upload-progress send their files with a progress bar. Without
// JavaScript they post as usual; the server's answer is the same either way.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    var bar = form.querySelector("[data-upload-bar]");
    var fill = form.querySelector("[data-upload-fill]");
    var failed = form.querySelector("[data-upload-failed]");
    if (!bar || !fill || !window.FormData || !window.XMLHttpRequest) { return; }
    form.addEventListener("submit", function (event) {
      var hasFile = Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
        return input.files && input.files.length > 0;
      });
      if (!hasFile) { return; }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      bar.classList.remove("d-none");
      failed.classList.add("d-none");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.round((e.loaded / e.total) * 100);
        fill.style.width = percent + "%";
        fill.textContent = percent + "%";
        bar.setAttribute("aria-valuenow", String(percent));
      });
      xhr.addEventListener("load", function () {
        // The answer is the page to show: after a redirect on success, or the form with
        // its errors. Show it as it came (its one-time messages included) at its address.
        if (xhr.responseURL && xhr.responseURL !== window.location.href) {
          window.history.replaceState(null, "", xhr.responseURL);
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        bar.classList.add("d-none");
        failed.classList.remove("d-none");
        form.querySelectorAll("[data-submit-once]").forEach(function (b) { b.disabled = false; });
      });
      xhr.send(new FormData(form));
    });
  });
})();
