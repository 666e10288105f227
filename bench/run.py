"""Benchmark of the course book (issue 7): build times, training throughput, widget latency, page weight.

Run as ``.venv/bin/python -m bench.run`` from the repository's folder (or ``make bench``). Everything is
measured in the same run on the same machine; one table is printed and written
as JSON to ``bench/results/latest.json``. Budgets are checked here and reported
as pass/fail in the table; the exit code is 0 whether budgets pass or fail (a benchmark, not a test),
and 1 only when a measurement itself could not be taken.

``--only seed,build,throughput,widget,weight,lighthouse`` runs a subset (for development;
the JSON then goes to ``bench/results/partial.json``). ``--site DIR`` measures the
widget and page weight on an already built ``_build/html`` instead of the clone's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

if not __package__:
    sys.exit("Run the benchmark from the repository's folder: .venv/bin/python -m bench.run (or make bench)")

from bench import lighthouse
from mnist_course.export import MODEL_ELEMENT_ID
from tools import toc
from tools.browser import Tab, launch, open_page, serve, show_first_widget, visit_and_read
from tools.environment import QUIET_TENSORFLOW, with_defaults

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = Path(os.environ.get("BENCH_VENV", REPO / ".venv")).resolve()
RESULTS = BENCH / "results"
EXPLORER_PAGE = "book/05_explorer.html"

BUDGET_CLEAN_BUILD_X = 8.0  # clean build <= 8 x seed baseline
BUDGET_REBUILD_FRACTION = 0.10  # no-change rebuild <= 10 % of the clean build
BUDGET_WIDGET_P95_MS = 100.0
WIDGET_CHANGES = 30  # per control (dropdown and slider), so 60 in all

PARTS = ("seed", "build", "throughput", "widget", "weight", "lighthouse")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def base_env() -> dict:
    # MNIST comes from where the book takes it: the folder in MNIST_DIR, else Keras' download.
    return with_defaults(QUIET_TENSORFLOW)


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    tf_version = subprocess.run(
        [str(VENV / "bin/python"), "-c", "import tensorflow as tf, keras; print(tf.__version__, keras.__version__)"],
        capture_output=True, text=True, env=base_env(),
    ).stdout.split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "tensorflow": tf_version[0] if tf_version else "?",
        "keras": tf_version[1] if len(tf_version) > 1 else "?",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
    }


# --------------------------------------------------------------------------- seed baseline


def seed_baseline() -> dict:
    log("seed baseline: the original tutorial as a plain script")
    started = time.perf_counter()
    done = subprocess.run([str(VENV / "bin/python"), str(BENCH / "seed_baseline.py")], capture_output=True, text=True, env=base_env(), cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"seed_baseline.py failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "output": done.stdout.strip()}


# --------------------------------------------------------------------------- builds


EXECUTED = re.compile(r"([^\s/]+)\.(?:ipynb|md): Executed notebook in ([0-9.]+) seconds")


EXECUTE_STEP = re.compile(r"execute: (\d+) notebook\(s\), (\d+) at a time, (\d+) thread\(s\) each[\s\S]*execute: done in ([0-9.]+) s")


def build_book(clone: Path, label: str) -> tuple[float, dict]:
    """Seconds of one ``make book``, and the seconds each notebook executed (from its log).

    The log is kept; :func:`execute_step` reads the parallel execution step from it.
    """
    env = base_env()
    env.pop("MNIST_COURSE_CACHE", None)  # the clone's Makefile then sets its own (clone/_build/.training_cache)
    # The venv holds mnist_course as an editable install of the repository; the clone's own copy comes first.
    env["PYTHONPATH"] = str(clone) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # The clone uses the repository's venv as it is: -o keeps make from reinstalling into it.
    command = ["make", "--no-print-directory", "-C", str(clone), f"VENV={VENV}", "-o", f"{VENV}/.requirements", "book"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=clone)
    seconds = time.perf_counter() - started
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + "\n--- stderr ---\n" + done.stderr)
    (RESULTS / f"build-{label}.log").write_text(output)
    if done.returncode != 0:
        raise RuntimeError(f"make book failed ({done.returncode}):\n{output[-3000:]}")
    return seconds, {name: float(value) for name, value in EXECUTED.findall(output)}


def execute_step(label: str) -> dict | None:
    """How many notebooks the parallel step of ``make book`` executed, how many at a time, in how many seconds."""
    found = EXECUTE_STEP.search((RESULTS / f"build-{label}.log").read_text())
    if not found:
        return None
    return {"notebooks": int(found[1]), "jobs": int(found[2]), "threads": int(found[3]), "seconds": float(found[4])}


def builds(workdir: Path) -> dict:
    clone = workdir / "book"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    assert not (clone / "_build").exists()
    log(f"clean build of the committed tree in {clone} (trains every model; several minutes)")
    clean, clean_notebooks = build_book(clone, "clean")
    log(f"clean build: {clean:.1f} s; no-change rebuild")
    rebuild, rebuild_notebooks = build_book(clone, "rebuild")
    log(f"no-change rebuild: {rebuild:.1f} s")
    return {
        "clean_seconds": clean,
        "clean_notebook_seconds": clean_notebooks,
        "clean_execute_step": execute_step("clean"),
        "rebuild_seconds": rebuild,
        "rebuild_notebook_seconds": rebuild_notebooks,
        "site": clone / "_build" / "html",
    }


# --------------------------------------------------------------------------- throughput

THROUGHPUT_SCRIPT = r"""
import json, os, sys, time
import numpy as np
import keras
import mnist_course
from mnist_course import TUTORIAL_MODEL, build_model, prepare_data

