// MathJax (tex-chtml.js: 1.1 MB, 260 kB gzipped, and its fonts) is fetched only when a
// formula comes near the viewport: most formulas are far down their page, and a reader
// who never scrolls to one never pays for it. Sphinx adds this file, in MathJax's place
// (mathjax_path in _config.yml), only to pages with math.
(function () {
  var source = new URL("../vendor/mathjax-3.2.2/es5/tex-chtml.js", document.currentScript.src).href;
  var loading = null;

  // The widget manager typesets with the MathJax 2 API (MathJax.Hub.Queue); give it that
  // one call on top of MathJax 3, or it throws while rendering the widgets.
  function addVersion2Typeset() {
    var mathjax = window.MathJax;
    if (mathjax && mathjax.typesetPromise && !mathjax.Hub) {
      mathjax.Hub = {
        Queue: function (command) {
          var element = command && command[2];
          return mathjax.typesetPromise(element ? [element] : undefined);
        },
      };
    }
  }

  function load() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = source;
        script.async = true;
        script.onload = function () {
          addVersion2Typeset();
          resolve(window.MathJax);
        };
        script.onerror = function () {
          reject(new Error("MathJax could not be loaded from " + source));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  }
  window.courseMathJax = { load: load };

  var formulas = document.querySelectorAll(".math, mjx-container");
  if (!formulas.length || !("IntersectionObserver" in window)) {
    load();
    return;
  }
  // A screen ahead: typeset before the reader gets there.
  var observer = new IntersectionObserver(
    function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) {
        observer.disconnect();
        load();
      }
    },
    { rootMargin: "100% 0px" }
  );
  formulas.forEach(function (formula) { observer.observe(formula); });
  window.addEventListener("beforeprint", load);
})();
