// Draws the page's saved widgets (ipywidgets 8 state, embedded by myst-nb) with no kernel.
//
// The course's widgets use a handful of models: boxes, stacks, HTML, a dropdown, an integer
// slider, a button, a progress bar, and jslink links between them. For those this file draws
// plain HTML controls itself (a <select>, an <input type=range>) and follows the links in a
// few lines: the full widget manager (@jupyter-widgets/html-manager's embed-amd.js, 3.5 MB,
// 0.9 MB gzipped, with RequireJS) took seconds of a phone's main thread. A page whose widgets
// use any other model gets that manager, fetched when a widget comes near the viewport.
// myst-nb adds this file only to pages with widgets (nb_ipywidgets_js in _config.yml).
(function () {
  var vendor = new URL("../vendor/", document.currentScript.src).href;
  var CONTROLS = {
    BoxModel: true, HBoxModel: true, VBoxModel: true, StackModel: true, HTMLModel: true,
    DropdownModel: true, IntSliderModel: true, ButtonModel: true, IntProgressModel: true, LinkModel: true,
  };

  function savedState() {
    var script = document.querySelector("script[type='application/vnd.jupyter.widget-state+json']");
    if (!script) return null;
    try {
      return JSON.parse(script.textContent).state;
    } catch (error) {
      console.error("widgets: the saved widget state is not valid JSON", error);
      return null;
    }
  }

  // Models a small drawer can draw: the controls above, their layouts and styles.
  function drawable(models) {
    return Object.keys(models).every(function (id) {
      var name = models[id].model_name;
      return CONTROLS[name] || name === "LayoutModel" || /StyleModel$/.test(name);
    });
  }

  function idOf(reference) {
    return typeof reference === "string" ? reference.replace(/^IPY_MODEL_/, "") : null;
  }

  // ---- the small drawer -------------------------------------------------------------------
  function drawWithoutManager(models, views) {
    var listeners = {};
    var serial = 0;

    function state(id) {
      return models[id].state;
    }
    function listen(id, attribute, callback) {
      (listeners[id + " " + attribute] = listeners[id + " " + attribute] || []).push(callback);
    }
    function set(id, attribute, value) {
      if (state(id)[attribute] === value) return;
      state(id)[attribute] = value;
      (listeners[id + " " + attribute] || []).forEach(function (callback) { callback(value); });
    }

    // jslink: the two attributes follow each other both ways.
    Object.keys(models).forEach(function (id) {
      if (models[id].model_name !== "LinkModel") return;
      var source = state(id).source, target = state(id).target;
      var a = idOf(source && source[0]), b = idOf(target && target[0]);
      if (!models[a] || !models[b]) throw new Error("a link to a widget the page did not save");
      listen(a, source[1], function (value) { set(b, target[1], value); });
      listen(b, target[1], function (value) { set(a, source[1], value); });
      state(b)[target[1]] = state(a)[source[1]];
    });

    function applyLayout(element, id) {
      var layout = models[idOf(state(id).layout)];
      if (!layout) return;
      ["width", "height", "visibility", "display", "margin", "padding", "flex"].forEach(function (key) {
        if (layout.state[key] != null) element.style[key] = layout.state[key];
      });
    }

    function labelled(id, control, className) {
      var wrapper = document.createElement("div");
      wrapper.className = "lite-widget " + className;
      var description = state(id).description;
      if (description) {
        var label = document.createElement("label");
        label.textContent = description;
        label.htmlFor = control.id = "lite-widget-" + ++serial;
        wrapper.appendChild(label);
      }
      wrapper.appendChild(control);
      return wrapper;
    }

    var draw = {
      BoxModel: box, HBoxModel: box, VBoxModel: box,
      HTMLModel: function (id) {
        var element = document.createElement("div");
        element.className = "lite-widget lite-html";
        element.innerHTML = state(id).value;  // the page's own saved output
        listen(id, "value", function (value) { element.innerHTML = value; });
        return element;
      },
      StackModel: function (id) {
        // Only the chosen child is drawn, each the first time it is chosen.
        var element = document.createElement("div");
        element.className = "lite-widget lite-stack";
        var children = state(id).children.map(idOf), drawn = {};
        function show(index) {
          Object.keys(drawn).forEach(function (i) { drawn[i].hidden = Number(i) !== index; });
          if (index == null || index < 0 || index >= children.length || drawn[index]) return;
          drawn[index] = view(children[index]);
          element.appendChild(drawn[index]);
        }
        show(state(id).selected_index);
        listen(id, "selected_index", show);
        return element;
      },
      DropdownModel: function (id) {
        var select = document.createElement("select");
        state(id)._options_labels.forEach(function (text, index) {
          select.appendChild(new Option(text, String(index)));
        });
        // Nothing chosen (index null) shows as nothing chosen, so that choosing any option is a change.
        function showIndex(index) { select.selectedIndex = index == null ? -1 : index; }
        showIndex(state(id).index);
        select.addEventListener("change", function () { set(id, "index", select.selectedIndex); });
        listen(id, "index", showIndex);
        return labelled(id, select, "lite-dropdown");
      },
      IntSliderModel: function (id) {
        var s = state(id);
        var input = document.createElement("input");
        input.type = "range";
        input.min = s.min;
        input.max = s.max;
        input.step = s.step || 1;
        input.value = s.value;
        var readout = document.createElement("output");
        readout.className = "lite-readout";
        readout.setAttribute("aria-hidden", "true");  // the slider itself tells a screen reader its value
        readout.textContent = s.value;
        input.addEventListener("input", function () { set(id, "value", Number(input.value)); });
        listen(id, "value", function (value) {
          input.value = value;
          readout.textContent = value;
        });
        var element = labelled(id, input, "lite-slider");
        readout.htmlFor = input.id;
        element.appendChild(readout);
        return element;
      },
      ButtonModel: function (id) {
        // A button runs Python in a kernel: a page has none, so it is shown, not pressed.
        var button = document.createElement("button");
        button.type = "button";
        button.className = "lite-widget lite-button";
        button.textContent = state(id).description;
        button.disabled = true;
        if (state(id).tooltip) button.title = state(id).tooltip;
        return button;
      },
      IntProgressModel: function (id) {
        var progress = document.createElement("progress");
        progress.max = state(id).max;
        progress.value = state(id).value;
        progress.setAttribute("aria-label", state(id).description || "progress");
        return labelled(id, progress, "lite-progress");
      },
    };

    function box(id) {
      var element = document.createElement("div");
      var name = models[id].model_name;
      element.className = "lite-widget lite-box" + (name === "HBoxModel" ? " lite-hbox" : name === "VBoxModel" ? " lite-vbox" : "");
      state(id).children.forEach(function (child) { element.appendChild(view(idOf(child))); });
      return element;
    }

    function view(id) {
      var element = draw[models[id].model_name](id);
      applyLayout(element, id);
      return element;
    }

    var areas = views.map(function (script) {
      var id = JSON.parse(script.textContent).model_id;
      if (!models[id]) throw new Error("a widget view of a model the page did not save");
      var area = document.createElement("div");
      area.className = "widget-subarea lite-widgets";  // the theme draws it as a panel in dark mode
      area.appendChild(view(id));
      return [script, area];
    });
    // Shown only once every view is drawn: a state this drawer cannot follow falls back whole.
    areas.forEach(function (pair) { pair[0].parentElement.insertBefore(pair[1], pair[0].nextSibling); });
  }

  // ---- the full widget manager, for other models ---------------------------------------------
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

  var started = false;
  function loadManager() {
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

  var views = Array.prototype.slice.call(document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']"));
  var models = savedState();
  if (models && drawable(models)) {
    try {
      drawWithoutManager(models, views);
      return;
    } catch (error) {
      console.warn("widgets: drawing them without the widget manager failed, loading it", error);
    }
  }
  var places = views.map(function (view) { return view.parentElement; });
  if (!places.length || !("IntersectionObserver" in window)) {
    loadManager();
    return;
  }
  var observer = new IntersectionObserver(
    function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) {
        observer.disconnect();
        loadManager();
      }
    },
    { rootMargin: "100% 0px" }
  );
  places.forEach(function (place) { observer.observe(place); });
})();
