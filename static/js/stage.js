// Evidence rows of forms marked data-stage-url: each file is sent alone the moment it is
// chosen, with its own progress bar, to the visitor's staging area, where the server checks
// it. Accepted, the row keeps only its id (Send attaches it); refused, the reason shows
// beside it, in plain words, before anything is sent. The rest of the form stays editable
// meanwhile. Send pressed while files are being checked waits for them and then sends by
// itself, unless one was refused: its reason comes first. Without JavaScript the files
// travel with the form and are checked then.
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest) { return; }

  function show(element, visible) {
    if (element) { element.classList.toggle("d-none", !visible); }
  }

  document.querySelectorAll("form[data-stage-url]").forEach(function (form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var waiting = form.querySelector("[data-stage-waiting]");
    var pending = 0;
    // Send pressed while files were being checked: the button, until they all are.
    var held = null;
    var refusedWhileHeld = false;
    // One file at a time: the first answer may start the visitor's session (its cookie),
    // which every later file must be sent with to land in the same staging area.
    var queue = [];
    var sending = false;
    function enqueue(job) {
      queue.push(job);
      if (!sending) { next(); }
    }
    function next() {
      var job = queue.shift();
      sending = Boolean(job);
      if (job) { job(next); }
    }

    function post(url, data, onload, onerror) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", token ? token.value : "");
      xhr.addEventListener("load", function () { onload(xhr); });
      xhr.addEventListener("error", function () { onerror(xhr); });
      xhr.send(data);
      return xhr;
    }

    form.querySelectorAll("[data-stage-row]").forEach(function (row) {
      var input = row.querySelector("input[type=file]");
      var staged = row.querySelector("[data-staged-input]");
      var picker = row.querySelector("[data-stage-picker]");
      var done = row.querySelector("[data-staged-file]");
      var bar = row.querySelector("[data-stage-progress]");
      var fill = row.querySelector("[data-stage-fill]");
      var error = row.querySelector("[data-stage-error]");
      var removeButton = row.querySelector("[data-stage-remove]");
      var removeBox = row.querySelector("[data-stage-remove-box]");
      if (!input || !staged || !picker || !done) { return; }
      var removeUrl = row.getAttribute("data-remove-url") || "";
      // With JavaScript a kept file is removed with a button, at once.
      show(removeBox, false);
      show(removeButton, staged.value !== "");

      function progress(percent) {
        fill.style.width = percent + "%";
        fill.textContent = percent + "%";
        bar.setAttribute("aria-valuenow", String(percent));
      }

      function say(message) {
        error.textContent = message;
        show(error, message !== "");
      }

      input.addEventListener("change", function () {
        if (!input.files || input.files.length === 0) { return; }
        var file = input.files[0];
        var data = new FormData();
        data.append("file", file, file.name);
        say("");
        progress(0);
        show(bar, true);
        pending += 1;
        row.setAttribute("aria-busy", "true");
        function finished() {
          pending -= 1;
          row.removeAttribute("aria-busy");
          show(bar, false);
          if (pending !== 0) { return; }
          if (held && !refusedWhileHeld) {
            var submitter = held;
            held = null;
            show(waiting, false);
            form.requestSubmit(submitter);
          } else if (held) {
            held = null;
            refusedWhileHeld = false;
            if (waiting) { waiting.textContent = form.getAttribute("data-stage-refused"); }
          } else {
            show(waiting, false);
          }
        }
        enqueue(function (release) {
          var xhr = post(form.getAttribute("data-stage-url"), data, function (answered) {
            var answer = null;
            try { answer = JSON.parse(answered.responseText); } catch (ignored) { answer = null; }
            if (held && answered.status === 400) { refusedWhileHeld = true; }
            finished();
            release();
            if (answered.status === 201 && answer) {
              staged.value = answer.id;
              removeUrl = answer.remove_url;
              done.querySelector("[data-staged-name]").textContent = answer.name;
              done.querySelector("[data-staged-size]").textContent = answer.size;
              input.value = "";
              show(picker, false);
              show(done, true);
              show(removeButton, true);
            } else if (answered.status === 400 && answer && answer.error) {
              input.value = "";  // refused: it is not sent with the form either
              say(answer.error);  // announced (role=alert) without taking the focus from typing
            } else {
              // The server could not check it now: the file stays chosen and goes with the form.
              say((answer && answer.error) || form.getAttribute("data-stage-later"));
            }
          }, function () {
            finished();
            release();
            say(form.getAttribute("data-stage-later"));
          });
          xhr.upload.addEventListener("progress", function (event) {
            if (event.lengthComputable) { progress(Math.round((event.loaded / event.total) * 100)); }
          });
        });
      });

      if (removeButton) {
        removeButton.addEventListener("click", function () {
          var forget = function () {
            staged.value = "";
            removeUrl = "";
            show(done, false);
            show(picker, true);
            input.focus();
          };
          if (!removeUrl) { forget(); return; }
          // Gone from the form at once; the staging area forgets it too (or the reaper does).
          post(removeUrl, new FormData(), forget, forget);
        });
      }
    });

    // Send waits for the files still being checked, then goes by itself (capture: before
    // the other handlers, which run when it does).
    form.addEventListener("submit", function (event) {
      if (pending === 0) { return; }
      event.preventDefault();
      event.stopImmediatePropagation();
      held = event.submitter || form.querySelector("[type=submit]");
      if (waiting) {
        waiting.textContent = form.getAttribute("data-stage-busy");
        show(waiting, true);
      }
    }, true);
  });
})();
