"""The launch notebooks, as a learner meets them: the page's download, Binder, Colab, a JupyterHub.

`make book` writes them to _build/launch (tools/launch_notebooks.py); the publish
workflow pushes that folder to the branch the launch buttons open. Here:

- every page's download and launch links serve or point at the launch notebook,
  built from the one repository address and branch of _config.yml;
- in a fresh environment made from requirements.txt alone (as Binder makes it),
  JupyterLab served on 127.0.0.1 and driven by headless Chromium runs every
  chapter top to bottom: no error, no MyST syntax in any rendered Markdown cell,
  at least as many images as the chapter's page has figures, a working drawing
  pad, and a kernel that stays under 1 GB of memory.

The chapters load the training runs the launch tree carries (the book build's, same pinned
TensorFlow, so the same cache keys), from an empty cache of their own, as on Binder: a
chapter that trains there fails, since a learner's kernel would then train it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
import yaml

from pages import chapter_notebooks, figures, page

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
CHAPTERS = chapter_notebooks()
KERNEL_MEMORY_LIMIT = 1024**3  # Binder gives about 2 GB; a learner may have two chapters open


class KernelMemoryMiss(Exception):
    """A kernel over the limit, measured and explained below: only this, not any failure, is expected."""


# Strict: a fix shows up as a failure asking for the mark to go.
KNOWN_OVER_MEMORY: dict[str, str] = {}  # chapter -> the measured cause of its kernel going over the limit
# What plain Jupyter would show as raw text: MyST roles, directives, targets.
MYST_SYNTAX = re.compile(r"\{(glue|term|cite|doc|numref|ref|eq|math)[:\w]*\}|```\{|^\s*\([\w-]+\)=\s*$", re.M)


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


# --- the notebooks and the links to them (no kernel needed) -----------------------------------


@pytest.fixture(scope="module")
def launch_tree(built_book) -> Path:
    tree = ROOT / "_build" / "launch"
    assert tree.is_dir(), "make book did not write _build/launch"
    return tree


@pytest.mark.parametrize("doc", CHAPTERS)
def test_launch_notebook_is_plain_jupyter(launch_tree, doc):
    notebook = nbformat.read(launch_tree / f"{doc}.ipynb", as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = MYST_SYNTAX.search(cell.source)
            assert found is None, f"{doc}: MyST syntax {found.group(0)!r} in a Markdown cell:\n{cell.source[:500]}"
        else:
            assert "remove-cell" not in cell.metadata.get("tags", []), f"{doc}: a site-only cell is in the launch notebook"
            assert not cell.get("outputs"), f"{doc}: launch notebooks are stored without outputs"
            assert "myst_nb" not in cell.source, f"{doc}: the launch notebook imports the book's build tools"
    setup = notebook.cells[1]
    repository, branch = _config()["repository"]["url"], _config()["repository"]["branch"]
    assert f"git+{repository}@{branch}" in setup.source, "the Colab install cell installs from _config.yml's repository and branch"
    assert "raise RuntimeError" in setup.source, "a failed install must stop with a message, not a later ModuleNotFoundError"


def test_the_launch_tree_carries_the_builds_current_runs(launch_tree):
    """What Binder's chapters load instead of training: every run this build's library would load, no other."""
    from mnist_course.training import BUILD_RUNS, current_runs

    shipped = sorted(path.name for path in (launch_tree / "mnist_course" / BUILD_RUNS.name).iterdir())
    assert shipped and shipped == [run.name for run in current_runs()]


def test_glued_numbers_are_in_the_launch_notebooks(launch_tree, built_book, mnist):
    """The numbers of this build stand where the site shows them (one chapter, read side by side)."""
    (x_train, _), (x_test, _) = mnist
    text = "\n".join(c.source for c in nbformat.read(launch_tree / "book/01_dataset.ipynb", as_version=4).cells)
    assert f"There are {len(x_train):,} training images and {len(x_test):,} test" in " ".join(text.split())


def test_the_launch_branch_holds_what_binder_needs(launch_tree):
    for name in ("requirements.txt", "runtime.txt", "pyproject.toml", "mnist_course/__init__.py", "mnist_course/draw/draw.js"):
        assert (launch_tree / name).is_file(), f"{name} is missing from the launch tree"
    for exercise in (ROOT / "exercises").glob("*.ipynb"):
        assert (launch_tree / "exercises" / exercise.name).is_file(), f"exercises/{exercise.name} is missing from the launch tree"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_download_and_launch_links_open_the_launch_notebook(built_book, launch_tree, doc):
    config = _config()
    repository, branch = config["repository"]["url"], config["repository"]["branch"]
    owner_repo = urlsplit(repository).path.strip("/")
    soup = page(built_book, doc)
    links = [a.get("href", "") for a in soup.select("a[href]")]

    downloads = [href for href in links if href.endswith(".ipynb") and "_sources" in href]
    assert downloads, f"{doc}: no .ipynb download link"
    served = (built_book / doc).parent / unquote(downloads[0])
    assert served.resolve() == (built_book / "_sources" / f"{doc}.ipynb").resolve()
    assert served.read_text(encoding="utf-8") == (launch_tree / f"{doc}.ipynb").read_text(encoding="utf-8"), (
        f"{doc}: the download is not the launch notebook"
    )

    binder = [href for href in links if "mybinder.org" in href]
    assert binder == [f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{doc}.ipynb"], binder
    colab = [href for href in links if "colab.research.google.com" in href]
    assert colab == [f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{doc}.ipynb"], colab
    hub = (config.get("launch_buttons") or {}).get("jupyterhub_url")
    pullers = [href for href in links if "git-pull" in href]
    if not hub:
        assert not pullers, f"{doc}: a JupyterHub button with no hub configured"
    else:
        query = parse_qs(urlsplit(pullers[0]).query)
        assert pullers[0].startswith(hub.rstrip("/")) and query["repo"] == [repository] and query["branch"] == [branch]
        assert query["urlpath"][0].endswith(f"{doc}.ipynb")
    assert not any("thebe" in href.lower() for href in links), f"{doc}: Thebe loads from a CDN; it is not offered"
    assert not soup.select(".thebe-launch-button, button[onclick*='Thebe']"), f"{doc}: a Live code (Thebe) button is on the page"


# --- the notebooks in JupyterLab, in Binder's environment --------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def learner_cache(tmp_path_factory) -> Path:
    """The training cache of the learner's kernel: empty, as on a new Binder session."""
    return tmp_path_factory.mktemp("learner-cache")


