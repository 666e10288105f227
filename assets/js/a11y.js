// Accessibility repairs of markup the course does not write itself.
(function () {
  // docutils marks the citation list role="list", but its children are
  // doc-biblioentry elements, not list items; the role only misleads screen readers.
  function fixCitations() {
    document.querySelectorAll(".citation-list[role='list']").forEach(function (el) {
      el.removeAttribute("role");
    });
    // And doc-biblioentry is a deprecated role (ARIA 1.3), not allowed on a div.
    document.querySelectorAll(".citation[role='doc-biblioentry']").forEach(function (el) {
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
  // The theme's primary sidebar (the book's logo and contents) is a plain div: the logo
  // then lies outside every landmark. Name it as the complementary region it is.
  function markSidebar() {
    var sidebar = document.getElementById("pst-primary-sidebar");
    if (sidebar && !sidebar.getAttribute("role")) {
      sidebar.setAttribute("role", "complementary");
      sidebar.setAttribute("aria-label", "Book contents");
    }
  }
  // The explorer's tables have an empty corner header; a screen reader needs a name for it.
  function nameEmptyHeaders() {
    document.querySelectorAll(".explorer-numbers th:empty").forEach(function (th) {
      var name = document.createElement("span");
      name.className = "visually-hidden";
      name.textContent = "data set";
      th.appendChild(name);
    });
  }
  // On a phone a wide figure or formula scrolls sideways in its box (course.css): a keyboard
  // must reach it too. Only boxes that do scroll become a tab stop, checked again after a resize.
  function focusScrollingBoxes() {
    document.querySelectorAll(".cell_output, div.math").forEach(function (box) {
      if (box.matches(".cell_output") && !box.querySelector(":scope > img, :scope > figure > img")) return;
      if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    });
  }
  function repairWidgets() {
    nameSliderHandles();
    nameEmptyHeaders();
  }
  function run() {
    fixCitations();
    markSidebar();
    repairWidgets();
    focusScrollingBoxes();
  }
  window.addEventListener("load", focusScrollingBoxes);  // once the images have their size
  window.addEventListener("resize", focusScrollingBoxes);
  document.addEventListener("DOMContentLoaded", function () {
    run();
    // Widgets render after the page has loaded.
    if (document.querySelector("script[type='application/vnd.jupyter.widget-state+json']")) {
      new MutationObserver(repairWidgets).observe(document.body, { childList: true, subtree: true });
    }
  });
})();
