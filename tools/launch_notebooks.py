"""Make the launch notebooks: each chapter as plain Jupyter shows it, from this build.

A chapter is read in two places: on the site, which Sphinx renders from MyST,
and as a live notebook (the page's ``.ipynb`` download, Binder, Colab, a
JupyterHub), where nothing understands MyST. ``make book`` therefore runs this
script after ``jupyter-book build``. For every chapter of ``_toc.yml`` it takes
the executed notebook from jupyter-cache and writes a launch notebook:

- the numbers of this build in place of ``{glue:text}`` roles (formatted as MyST-NB does);
- admonitions as block quotes; glossary terms, citations, ``{doc}``, ``{ref}`` and
  ``{numref}`` as links into the published site (``html.baseurl`` in ``_config.yml``),
  labels and MyST comments removed;
- each figure's caption, numbered as on the site, in a Markdown cell under the
  cell that draws it;
- no cell that serves only the site (``remove-cell``: glue bookkeeping) and no outputs;
- a first code cell that installs the course library in Colab, from the repository
  and branch of ``_config.yml``, and says clearly what to do when it is missing.

With the notebooks go the build's training runs (``mnist_course/build_runs/``), so that
a chapter launched in Binder loads its models rather than training them.

Any MyST construct it does not know stops the build with the chapter's name, so
no raw syntax can reach a reader.

It writes ``_build/launch/``, the tree the publish workflow pushes to the
branch the launch buttons open (launch notebooks, the exercises, the library and
what Binder needs), and puts each launch notebook where the page's download
button points (``_build/html/_sources/``).
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path

if not __package__:
    sys.exit("Run this from the repository's folder as a module: .venv/bin/python -m tools.launch_notebooks")

import nbformat
import yaml
from bs4 import BeautifulSoup

from tools.toc import book_files

ROOT = Path(__file__).resolve().parent.parent
ADMONITIONS = {"admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso"}
ROLE = re.compile(r"\{(?P<role>[a-zA-Z][\w:-]*)\}`(?P<content>[^`]*)`")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*)$")
LABEL = re.compile(r"^\s*\(([\w:-]+)\)=\s*$")
# What must never reach a reader: checked in every Markdown cell after conversion.
LEFTOVER_MYST = re.compile(r"\{[a-zA-Z][\w:-]*\}`|^\s*(`{3,}|:{3,})\{|^\s*\([\w:-]+\)=\s*$", re.M)


class LaunchError(Exception):
    """A chapter holds something the launch notebook cannot show."""


def course_settings(root: Path) -> dict:
    """The repository, branch and site address of ``_config.yml``: the one place they are set."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    repository = config.get("repository") or {}
    url, branch = repository.get("url", "").rstrip("/"), repository.get("branch", "")
    site = ((config.get("html") or {}).get("baseurl") or "").rstrip("/")
    missing = [name for name, value in (("repository.url", url), ("repository.branch", branch), ("html.baseurl", site)) if not value]
    if missing:
        raise LaunchError(f"_config.yml must set {', '.join(missing)}: the launch notebooks link to them")
    return {"repository": url, "branch": branch, "site": site}


def install_requirement(settings: dict) -> str:
    """What pip installs in Colab: the course library from the branch the launch buttons open."""
    return f"mnist_course @ git+{settings['repository']}@{settings['branch']}"


def setup_cell(settings: dict) -> nbformat.NotebookNode:
    requirement = install_requirement(settings)
    source = f'''# Setup. Binder, a JupyterHub with the course's requirements and a local install
# already have the course library, mnist_course; in Colab this cell installs it.
import sys

if "google.colab" in sys.modules:
    import subprocess

    REQUIREMENT = "{requirement}"
    if subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", REQUIREMENT]).returncode != 0:
        raise RuntimeError(
            f"Installing the course library ({{REQUIREMENT}}) failed: pip says why above. "
            "Check that this Colab session is online (Runtime > Restart session), then run this cell again."
        )
try:
    import mnist_course
except ImportError:
    raise ImportError(
        "This notebook needs the course library, mnist_course. Open the chapter with the "
        "Binder or Colab button of the course's site, or install it here with "
        "pip install '{requirement}'"
    ) from None'''
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["launch-setup"]
    return cell


