// Endpoint and analysis-job pages: a byte counter for real-time text, model choices by job type.
(function () {
  "use strict";

  // Real-time analysis takes at most 10,000 bytes of UTF-8: count bytes, not characters.
  const encoder = new TextEncoder();
  document.querySelectorAll("[data-byte-count-for]").forEach(function (counter) {
    const area = document.getElementById(counter.getAttribute("data-byte-count-for"));
    if (!area) return;
    const limit = parseInt(area.getAttribute("data-byte-limit") || "10000", 10);
    const update = function () {
      const used = encoder.encode(area.value).length;
      counter.textContent = used.toLocaleString() + " of " + limit.toLocaleString() + " bytes";
      counter.classList.toggle("field-error", used > limit);
    };
    area.addEventListener("input", update);
    update();
  });

  // A job runs a classifier or a recognizer: offer only the versions of the chosen type.
  document.querySelectorAll("form[data-job-form]").forEach(function (form) {
    const select = form.querySelector("select[name=model_arn]");
    if (!select) return;
    const groups = {
      classification: "document-classifier/",
      entities: "entity-recognizer/",
    };
    const apply = function () {
      const chosen = form.querySelector("input[name=kind]:checked");
      const wanted = chosen ? groups[chosen.value] : null;
      Array.from(select.options).forEach(function (option) {
        if (!option.value) return;
        const fits = !wanted || option.value.indexOf(":" + wanted) !== -1;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) select.value = "";
      });
      Array.from(select.querySelectorAll("optgroup")).forEach(function (group) {
        group.hidden = !Array.from(group.children).some((o) => !o.hidden);
      });
    };
    form.querySelectorAll("input[name=kind]").forEach((radio) => radio.addEventListener("change", apply));
    apply();
  });
})();
