// Upload with a progress bar: the same form posted by XMLHttpRequest so the browser reports bytes
// sent. Without JavaScript the form posts normally and the server redirects to the playlist page.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData) return;
  var field = document.getElementById("upload-progress-field");
  var bar = document.getElementById("upload-progress");
  var text = document.getElementById("upload-progress-text");
  var errorBox = document.getElementById("upload-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorBox.hidden = true;
    field.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      text.textContent = percent + " % uploaded";
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = {}; }
      if (xhr.status >= 200 && xhr.status < 300 && body.redirect) {
        text.textContent = "Uploaded. Starting the import…";
        window.location.assign(body.redirect);
        return;
      }
      errorBox.textContent = body.error || "The upload failed (HTTP " + xhr.status + "). Try again.";
      errorBox.hidden = false;
      button.disabled = false;
    });
    xhr.addEventListener("error", function () {
      errorBox.textContent = "The connection broke during the upload. Try again.";
      errorBox.hidden = false;
      button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
});