class SiteIndex:
    """What the built site knows: page titles, figure numbers, anchors and glossary terms."""

    def __init__(self, html_root: Path, root: Path, documents: list[str]):
        self.html_root = html_root
        self.titles: dict[str, str] = {}
        self.anchors: dict[str, tuple[str, str]] = {}  # id -> (document, its text)
        self.figure_numbers: dict[str, tuple[str, str]] = {}  # figure name -> (document, "Fig. 3")
        self.terms: dict[str, str] = {}  # glossary term (lower case) -> anchor id
        for doc in documents:
            path = html_root / f"{doc}.html"
            if not path.exists():
                raise LaunchError(f"{path} is missing: build the site (jupyter-book build) before the launch notebooks")
            soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
            article = soup.select_one("article") or soup
            heading = article.find("h1")
            self.titles[doc] = _clean(heading.get_text()) if heading else doc
            for figure in article.select("figure[id]"):
                number = figure.select_one(".caption-number")
                if number is not None:
                    self.figure_numbers[figure["id"]] = (doc, _clean(number.get_text()).rstrip("."))
            for section in article.select("section[id]"):
                title = section.find(re.compile("^h[1-6]$"))
                self.anchors[section["id"]] = (doc, _clean(title.get_text()) if title else "")
            for span in article.select("span[id]"):  # (label)= targets just before a section
                section = span.find_next("section")
                title = section.find(re.compile("^h[1-6]$")) if section else None
                self.anchors.setdefault(span["id"], (doc, _clean(title.get_text()) if title else ""))
            for term in article.select("dl.glossary dt[id]"):
                self.terms[_clean(term.get_text()).lower()] = f"{doc}.html#{term['id']}"

    def url(self, site: str, doc: str, anchor: str = "") -> str:
        return f"{site}/{doc}.html" + (f"#{anchor}" if anchor else "")


def _clean(text: str) -> str:
    return " ".join(text.replace("¶", "").replace("#", "").split())


def _split_title(content: str) -> tuple[str | None, str]:
    """``text <target>`` -> (text, target); ``target`` -> (None, target)."""
    match = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", content, re.S)
    return (match.group(1), match.group(2).strip()) if match else (None, content.strip())


