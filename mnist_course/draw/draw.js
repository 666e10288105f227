/*
 * "Draw a digit": classify a drawing in the browser with the course's trained
 * dense models. No libraries: the weights are JSON elements in the page
 * (<script type="application/json" id="mnist-draw-model-NAME">), written when
 * the book was built. On the static site the build moves them to scripts of their
 * own (the element keeps their address in data-src), loaded when a reader
 * first draws or reaches the pad, so the page itself stays light; in a live
 * notebook they stay in the output. The point where the preprocessing puts a
 * drawing's centre of mass is a JSON element too (id="mnist-draw-preprocessing"): MNIST's own
 * digits' average, measured from the training images
 * (mnist_course.export.centring_target).
 *
 * mnist_course/export.py holds a NumPy copy of preprocess() and forward(); the
 * tests check that both, and Keras, agree.
 *
 * The page is the output of a code cell of book/draw_a_digit.ipynb
 * (mnist_course.export.DrawingPad): this script, the widget's markup
 * (widget.html), its style (draw.css) and the weights come in one HTML output,
 * so the same drawing pad works on the static site and in a live notebook
 * (JupyterLab runs the scripts of the outputs a cell makes).
 *
 * Everything is exposed on window.mnistDraw so the tests (and curious readers,
 * in the browser console) can call the same functions the page uses.
 */