(x, y), _ = prepare_data(TUTORIAL_MODEL)
n = len(x)
result = {"images": n}


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = getattr(self, "seconds", []) + [time.perf_counter() - self.started]


def numpy_epoch(batch):
    # The lower bound: the same forward and backward matrix products, in numpy, float32, no optimizer.
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((784, 10)) * 0.01).astype(np.float32)
    b = np.zeros(10, np.float32)
    onehot = np.eye(10, dtype=np.float32)[y]
    started = time.perf_counter()
    for s in range(0, n, batch):
        xb = x[s:s + batch]
        z = xb @ W + b
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        d = (p - onehot[s:s + batch]) / len(xb)
        dW = xb.T @ d
        db = d.sum(axis=0)
        W -= 0.001 * dW
        b -= 0.001 * db
    return time.perf_counter() - started


for batch in (32, 128):
    model = build_model(TUTORIAL_MODEL.replace(batch_size=batch))
    timer = EpochTimer()
    model.fit(x, y, epochs=2, batch_size=batch, verbose=0, callbacks=[timer])
    keras_s = timer.seconds[1]
    numpy_epoch(batch)  # warm up
    numpy_s = min(numpy_epoch(batch) for _ in range(5))  # the best of 5: a lower bound, robust to a busy machine
    result[str(batch)] = {"keras_epoch_seconds": keras_s, "numpy_epoch_seconds": numpy_s}