class ChapterConverter:
    """Turns one chapter's MyST Markdown into Markdown that plain Jupyter renders."""

    def __init__(self, doc: str, glue: dict, site: SiteIndex, settings: dict, citations: dict):
        self.doc = doc
        self.glue = glue
        self.site = site
        self.base = settings["site"]
        self.citations = citations

    # -- roles -------------------------------------------------------------------------------

    def _role(self, match: re.Match) -> str:
        role, content = match.group("role"), match.group("content")
        if role in ("glue", "glue:text", "glue:any"):
            return self._glued(content)
        if role == "term":
            text, term = _split_title(content)
            target = self.site.terms.get(term.lower())
            if target is None:
                raise LaunchError(f"{self.doc}: {{term}}`{content}`: no such glossary term on the site")
            return f"[{text or term}]({self.base}/{target})"
        if role == "cite":
            links = []
            for key in (k.strip() for k in content.split(",")):
                if key not in self.citations:
                    raise LaunchError(f"{self.doc}: {{cite}}`{key}`: not in book/references.bib")
                links.append(f"[{self.citations[key]}]({self.base}/book/bibliography.html)")
            return "(" + "; ".join(links) + ")"
        if role == "doc":
            text, target = _split_title(content)
            doc = self._resolve_doc(target)
            return f"[{text or self.site.titles.get(doc, doc)}]({self.site.url(self.base, doc)})"
        if role in ("ref", "numref"):
            text, label = _split_title(content)
            if label in self.site.figure_numbers:
                doc, number = self.site.figure_numbers[label]
                shown = text.replace("%s", number.split()[-1]) if text else number
                # A figure of this chapter is a few cells away: its caption cell carries the number.
                return shown if doc == self.doc else f"[{shown}]({self.site.url(self.base, doc, label)})"
            if label in self.site.anchors:
                doc, title = self.site.anchors[label]
                return f"[{text or title}]({self.site.url(self.base, doc, label)})"
            raise LaunchError(f"{self.doc}: {{{role}}}`{content}`: no such label on the site")
        if role == "math":
            return f"${content}$"
        raise LaunchError(f"{self.doc}: the role {{{role}}} has no plain-Markdown form; add one to tools/launch_notebooks.py")

    def _glued(self, content: str) -> str:
        from myst_nb.core.variables import format_plain_text

        key, _, spec = content.partition(":")
        if key not in self.glue:
            raise LaunchError(f"{self.doc}: no glued value named {key!r}")
        return format_plain_text(self.glue[key], spec)

    def _resolve_doc(self, target: str) -> str:
        target = re.sub(r"\.(ipynb|md)$", "", target)
        if target.startswith("/"):
            return target.lstrip("/")
        parts = (Path(self.doc).parent / target).as_posix().split("/")
        resolved: list[str] = []
        for part in parts:
            if part == "..":
                resolved.pop()
            elif part not in (".", ""):
                resolved.append(part)
        return "/".join(resolved)

    def inline(self, text: str) -> str:
        return ROLE.sub(self._role, text)

    # -- blocks ------------------------------------------------------------------------------

    def markdown(self, source: str) -> str:
        lines = source.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if LABEL.match(line) or re.match(r"^\s*%", line):  # targets and MyST comments
                i += 1
                continue
            fence = FENCE.match(line)
            if fence is None:
                out.append(line)
                i += 1
                continue
            closing = re.compile(rf"^\s*{re.escape(fence.group('fence'))}\s*$")
            body, i = [], i + 1
            while i < len(lines) and not closing.match(lines[i]):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence
            out.extend(self._directive(fence.group("name"), fence.group("argument").strip(), body, fence.group("indent")))
        text = self.inline("\n".join(out))
        leftover = LEFTOVER_MYST.search(text)
        if leftover:
            raise LaunchError(f"{self.doc}: MyST syntax left in a Markdown cell: {leftover.group(0)!r}")
        return text

    def _directive(self, name: str, argument: str, body: list[str], indent: str) -> list[str]:
        options = {}
        while body and re.match(r"^\s*:[\w-]+:", body[0]):
            key, _, value = body.pop(0).strip()[1:].partition(":")
            options[key] = value.strip()
        if name in ADMONITIONS:
            title = argument if name == "admonition" else (argument or name.capitalize())
            if name == "seealso" and not argument:
                title = "See also"
            inner = self.markdown("\n".join(body)).split("\n")
            quoted = [f"{indent}> **{self.inline(title)}**", f"{indent}>"] + [f"{indent}> {line}".rstrip() for line in inner]
            return quoted
        if name == "math":
            return [f"{indent}$$", *body, f"{indent}$$"]
        raise LaunchError(f"{self.doc}: the directive {{{name}}} has no plain-Markdown form; add one to tools/launch_notebooks.py")


def glue_values(notebook) -> dict[str, str]:
    """Every glued value of an executed notebook, as MyST-NB reads it: its text/plain form."""
    from myst_nb.ext.glue import extract_glue_data_cell

    values = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for key, output in extract_glue_data_cell(cell):
                if "text/plain" in output["data"]:
                    values[key] = output["data"]["text/plain"]
    return values


def citation_labels(bib: Path) -> dict[str, str]:
    """``key -> "LeCun et al., 1998"`` for every entry of the book's BibTeX file."""
    from pybtex.database import parse_file

    labels = {}
    for key, entry in parse_file(str(bib)).entries.items():
        people = entry.persons.get("author", [])
        last = " ".join(people[0].last_names) if people else entry.fields.get("title", key)
        last = re.sub(r"[{}]", "", last)
        names = last if len(people) == 1 else (f"{last} and {' '.join(people[1].last_names)}" if len(people) == 2 else f"{last} et al.")
        labels[key] = f"{names}, {entry.fields.get('year', 'n.d.')}"
    return labels


