// "Download .csv file" for a new access key, as AWS's console offers: the file is built here from
// the key shown once on the page, so the server never has to keep the secret to serve it.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-csv-key-id]");
    if (!button) return;
    const keyId = document.getElementById(button.getAttribute("data-csv-key-id"));
    const secret = document.getElementById(button.getAttribute("data-csv-secret"));
    const status = document.getElementById(button.getAttribute("data-csv-status") || "");
    if (!keyId || !secret) return;
    // AWS's columns; key ids and base64 secrets hold no commas or quotes.
    const csv = "Access key ID,Secret access key\r\n" +
      keyId.textContent.trim() + "," + secret.textContent.trim() + "\r\n";
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = button.getAttribute("data-csv-filename") || "accessKeys.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    if (status) status.textContent = "Downloaded " + link.download + ".";
  });
})();
