// Accessibility fixes for widgets Django's admin builds by script, applied as they appear:
// SelectFilter2.js gives a plain <span> an aria-label (ARIA allows it only with a role), and select2's search
// box in a multiple autocomplete has no label at all (it takes the field's own label).
(function () {
  "use strict";

  function labelFor(select) {
    const label = select && select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
  }

  function fix() {
    document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
    // select2's single choice is a combobox named by its rendered text, which is empty until something is chosen:
    // name it by the field's label instead.
    document.querySelectorAll('.select2-selection[role="combobox"]:not([aria-label])').forEach(function (box) {
      const container = box.closest(".select2-container");
      const name = labelFor(container && container.previousElementSibling);
      if (name) {
        box.setAttribute("aria-label", name);
        box.removeAttribute("aria-labelledby");
        const rendered = box.querySelector('.select2-selection__rendered[role="textbox"]');
        if (rendered) rendered.setAttribute("aria-label", name);
      }
    });
    // A tabular inline wider than a phone scrolls inside its group: the keyboard must be able to reach it.
    document.querySelectorAll(".inline-group:not([tabindex])").forEach(function (group) {
      if (group.scrollWidth > group.clientWidth) group.setAttribute("tabindex", "0");
    });
    document.querySelectorAll(".select2-search__field:not([aria-label])").forEach(function (input) {
      const container = input.closest(".select2-container");
      const name = labelFor(container && container.previousElementSibling);
      if (name) input.setAttribute("aria-label", name);
    });
  }

  new MutationObserver(fix).observe(document.documentElement, { childList: true, subtree: true });
  fix();

  // The Exports page while an export runs (templates/admin/society/export/change_list.html).
  const progress = document.querySelector("[data-refresh-seconds]");
  if (progress) {
    window.setTimeout(function () { window.location.reload(); }, 1000 * Number(progress.dataset.refreshSeconds));
  }
})();
