// The widget manager (@jupyter-widgets/html-manager's embed-amd.js: 3.5 MB, 0.9 MB
// gzipped, with RequireJS) draws the page's widgets with no kernel. myst-nb adds this
// file only to pages with widgets (nb_ipywidgets_js in _config.yml), and it fetches the
// manager only when a widget comes near the viewport, so that the manager neither blocks
// the page's first paint nor weighs on a reader who never scrolls to a widget.
(function () {
  var vendor = new URL("../vendor/", document.currentScript.src).href;
  var started = false;

  function script(src) {
    return new Promise(function (resolve, reject) {
      var element = document.createElement("script");
      element.src = src;
      element.onload = resolve;
      element.onerror = function () {
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(element);
    });
  }

  function load() {
    if (started) return;
    started = true;
    // On a page with math, MathJax first: the manager typesets through it (see mathjax-loader.js).
    var mathjax = window.courseMathJax ? window.courseMathJax.load() : Promise.resolve();
    mathjax
      .then(function () {
        return script(vendor + "requirejs-2.3.8/require.js");
      })
      .then(function () {
        // Each module bundled in embed-amd.js finds its icon fonts next to the URL RequireJS
        // gives the module's name; by default that is relative to the page (and a 404).
        var dist = vendor + "html-manager-1.0.15/dist/";
        var paths = { "@jupyter-widgets/html-manager/dist": dist.slice(0, -1) };
        ["base", "base7", "controls", "controls7", "output", "html-manager"].forEach(function (name) {
          paths["@jupyter-widgets/" + name] = dist + name;
        });
        window.requirejs.config({ paths: paths });
        return script(vendor + "html-manager-1.0.15/dist/embed-amd.js");
      })
      .catch(function (error) {
        console.error(error);
      });
  }

  var views = document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']");
  var places = Array.prototype.map.call(views, function (view) { return view.parentElement; });
  if (!places.length || !("IntersectionObserver" in window)) {
    load();
    return;
  }
  var observer = new IntersectionObserver(
    function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) {
        observer.disconnect();
        load();
      }
    },
    { rootMargin: "100% 0px" }
  );
  places.forEach(function (place) { observer.observe(place); });
})();
