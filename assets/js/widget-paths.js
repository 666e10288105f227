// Tell RequireJS where the vendored widget manager lives. embed-amd.js finds its
// icon fonts next to the URL RequireJS reports for its module; by default that is
// "@jupyter-widgets/html-manager/dist/" relative to the page, which does not exist.
(function () {
  var vendor = new URL("../vendor/", document.currentScript.src).href;
  window.requirejs.config({
    paths: { "@jupyter-widgets/html-manager/dist": vendor + "html-manager-1.0.15/dist" },
  });
})();