print("RESULT " + json.dumps(result))
"""


def throughput() -> dict:
    log("training throughput: Keras fit (2nd epoch) vs numpy matrix products, batch 32 and 128")
    env = base_env()
    # numpy's OpenBLAS on one thread: on a small, shared machine its threads oversubscribe the cores
    # (seen: 0.1 s -> 4-6 s per epoch at batch 128 under load). TensorFlow has its own thread pool.
    env["OPENBLAS_NUM_THREADS"] = "1"
    done = subprocess.run([str(VENV / "bin/python"), "-c", THROUGHPUT_SCRIPT], capture_output=True, text=True, env=env, cwd=REPO)
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if done.returncode != 0 or not line:
        raise RuntimeError(f"throughput measurement failed:\n{done.stderr[-3000:]}")
    raw = json.loads(line[-1][len("RESULT "):])
    out = {}
    for batch in ("32", "128"):
        k, npy = raw[batch]["keras_epoch_seconds"], raw[batch]["numpy_epoch_seconds"]
        out[batch] = {
            "keras_epoch_seconds": k,
            "keras_images_per_second": raw["images"] / k,
            "numpy_epoch_seconds": npy,
            "numpy_images_per_second": raw["images"] / npy,
            "ratio_keras_to_numpy": k / npy,
        }
    return out


# --------------------------------------------------------------------------- widget latency

# Arms a measurement: resolves with the milliseconds from the trigger to the target
# state visible with its image decoded, polled every animation frame.
ARM_JS = r"""
([activation, epoch, how]) => {
  const selector = `.explorer-state[data-activation="${activation}"][data-epoch="${epoch}"]`;
  window.__bench = new Promise((resolve, reject) => {
    let t0 = null;
    const deadline = performance.now() + 10000;
    const ready = () => {
      const el = document.querySelector(selector);
      if (!el || el.offsetParent === null) return false;
      const img = el.querySelector('img');
      return !img || (img.complete && img.naturalWidth > 0);
    };
    const poll = () => {
      if (ready()) { resolve(performance.now() - t0); return; }
      if (performance.now() > deadline) { reject(new Error('timeout waiting for ' + selector)); return; }
      requestAnimationFrame(poll);
    };
    // The control as the reader changes it: a new option or slider position, then its event.
    const control = how === 'dropdown' ? document.querySelector('.lite-dropdown select')
                                       : document.querySelector('.lite-slider input[type=range]');
    const value = how === 'dropdown'
      ? [...control.options].find(o => o.textContent.trim() === activation).value
      : String(epoch);
    t0 = performance.now();
    control.value = value;
    control.dispatchEvent(new Event(how === 'dropdown' ? 'change' : 'input', {bubbles: true}));
    if (ready()) { resolve(performance.now() - t0); return; }
    requestAnimationFrame(poll);
  });
  window.__bench.catch(() => {});
  return true;
}
"""


def widget_latency(site: Path) -> dict:
    activations = ["sigmoid", "softmax", "relu", "tanh", "linear"]
    log(f"widget latency: {2 * WIDGET_CHANGES} changes on {site / EXPLORER_PAGE} in headless Chromium")
    dropdown, slider = [], []
    with serve(site) as base_url, launch() as browser:
        page, traffic = open_page(browser, f"{base_url}/{EXPLORER_PAGE}")
        show_first_widget(page, ".explorer-state")
        state = page.locator(".explorer-state:visible").first
        activation, epoch = state.get_attribute("data-activation"), int(state.get_attribute("data-epoch"))
        for i in range(WIDGET_CHANGES):
            # Dropdown: the next activation, epoch unchanged.
            activation = activations[(activations.index(activation) + 1) % len(activations)]
            page.evaluate(ARM_JS, [activation, epoch, "dropdown"])
            dropdown.append(page.evaluate("window.__bench"))
            # Slider: another epoch.
            epoch = (epoch + 6) % 15 + 1
            page.evaluate(ARM_JS, [activation, epoch, "slider"])
            slider.append(page.evaluate("window.__bench"))
        page.context.close()

    def summary(values):
        # The 95th percentile: the last of the 19 cut points into 20 groups, interpolated
        # between the two measurements around it.
        p95 = statistics.quantiles(values, n=20)[-1]
        return {"n": len(values), "median_ms": statistics.median(values), "p95_ms": p95, "max_ms": max(values)}

    return {"dropdown": summary(dropdown), "slider": summary(slider), "all": summary(dropdown + slider)}


# --------------------------------------------------------------------------- page weight

def _downloaded_gzip_bytes(url: str) -> int:
    """The body of ``url`` as the site's server sends it to a browser that accepts gzip."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read())