(function () {
  "use strict";

  var SIZE = 28; // the model's input is 28 x 28 grey values in [0, 1]
  var BOX = 20; // MNIST's digits were scaled to fit a 20 x 20 box
  var CANVAS = 280; // drawing resolution (CSS may show it smaller or larger)
  var PENS = { thin: 10, medium: 20, thick: 32 }; // stroke widths on the 280-pixel canvas

  /* ---------------------------------------------------------------- preprocessing */

  function roundHalfUp(v) {
    return Math.floor(v + 0.5);
  }

  // Target pixel t averages the source span [t, t + 1) * nSource / nTarget.
  function areaWeights(nSource, nTarget) {
    var step = nSource / nTarget;
    var rows = [];
    for (var t = 0; t < nTarget; t++) {
      var lo = t * step, hi = (t + 1) * step;
      var row = [];
      for (var s = Math.floor(lo); s < Math.min(nSource, Math.ceil(hi)); s++) {
        var overlap = Math.min(hi, s + 1) - Math.max(lo, s);
        if (overlap > 0) row.push([s, overlap / step]);
      }
      rows.push(row);
    }
    return rows;
  }

  var settings = null;

  // [row, column] where MNIST's digits have their centre of mass, from the page's JSON.
  function pageCentre() {
    if (!settings) {
      var element = document.getElementById("mnist-draw-preprocessing");
      if (!element) throw new Error("this page holds no preprocessing settings");
      settings = JSON.parse(element.textContent);
    }
    return settings.centre;
  }

  /*
   * ink: grey values in [0, 1], row after row, width x height.
   * Returns a Float64Array of 784 values (the model's input), or null for a blank drawing.
   * The steps of MNIST's preprocessing: crop to the strokes, scale the longer
   * side to 20 pixels keeping the aspect ratio (averaging, so edges turn grey),
   * then move the centre of mass, by whole pixels, as near as it goes to
   * centre ([row, column] in the 28 x 28 image; the page's own if not given).
   */
  function preprocess(ink, width, height, centre) {
    var x0 = width, x1 = -1, y0 = height, y1 = -1, x, y;
    for (y = 0; y < height; y++) {
      for (x = 0; x < width; x++) {
        if (ink[y * width + x] > 0) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) return null;
    centre = centre || pageCentre();
    var w = x1 - x0 + 1, h = y1 - y0 + 1;
    var scale = BOX / Math.max(w, h);
    var th = Math.max(1, roundHalfUp(h * scale));
    var tw = Math.max(1, roundHalfUp(w * scale));
    var wy = areaWeights(h, th), wx = areaWeights(w, tw);
    // Columns first: (h x w) -> (h x tw), then rows: -> (th x tw).
    var narrow = new Float64Array(h * tw);
    for (y = 0; y < h; y++) {
      var base = (y + y0) * width + x0;
      for (var c = 0; c < tw; c++) {
        var sum = 0;
        for (var k = 0; k < wx[c].length; k++) {
          var v = ink[base + wx[c][k][0]];
          sum += (v > 1 ? 1 : v < 0 ? 0 : v) * wx[c][k][1];
        }
        narrow[y * tw + c] = sum;
      }
    }
    var small = new Float64Array(th * tw);
    var total = 0, sy = 0, sx = 0;
    for (var r = 0; r < th; r++) {
      for (c = 0; c < tw; c++) {
        var s2 = 0;
        for (k = 0; k < wy[r].length; k++) s2 += narrow[wy[r][k][0] * tw + c] * wy[r][k][1];
        small[r * tw + c] = s2;
        total += s2;
        sy += r * s2;
        sx += c * s2;
      }
    }
    // Pixel centres run 0..27: the geometric centre is 13.5, but MNIST's digits have
    // their centre of mass near 14.0, which is where centre puts it.
    var oy = roundHalfUp(centre[0] - sy / total), ox = roundHalfUp(centre[1] - sx / total);
    var image = new Float64Array(SIZE * SIZE);
    for (r = 0; r < th; r++) {
      if (r + oy < 0 || r + oy >= SIZE) continue;
      for (c = 0; c < tw; c++) {
        if (c + ox < 0 || c + ox >= SIZE) continue;
        image[(r + oy) * SIZE + c + ox] = Math.min(1, Math.max(0, small[r * tw + c]));
      }
    }
    return image;
  }

  // Move a 28 x 28 input by whole pixels (what the model would see had MNIST not centred it).
  function shift(image, dx, dy) {
    var out = new Float64Array(SIZE * SIZE);
    for (var y = 0; y < SIZE; y++) {
      var sy = y - dy;
      if (sy < 0 || sy >= SIZE) continue;
      for (var x = 0; x < SIZE; x++) {
        var sx = x - dx;
        if (sx >= 0 && sx < SIZE) out[y * SIZE + x] = image[sy * SIZE + sx];
      }
    }
    return out;
  }

  /* ---------------------------------------------------------------- the network */

  var ACTIVATIONS = {
    relu: function (z) { return z > 0 ? z : 0; },
    sigmoid: function (z) { return 1 / (1 + Math.exp(-z)); },
    linear: function (z) { return z; },
  };

  function softmax(z) {
    var max = -Infinity, i, sum = 0, out = new Float64Array(z.length);
    for (i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
    for (i = 0; i < z.length; i++) sum += (out[i] = Math.exp(z[i] - max));
    for (i = 0; i < z.length; i++) out[i] /= sum;
    return out;
  }

  // One Dense layer: z = x . kernel + bias (kernel row-major, inputs x units), then its activation.
  function dense(layer, x) {
    var units = layer.units, kernel = layer.kernel;
    var z = new Float64Array(units);
    for (var j = 0; j < units; j++) z[j] = layer.bias[j];
    for (var i = 0; i < layer.inputs; i++) {
      var xi = x[i];
      if (xi === 0) continue; // most pixels are background
      var row = i * units;
      for (j = 0; j < units; j++) z[j] += xi * kernel[row + j];
    }
    if (layer.activation === "softmax") return softmax(z);
    var f = ACTIVATIONS[layer.activation];
    if (!f) throw new Error("unknown activation " + layer.activation);
    for (j = 0; j < units; j++) z[j] = f(z[j]);
    return z;
  }

  /*
   * The model's outputs for one input (784 values): what Keras' predict() gives,
   * and the probabilities the page shows. Ten sigmoid outputs do not sum to 1.
   * Under sparse categorical cross-entropy Keras trains a sigmoid (or softmax)
   * output layer from its sums z, with a softmax, so the page shows softmax(z).
   */
  function forward(model, x) {
    var a = x, n = model.layers.length;
    for (var l = 0; l < n - 1; l++) a = dense(model.layers[l], a);
    var last = model.layers[n - 1];
    var outputs = Array.prototype.slice.call(dense(last, a));
    var sums = dense({ units: last.units, inputs: last.inputs, kernel: last.kernel, bias: last.bias, activation: "linear" }, a);
    var probabilities = Array.prototype.slice.call(softmax(sums));
    var best = 0;
    for (var i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
    return { outputs: outputs, probabilities: probabilities, prediction: best };
  }

  var models = {}; // name -> the parsed model
  var loading = {}; // name -> the promise of it

  // The model NAME if it is in the page or fetched already, else null (see loadModel).
  function model(name) {
    if (!models[name]) {
      var element = document.getElementById("mnist-draw-model-" + name);
      if (!element) throw new Error("this page holds no model named " + name);
      if (element.hasAttribute("data-src")) return null;
      models[name] = JSON.parse(element.textContent);
    }
    return models[name];
  }

  // A promise of the model NAME: from the page, or loaded once from its data-src, a script
  // that hands the weights to mnistDraw.receive (a script, not fetch(): it loads from a site
  // opened from disk too).
  function loadModel(name) {
    if (!loading[name]) {
      loading[name] = new Promise(function (resolve, reject) {
        var found = model(name);
        if (found) return resolve(found);
        var script = document.createElement("script");
        script.src = document.getElementById("mnist-draw-model-" + name).getAttribute("data-src");
        script.onload = function () {
          if (models[name]) resolve(models[name]);
          else reject(new Error("the weights' file holds no model " + name));
        };
        script.onerror = function () { reject(new Error("the weights did not load")); };
        document.head.appendChild(script);
      });
      loading[name].catch(function () { delete loading[name]; }); // a later attempt tries again
    }
    return loading[name];
  }

  // Called by a weights file (see loadModel).
  function receive(name, weights) {
    models[name] = weights;
  }

  // Many inputs at once (each 784 values): a promise of [{outputs, probabilities, prediction}, ...].
  function predictMany(name, inputs) {
    return loadModel(name).then(function (m) {
      return inputs.map(function (x) { return forward(m, x); });
    });
  }

  /* ---------------------------------------------------------------- the widget */

  function cssColor(element, property) {
    return getComputedStyle(element).getPropertyValue(property).trim();
  }

  function parseRgb(color) {
    var m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/.exec(color);
    return m ? [+m[1], +m[2], +m[3]] : [0, 0, 0];
  }

  function Widget(root) {
    this.root = root;
    this.canvas = root.querySelector(".mnist-draw-canvas");
    this.view = root.querySelector(".mnist-draw-input");
    this.bars = root.querySelector(".mnist-draw-bars");
    this.verdict = root.querySelector(".mnist-draw-verdict");
    this.status = root.querySelector(".mnist-draw-status");
    this.modelInputs = root.querySelectorAll('input[name$="-model"]');
    this.penSelect = root.querySelector(".mnist-draw-pen");
    this.strokes = [];
    this.active = null;
    this.offset = [0, 0];
    this.input = null;
    this.result = null;
    this.pending = false;
    this.canvas.width = this.canvas.height = CANVAS;
    this.view.width = this.view.height = SIZE;
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.buildBars();
    this.bind();
    this.redraw();
    this.update(true);
  }

  Widget.prototype.buildBars = function () {
    this.bars.textContent = "";
    this.barCells = [];
    for (var d = 0; d < 10; d++) {
      var item = document.createElement("li");
      item.className = "mnist-draw-bar";
      item.innerHTML =
        '<span class="mnist-draw-bar-digit">' + d + "</span>" +
        '<span class="mnist-draw-bar-track"><span class="mnist-draw-bar-fill"></span></span>' +
        '<span class="mnist-draw-bar-value"></span>';
      this.bars.appendChild(item);
      this.barCells.push({
        item: item,
        value: item.querySelector(".mnist-draw-bar-value"),
        fill: item.querySelector(".mnist-draw-bar-fill"),
      });
    }
  };

  Widget.prototype.bind = function () {
    var self = this, canvas = this.canvas;
    // Weights not in the page: fetch them as the reader reaches the pad, before the first stroke ends.
    function prefetch() { loadModel(self.modelName()).catch(function () { /* update() says why */ }); }
    this.root.addEventListener("pointerenter", prefetch);
    this.root.addEventListener("focusin", prefetch);
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return [((event.clientX - box.left) / box.width) * CANVAS, ((event.clientY - box.top) / box.height) * CANVAS];
    }
    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) return;
      event.preventDefault();
      if (canvas.setPointerCapture) {
        try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic events */ }
      }
      self.active = { width: PENS[self.penSelect.value] || PENS.medium, points: [point(event)] };
      self.strokes.push(self.active);
      self.redraw();
      self.schedule();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!self.active) return;
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) events = [event];
      for (var i = 0; i < events.length; i++) self.active.points.push(point(events[i]));
      self.redraw();
      self.schedule();
    });
    function end() {
      if (!self.active) return;
      self.active = null;
      self.update(true);
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);

    this.root.querySelector(".mnist-draw-clear").addEventListener("click", function () { self.clear(); });
    this.root.querySelector(".mnist-draw-undo").addEventListener("click", function () {
      self.strokes.pop();
      self.redraw();
      self.update(true);
    });
    for (var m = 0; m < this.modelInputs.length; m++) {
      this.modelInputs[m].addEventListener("change", function () { self.update(true); });
    }
    var shifts = this.root.querySelectorAll("[data-shift]");
    for (var i = 0; i < shifts.length; i++) {
      shifts[i].addEventListener("click", function () {
        var move = this.getAttribute("data-shift");
        if (move === "reset") self.offset = [0, 0];
        else {
          var d = move.split(",");
          self.offset = [self.offset[0] + +d[0], self.offset[1] + +d[1]];
        }
        self.update(true);
      });
    }
    // Redraw in the new colours when the reader switches between light and dark mode.
    if (window.MutationObserver) {
      new MutationObserver(function () { self.redraw(); self.update(false); }).observe(document.documentElement, {
        attributes: true,
        attributeFilter: ["data-theme", "data-mode", "class"],
      });
    }
  };

  // The model chosen with the radio buttons ("single" unless another is checked).
  Widget.prototype.modelName = function () {
    for (var i = 0; i < this.modelInputs.length; i++) if (this.modelInputs[i].checked) return this.modelInputs[i].value;
    return "single";
  };

  // Choose a model by name, as the radio buttons do.
  Widget.prototype.useModel = function (name) {
    for (var i = 0; i < this.modelInputs.length; i++) this.modelInputs[i].checked = this.modelInputs[i].value === name;
    this.update(true);
  };

  Widget.prototype.clear = function () {
    this.strokes = [];
    this.active = null;
    this.offset = [0, 0];
    this.redraw();
    this.update(true);
  };

  Widget.prototype.redraw = function () {
    var ctx = this.ctx;
    ctx.clearRect(0, 0, CANVAS, CANVAS);
    ctx.strokeStyle = ctx.fillStyle = cssColor(this.canvas, "color") || "#000";
    ctx.lineCap = ctx.lineJoin = "round";
    for (var s = 0; s < this.strokes.length; s++) {
      var stroke = this.strokes[s], p = stroke.points;
      ctx.lineWidth = stroke.width;
      if (p.length === 1) {
        ctx.beginPath();
        ctx.arc(p[0][0], p[0][1], stroke.width / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(p[0][0], p[0][1]);
      for (var i = 1; i < p.length; i++) ctx.lineTo(p[i][0], p[i][1]);
      ctx.stroke();
    }
  };

  // The ink of the drawing: the canvas' opacity, whatever colour the theme gives the strokes.
  Widget.prototype.ink = function () {
    var data = this.ctx.getImageData(0, 0, CANVAS, CANVAS).data;
    var ink = new Float64Array(CANVAS * CANVAS);
    for (var i = 0; i < ink.length; i++) ink[i] = data[i * 4 + 3] / 255;
    return ink;
  };

  Widget.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = true;
    var self = this;
    (window.requestAnimationFrame || setTimeout)(function () {
      self.pending = false;
      self.update(false);
    });
  };

  Widget.prototype.update = function (announce) {
    var input = null, name = this.modelName(), result = null, self = this;
    try {
      input = preprocess(this.ink(), CANVAS, CANVAS);
      if (input && (this.offset[0] || this.offset[1])) input = shift(input, this.offset[0], this.offset[1]);
      var weights = input ? model(name) : null;
      if (input && !weights) {
        // Not loaded yet: show the input, say so, and read the drawing again when the weights
        // are here (one wait per widget, however many frames of a stroke ask meanwhile; after
        // a failure, only the end of a stroke or a button tries again, not every frame).
        this.showInput(input);
        if (this.awaiting === name || (this.failedToLoad === name && !announce)) return;
        this.awaiting = name;
        this.failedToLoad = null;
        this.status.textContent = "Loading the model\u2019s weights\u2026";
        loadModel(name).then(function () {
          self.awaiting = null;
          self.status.textContent = "";
          self.update(true);
        }, function (error) {
          self.awaiting = null;
          self.failedToLoad = name;
          if (self.modelName() !== name) return; // the reader chose the other model meanwhile
          self.status.textContent = "The page could not load the model: " + error.message + ". Draw again to retry.";
        });
        return;
      }
      if (this.awaiting || this.failedToLoad) {
        // A result, or nothing drawn: no "could not load" under the pad any more (a load still
        // under way keeps its message and reads the drawing when it ends).
        if (!this.awaiting) this.status.textContent = "";
        this.failedToLoad = null;
      }
      result = input ? forward(weights, input) : null;
    } catch (error) {
      this.status.textContent = "The page could not read the drawing: " + error.message;
    }
    this.input = input;
    this.result = result;
    this.root.setAttribute("data-model", name);
    this.root.setAttribute("data-prediction", result ? String(result.prediction) : "");
    this.showInput(input);
    this.showBars(result);
    var moved = describeOffset(this.offset);
    this.root.querySelector(".mnist-draw-offset").textContent = moved ? "Moved " + moved : "Centred";
    if (announce) {
      this.verdict.textContent = result
        ? "The model reads " + result.prediction + " (" + Math.round(result.probabilities[result.prediction] * 100) + "\u202f%)" +
          (moved ? ", with the input moved " + moved : "") + "."
        : "Draw a digit in the box.";
    }
  };

  Widget.prototype.showInput = function (input) {
    var ctx = this.view.getContext("2d");
    var paper = parseRgb(cssColor(this.view, "background-color"));
    var ink = parseRgb(cssColor(this.view, "color"));
    var image = ctx.createImageData(SIZE, SIZE);
    for (var i = 0; i < SIZE * SIZE; i++) {
      var v = input ? input[i] : 0;
      for (var c = 0; c < 3; c++) image.data[i * 4 + c] = Math.round(paper[c] + (ink[c] - paper[c]) * v);
      image.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  };

  Widget.prototype.showBars = function (result) {
    for (var d = 0; d < 10; d++) {
      var p = result ? result.probabilities[d] : 0;
      var cell = this.barCells[d];
      cell.fill.style.width = (p * 100).toFixed(1) + "%";
      cell.value.textContent = result ? Math.round(p * 100) + "\u202f%" : "";
      cell.item.classList.toggle("mnist-draw-best", !!result && d === result.prediction);
      cell.item.setAttribute("aria-label", "digit " + d + ": " + (result ? (p * 100).toFixed(1) + " %" : "no drawing"));
    }
  };

  // "2 px right, 1 px up", or "" when the input is where the preprocessing put it.
  function describeOffset(offset) {
    var parts = [];
    if (offset[0]) parts.push(Math.abs(offset[0]) + " px " + (offset[0] > 0 ? "right" : "left"));
    if (offset[1]) parts.push(Math.abs(offset[1]) + " px " + (offset[1] > 0 ? "down" : "up"));
    return parts.join(", ");
  }

  var widgets = [];

  function init() {
    var roots = document.querySelectorAll(".mnist-draw:not([data-ready])");
    for (var i = 0; i < roots.length; i++) {
      roots[i].setAttribute("data-ready", "");
      widgets.push(new Widget(roots[i]));
    }
  }

  window.mnistDraw = {
    SIZE: SIZE,
    CANVAS: CANVAS,
    preprocess: preprocess,
    centre: pageCentre,
    shift: shift,
    forward: forward,
    model: model,
    loadModel: loadModel,
    receive: receive,
    predictMany: predictMany,
    widgets: widgets,
    init: init,
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