@pytest.fixture(scope="module")
def jupyterlab(binder_python, uv, launch_tree, learner_cache, tmp_path_factory):
    """JupyterLab from the fresh environment, on 127.0.0.1, serving a copy of the launch tree."""
    folder = tmp_path_factory.mktemp("launch") / "course"
    shutil.copytree(launch_tree, folder)
    # Binder installs requirements.txt in the launch tree, whose `-e .` is the library there,
    # with the build's runs beside it: the environment was made from this repository's copy.
    _run([str(uv), "pip", "install", "--quiet", "--python", str(binder_python), "--no-deps", "-e", str(folder)])
    # Every cell in the page at once (JupyterLab otherwise attaches only the cells in view),
    # so that the test sees every output and every rendered Markdown cell; no workspace restored.
    settings = folder.parent / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    # TensorFlow quiet (tests/conftest.py), one thread; not the build's training cache: the
    # learner's own, empty, so a chapter that finds no run in the launch tree trains (and fails below).
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", MNIST_COURSE_CACHE=str(learner_cache))
    log = folder.parent / "jupyterlab.log"
    server = subprocess.Popen(
        [str(binder_python.parent / "jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={folder}",
         # The tests drive JupyterLab through its own commands, as its menus do.
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={folder.parent / 'workspaces'}"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not answer on {url}:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _kernel_peak_memory(url: str, doc: str) -> int:
    """The peak resident memory (VmHWM) of the kernel of ``doc``'s session, in bytes."""
    sessions = json.load(urllib.request.urlopen(f"{url}/api/sessions"))
    kernel_ids = [s["kernel"]["id"] for s in sessions if s["path"].endswith(f"{doc}.ipynb")]
    assert kernel_ids, f"no kernel session for {doc}"
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"kernel-{kernel_ids[0]}.json" in command:
            status = (proc / "status").read_text()
            return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
    raise AssertionError(f"the kernel process of {doc} was not found")


# The panel of an open notebook, found by its path among the main area's tabs.
PANEL = "const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === doc && w.content);"

# Run every cell; the command's promise settles when the last cell has run.
RUN_ALL = """async (doc) => {
    const app = window.jupyterapp;
    """ + PANEL + """
    if (!panel) return {errors: [`JupyterLab has no panel for ${doc}`]};
    app.shell.activateById(panel.id);
    await panel.sessionContext.ready;
    const limit = new Promise((_, fail) => setTimeout(() => fail(new Error('still running after 10 minutes')), 600000));
    await Promise.race([app.commands.execute('notebook:run-all-cells'), limit]);
    const errors = [], images = [];
    for (const cell of panel.content.model.cells) {
        if (cell.type !== 'code') continue;
        for (let i = 0; i < cell.outputs.length; i++) {
            const output = cell.outputs.get(i).toJSON();
            if (output.output_type === 'error') errors.push(output.ename + ': ' + output.evalue);
        }
    }
    return {errors, executed: panel.content.model.cells.length};
}"""

# What a reader sees: every Markdown cell as rendered, every image under the code.
SEEN = """(doc) => {
    """ + PANEL + """
    const markdown = panel.content.widgets.filter(w => w.model.type === 'markdown');
    let imageOutputs = 0;
    for (const cell of panel.content.model.cells) {
        if (cell.type !== 'code') continue;
        for (let i = 0; i < cell.outputs.length; i++) {
            const data = cell.outputs.get(i).toJSON().data || {};
            if (data['image/png'] || data['image/svg+xml']) imageOutputs++;
        }
    }
    return {
        imageOutputs,
        markdownCells: markdown.length,
        rendered: markdown.filter(w => w.rendered).map(w => w.node.querySelector('.jp-RenderedMarkdown')?.innerText ?? null),
        images: panel.node.querySelectorAll('.jp-OutputArea-output img').length,
    };
}"""


def _known_memory_miss(doc):
    reason = KNOWN_OVER_MEMORY.get(doc)
    return pytest.param(doc, marks=pytest.mark.xfail(strict=True, raises=KernelMemoryMiss, reason=reason)) if reason else doc


# Open a notebook as the file browser does, in view, and wait until its panel is ready.
OPEN = """async (doc) => {
    const app = window.jupyterapp;
    await app.restored;
    const opened = await app.commands.execute('docmanager:open', {path: doc, factory: 'Notebook'});
    await opened.context.ready;
    app.shell.activateById(opened.id);
}"""


def _run_chapter(tab, url: str, built_book: Path, doc: str) -> dict:
    """Open ``doc`` in the JupyterLab of ``tab``, run every cell, and check what a learner sees.

    Returns the kernel's peak memory; a failed check raises. The notebook is closed and its
    kernel shut down afterwards, whatever happened.
    """
    try:
        tab.evaluate(OPEN, f"{doc}.ipynb")
        result = tab.evaluate(RUN_ALL, f"{doc}.ipynb")
        assert not result["errors"], f"{doc}: errors in Jupyter: {result['errors']}"
        # Render every Markdown cell (JupyterLab renders lazily), then read what is shown.
        tab.evaluate("(doc) => { " + PANEL + " panel.content.widgets.forEach(w => { if (w.model.type === 'markdown') w.rendered = true; }); }", f"{doc}.ipynb")
        tab.wait_for_timeout(500)
        seen = tab.evaluate(SEEN, f"{doc}.ipynb")
        assert len(seen["rendered"]) == seen["markdownCells"] and None not in seen["rendered"], f"{doc}: some Markdown was not rendered"
        for text in seen["rendered"]:
            found = MYST_SYNTAX.search(text)
            assert found is None, f"{doc}: a rendered Markdown cell shows {found.group(0)!r}:\n{text[:400]}"
        site_figures = len(figures(page(built_book, doc)))
        assert seen["images"] >= site_figures, (
            f"{doc}: {seen['images']} images shown in Jupyter ({seen['imageOutputs']} image outputs), {site_figures} figures on the page"
        )
        if doc == "book/draw_a_digit":
            _draw_and_read(tab)
        if doc == "book/05_explorer":
            # A live kernel is there: the explorer says what Train now does, not that it needs one.
            text = tab.locator(".jp-OutputArea-output .widget-html-content", has_text="Train now").first.inner_text()
            assert "in this notebook's kernel" in text and "does not have" not in text, text
            # On the site the hint lives in the page's saved widget state.
            static = (built_book / f"{doc}.html").read_text(encoding="utf-8")
            assert "which this page does not have" in static and "in this notebook's kernel" not in static
        return {"peak": _kernel_peak_memory(url, doc), "images": seen["images"]}
    finally:
        # Each step on its own, so that neither hides the chapter's own failure: close the
        # notebook without the "save changes?" dialog (the next one opens alone), then free its
        # kernel's memory for the chapters still to run.
        with contextlib.suppress(Exception):
            tab.evaluate("""(doc) => { const app = window.jupyterapp;
                for (const w of [...app.shell.widgets('main')]) if (w.context && w.context.path === doc) w.dispose(); }""", f"{doc}.ipynb")
        with contextlib.suppress(Exception):
            _shut_down_kernel(url, doc)


def _run_chapters(url: str, built_book: Path, queue) -> dict:
    """Take chapters from ``queue`` until it is empty, each in the same JupyterLab page of one
    browser (JupyterLab loads once, as for a learner who opens one chapter after another):
    doc -> what _run_chapter returned (with the page's uncaught errors meanwhile), or the exception."""
    import queue as queues

    from tools.browser import launch

    runs = {}
    try:
        with launch() as browser:
            tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            # Uncaught errors while JupyterLab loads count against the first chapter opened.
            page_errors = []
            tab.on("pageerror", lambda error: page_errors.append(str(error)))
            # ?reset: a workspace of its own, so no notebook of an earlier run is reopened.
            tab.goto(f"{url}/lab?reset")
            tab.wait_for_function("window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.commands.hasCommand('docmanager:open')", timeout=120_000)
            while True:
                try:
                    doc = queue.get_nowait()
                except queues.Empty:
                    return runs
                try:
                    runs[doc] = _run_chapter(tab, url, built_book, doc) | {"page_errors": list(page_errors)}
                except Exception as error:  # reported by that chapter's test, not by all of them
                    runs[doc] = error
                page_errors.clear()
    except Exception as error:  # the browser or JupyterLab did not start: every chapter left says so
        while not queue.empty():
            runs[queue.get_nowait()] = error
        return runs


@pytest.fixture(scope="module")
def chapter_runs(request, jupyterlab, built_book) -> dict:
    """Every chapter the session's tests ask for, run in JupyterLab, two at a time (a kernel is one
    thread; much of a run is waiting): doc -> what _run_chapters gave."""
    import queue as queues
    from concurrent.futures import ThreadPoolExecutor

    asked = {item.callspec.params["doc"] for item in request.session.items if item.originalname == "test_chapter_runs_in_jupyterlab_as_a_learner_sees_it"}
    chapters = queues.Queue()
    for doc in (doc for doc in CHAPTERS if doc in asked):
        chapters.put(doc)
    runs = {}
    # Two threads, a browser each (Playwright's sync API is per thread).
    with ThreadPoolExecutor(max_workers=2) as pool:
        for found in pool.map(lambda _: _run_chapters(jupyterlab, built_book, chapters), range(2)):
            runs.update(found)
    return runs


@pytest.mark.browser
@pytest.mark.parametrize("doc", [_known_memory_miss(doc) for doc in CHAPTERS])
def test_chapter_runs_in_jupyterlab_as_a_learner_sees_it(chapter_runs, learner_cache, doc):
    run = chapter_runs[doc]
    if isinstance(run, BaseException):
        raise run
    trained = sorted(path.name for path in (learner_cache / "runs").glob("*"))
    assert not trained, f"a chapter trained in the learner's kernel: the launch tree has no run {trained}"
    assert not run["page_errors"], f"{doc}: uncaught errors in JupyterLab: {run['page_errors']}"
    peak = run["peak"]
    print(f"{doc}: kernel peak {peak / 2**20:.0f} MiB, {run['images']} images")
    if peak >= KERNEL_MEMORY_LIMIT and doc in KNOWN_OVER_MEMORY:
        raise KernelMemoryMiss(f"{doc}: {peak / 2**20:.0f} MiB: {KNOWN_OVER_MEMORY[doc]}")
    assert peak < KERNEL_MEMORY_LIMIT, f"{doc}: the kernel peaked at {peak / 2**20:.0f} MiB (limit {KERNEL_MEMORY_LIMIT / 2**20:.0f})"


def _shut_down_kernel(url: str, doc: str) -> None:
    for session in json.load(urllib.request.urlopen(f"{url}/api/sessions")):
        if session["path"].endswith(f"{doc}.ipynb"):
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/sessions/{session['id']}", method="DELETE"))


def _draw_and_read(tab):
    """A vertical stroke drawn with the mouse on the pad in the notebook's output is read as a digit."""
    canvas = tab.locator(".jp-OutputArea-output .mnist-draw-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 50, "the drawing pad has no canvas in JupyterLab"
    x = box["x"] + box["width"] / 2
    tab.mouse.move(x, box["y"] + 0.15 * box["height"])
    tab.mouse.down()
    for i in range(1, 21):
        tab.mouse.move(x, box["y"] + (0.15 + 0.7 * i / 20) * box["height"])
    tab.mouse.up()
    widget = tab.locator(".jp-OutputArea-output .mnist-draw").first
    assert widget.get_attribute("data-prediction") == "1", "a stroke drawn in JupyterLab was not read as a 1"
    assert "reads 1" in tab.locator(".jp-OutputArea-output .mnist-draw-verdict").first.inner_text()
