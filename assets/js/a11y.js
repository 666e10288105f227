// Two accessibility repairs of markup the course does not write itself.
(function () {
  // docutils marks the citation list role="list", but its children are
  // doc-biblioentry elements, not list items; the role only misleads screen readers.
  function fixCitations() {
    document.querySelectorAll(".citation-list[role='list']").forEach(function (el) {
      el.removeAttribute("role");
    });
  }
  // ipywidgets' slider handle has no accessible name: give it the slider's label.
  function nameSliderHandles() {
    document.querySelectorAll(".widget-slider").forEach(function (slider) {
      var label = slider.querySelector(".widget-label");
      var handle = slider.querySelector(".noUi-handle");
      if (handle && !handle.getAttribute("aria-label")) {
        handle.setAttribute("aria-label", (label && label.textContent.trim()) || "slider");
      }
    });
  }
  function run() {
    fixCitations();
    nameSliderHandles();
  }
  document.addEventListener("DOMContentLoaded", function () {
    run();
    // Widgets render after the page has loaded.
    if (document.querySelector("script[type='application/vnd.jupyter.widget-state+json']")) {
      new MutationObserver(nameSliderHandles).observe(document.body, { childList: true, subtree: true });
    }
  });
})();
