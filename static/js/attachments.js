// Upload progress for the Files card of record pages (app/attachments): htmx reports the
// request's upload progress; the form's status line shows it as text.
(function () {
  if (window.odexAttachmentsWired) return;
  window.odexAttachmentsWired = true;
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload-progress]");
    var detail = event.detail || {};
    if (!form || !detail.lengthComputable || !detail.total) return;
    var status = form.querySelector(".upload-progress");
    if (!status) return;
    var percent = Math.round((detail.loaded * 100) / detail.total);
    status.textContent = percent < 100
      ? "Uploading… " + percent + "%"
      : "Uploaded; checking and encrypting the file…";
  });
})();