def launch_notebook(executed, source, doc: str, site: SiteIndex, settings: dict, citations: dict):
    """The launch notebook of one chapter: ``source`` (as stored) converted, with ``executed``'s glue."""
    converter = ChapterConverter(doc, glue_values(executed), site, settings, citations)
    cells = []
    setup_added = False
    for cell in source.cells:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags:
            continue  # glue bookkeeping, for the site only
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            cell.source = converter.markdown(cell.source)
            cells.append(cell)
            if not setup_added:
                cells.append(setup_cell(settings))  # right under the title
                setup_added = True
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            figure = cell.metadata.get("mystnb", {}).get("figure")
            cell.metadata.pop("mystnb", None)
            cells.append(cell)
            if figure and figure.get("caption"):
                number = site.figure_numbers.get(figure.get("name", ""), (doc, "Figure"))[1]
                caption = converter.markdown(figure["caption"])
                cells.append(nbformat.v4.new_markdown_cell(f"**{number}.** {caption}"))
            continue
        cells.append(cell)
    if not setup_added:
        cells.insert(0, setup_cell(settings))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    notebook.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def executed_notebook(cache, source):
    """The executed version of ``source`` that jupyter-cache holds (as MyST-NB used it)."""
    try:
        _, merged = cache.merge_match_into_notebook(copy.deepcopy(source))
    except KeyError:
        return None
    return merged


def copy_tree_for_launch(root: Path, launch: Path, notebooks: dict[str, object], settings: dict) -> None:
    """The branch the launch buttons open: launch notebooks, the exercises, the library, Binder's files."""
    if launch.exists():
        shutil.rmtree(launch)
    launch.mkdir(parents=True)
    for doc, notebook in notebooks.items():
        target = launch / f"{doc}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    for exercise in sorted((root / "exercises").glob("*.ipynb")):
        (launch / "exercises").mkdir(exist_ok=True)
        shutil.copy2(exercise, launch / "exercises" / exercise.name)
    shutil.copytree(root / "mnist_course", launch / "mnist_course", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build_runs"))
    # The build's training runs, beside the library (mnist_course.training.BUILD_RUNS): in Binder
    # a chapter loads the models its page shows instead of training them in the learner's kernel.
    from mnist_course.training import BUILD_RUNS, current_runs

    for run in current_runs():
        shutil.copytree(run, launch / "mnist_course" / BUILD_RUNS.name / run.name)
    for name in ("pyproject.toml", "requirements.txt", "runtime.txt"):
        shutil.copy2(root / name, launch / name)
    (launch / "README.md").write_text(
        "# Launch notebooks\n\n"
        f"Made by the course's build from `{settings['repository']}` (its `main` branch): every chapter as a\n"
        "notebook that plain Jupyter, Binder, Colab and JupyterHub show as the site does, with the numbers of\n"
        "that build in the text. Do not edit them here; edit the chapters in `book/` on `main`.\n\n"
        f"The course's site: {settings['site']}/\n",
        encoding="utf-8",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (with _config.yml and _toc.yml)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    html = root / "_build" / "html"
    from jupyter_cache import get_cache

    try:
        settings = course_settings(root)
        documents = book_files(root)
        site = SiteIndex(html, root, documents)
        citations = citation_labels(root / "book" / "references.bib")
        cache = get_cache(str(root / "_build" / ".jupyter_cache"))
        notebooks = {}
        for doc in documents:
            path = root / f"{doc}.ipynb"
            if not path.exists() or not doc.startswith("book/"):
                continue  # Markdown pages; the exercises are notebooks for students already
            source = nbformat.read(path, as_version=4)
            executed = executed_notebook(cache, source)
            if executed is None:
                raise LaunchError(f"{doc}: not in the execution cache; build the site first")
            notebooks[doc] = launch_notebook(executed, source, doc, site, settings, citations)
    except LaunchError as error:
        print(f"launch notebooks: {error}", file=sys.stderr)
        return 1
    copy_tree_for_launch(root, root / "_build" / "launch", notebooks, settings)
    for doc, notebook in notebooks.items():
        # The page's download button serves the launch notebook, not the MyST source.
        download = html / "_sources" / f"{doc}.ipynb"
        if download.parent.exists():
            nbformat.write(notebook, download)
    print(f"launch notebooks: {len(notebooks)} written to _build/launch and the pages' downloads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