def page_weight(site: Path) -> dict:
    """Every page of the site (the pages of the repository's _toc.yml) as a reader gets it,
    served gzip-compressed (tools/browser.py) in headless Chromium, weighed as the site audit
    weighs it (tests/test_site.py): the bytes on the wire of a first visit, once the page has
    settled, and what scrolling it to the end adds (lazy images, widgets). Then the drawing
    pad's models, which its script fetches only when a reader points at or draws on the pad,
    the chosen one only (mnist_course.export.model_element's ``data-src``): each one's body,
    gzip-compressed, fetched here."""
    log(f"page weight of {site}, in headless Chromium")
    pages = {}
    with serve(site) as base_url, launch() as browser:
        tab = Tab(browser)
        for doc in toc.site_pages(REPO):
            traffic, first_visit = visit_and_read(tab, f"{base_url}/{doc}.html")
            models = tab.page.eval_on_selector_all(
                "script.mnist-draw-model[data-src]", "els => els.map(e => [e.id, new URL(e.dataset.src, document.baseURI).href])")
            pages[doc] = {"first_visit_bytes": first_visit, "read_through_bytes": sum(traffic.transferred.values()),
                          "on_demand_bytes": {element.removeprefix(MODEL_ELEMENT_ID.format(name="")): _downloaded_gzip_bytes(url)
                                              for element, url in models},
                          "requests": len(traffic.transferred), "problems": traffic.problems()}
        tab.close()
    files = [p for p in site.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(site).parts)]
    return {"pages": pages, "site_bytes": sum(p.stat().st_size for p in files), "site_files": len(files)}


# --------------------------------------------------------------------------- table


def table(results: dict) -> str:
    rows = []

    def row(name, value, budget="", verdict=""):
        rows.append((name, value, budget, verdict))

    def ok(passed):
        return "PASS" if passed else "FAIL"

    seed = results.get("seed")
    if seed:
        row("seed baseline (tutorial script, subprocess)", f"{seed['seconds']:.1f} s")
    b = results.get("build")
    if b:
        line = f"{b['clean_seconds']:.1f} s"
        if seed:
            ratio = b["clean_seconds"] / seed["seconds"]
            row("clean build (empty _build)", f"{line} = {ratio:.1f}x seed", f"<= {BUDGET_CLEAN_BUILD_X:g}x", ok(ratio <= BUDGET_CLEAN_BUILD_X))
        else:
            row("clean build (empty _build)", line)
        step = b.get("clean_execute_step")
        if step:
            share = step["seconds"] / b["clean_seconds"] * 100
            how = f"{step['jobs']} at a time, {step['threads']} TensorFlow thread(s) each"
            row(f"  clean build: executing {step['notebooks']} notebooks, {how}", f"{step['seconds']:.1f} s ({share:.0f} %)")
            row("  clean build: the rest (make, cache matching, Sphinx writes HTML)", f"{b['clean_seconds'] - step['seconds']:.1f} s")
        for name, seconds in sorted(b["clean_notebook_seconds"].items(), key=lambda item: -item[1]):
            row(f"    executing {name}", f"{seconds:.1f} s")
        fraction = b["rebuild_seconds"] / b["clean_seconds"]
        row("no-change rebuild", f"{b['rebuild_seconds']:.1f} s = {fraction * 100:.1f} % of clean",
            f"<= {BUDGET_REBUILD_FRACTION * 100:g} %", ok(fraction <= BUDGET_REBUILD_FRACTION))
        if b["rebuild_notebook_seconds"]:
            row("  no-change rebuild: notebooks executed again", ", ".join(sorted(b["rebuild_notebook_seconds"])))
    t = results.get("throughput")
    if t:
        for batch, v in t.items():
            row(f"training, batch {batch}: Keras epoch (2nd)", f"{v['keras_epoch_seconds']:.2f} s ({v['keras_images_per_second']:,.0f} img/s)")
            row(f"training, batch {batch}: numpy matmul bound", f"{v['numpy_epoch_seconds']:.2f} s ({v['numpy_images_per_second']:,.0f} img/s)")
            row(f"training, batch {batch}: Keras / numpy", f"{v['ratio_keras_to_numpy']:.1f}x")
    w = results.get("widget")
    if w:
        for name in ("dropdown", "slider"):
            v = w[name]
            row(f"widget latency, {name} (n={v['n']})", f"median {v['median_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms")
        v = w["all"]
        row(f"widget latency, all changes (n={v['n']})", f"median {v['median_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms",
            f"p95 <= {BUDGET_WIDGET_P95_MS:g} ms", ok(v["p95_ms"] <= BUDGET_WIDGET_P95_MS))
    pw = results.get("weight")
    if pw:
        for name, v in pw["pages"].items():
            read = v["read_through_bytes"] - v["first_visit_bytes"]
            problems = f"; {len(v['problems'])} problem(s), in the JSON" if v["problems"] else ""
            row(f"page weight, {name}", f"{v['first_visit_bytes'] / 1e3:,.0f} kB + {read / 1e3:,.0f} kB read through ({v['requests']} requests{problems})")
            for model, size in v["on_demand_bytes"].items():
                row(f"  on demand: the drawing pad's model {model}", f"{size / 1e3:,.0f} kB")
        row(f"page weight, whole site ({pw['site_files']} files)", f"{pw['site_bytes'] / 1e6:,.1f} MB")

    widths = [max(len(r[i]) for r in rows + [("measure", "value", "budget", "result")]) for i in range(4)]
    fmt = lambda r: "| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |"  # noqa: E731
    lines = [fmt(("measure", "value", "budget", "result")), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(r) for r in rows]
    m = results["machine"]
    head = (f"Benchmark {m['date']}, commit {m['commit']}: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, "
            f"Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}, load average at start {m['load_average_at_start']}")
    return head + "\n\n" + "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    parser.add_argument("--site", type=Path, help="an existing _build/html for widget and weight (default: the clean build's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {sorted(unknown)}")
    RESULTS.mkdir(parents=True, exist_ok=True)

    if not os.environ.get("MNIST_DIR"):
        log("MNIST_DIR is not set: MNIST comes from Keras' download (~/.keras/datasets)")
    results: dict = {"machine": machine()}
    workdir = Path(tempfile.mkdtemp(prefix="mnist-bench-"))
    try:
        def attempt(name, function, *a):
            try:
                return function(*a)
            except Exception as error:  # one failed measurement must not lose the others
                log(f"{name} FAILED: {error}")
                results.setdefault("errors", {})[name] = str(error)[-3000:]
                return None

        if "seed" in parts:
            results["seed"] = attempt("seed", seed_baseline)
        site = args.site
        if "build" in parts:
            built = attempt("build", builds, workdir)
            if built:
                site = site or built.pop("site")
                built.pop("site", None)
            results["build"] = built
        if site is None and ({"widget", "weight", "lighthouse"} & set(parts)) and "build" not in parts:
            parser.error("widget, weight and lighthouse need the build part or --site")
        if "throughput" in parts:
            results["throughput"] = attempt("throughput", throughput)
        if site is not None:
            if "widget" in parts:
                results["widget"] = attempt("widget", widget_latency, site)
            if "weight" in parts:
                results["weight"] = attempt("weight", page_weight, site)
            if "lighthouse" in parts:  # bench/lighthouse.py: its own table, printed after this one
                results["lighthouse"] = attempt("lighthouse", lighthouse.run, site)
        results = {k: v for k, v in results.items() if v is not None}
    finally:
        if args.keep:
            log(f"clone kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    text = table(results)
    if results.get("lighthouse"):
        text += "\n\nLighthouse\n\n" + results["lighthouse"]["table"]
    results["table"] = text
    results["budgets"] = {}
    if "seed" in results and "build" in results:
        results["budgets"]["clean_build_x_seed"] = results["build"]["clean_seconds"] / results["seed"]["seconds"] <= BUDGET_CLEAN_BUILD_X
    if "build" in results:
        results["budgets"]["rebuild_fraction"] = results["build"]["rebuild_seconds"] / results["build"]["clean_seconds"] <= BUDGET_REBUILD_FRACTION
    if "lighthouse" in results:
        results["budgets"]["lighthouse"] = results["lighthouse"]["budgets_met"]
    if "widget" in results:
        results["budgets"]["widget_p95"] = results["widget"]["all"]["p95_ms"] <= BUDGET_WIDGET_P95_MS
    out = RESULTS / ("latest.json" if set(parts) == set(PARTS) else "partial.json")
    out.write_text(json.dumps(results, indent=1, default=str))
    print(text)
    for name, error in results.get("errors", {}).items():
        print(f"\n{name} could not be measured: {error}")
    log(f"written to {out}")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
