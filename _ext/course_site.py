"""The course site's own Sphinx extension: pages that are whole, valid and light.

Jupyter Book and its theme put on every page things this book does not use or
puts twice; this extension takes them off, where the theme offers no setting:

- each script and stylesheet once (sphinx-thebe and sphinx-togglebutton add their
  config scripts twice, and a second ``const THEBE_JS_URL`` is a SyntaxError);
- no Thebe assets when Thebe is off (``launch_buttons.thebe: false``), and sphinx-design's
  only on pages that use its components;
- no search index and search scripts on every page: search-as-you-type is off, so
  only the search page uses them (``templates/layout.html``);
- icons once: the theme ships Font Awesome both as a 1.5 MB script and as web fonts;
  the script is dropped and the fonts are cut down to the icons the site shows;
- math as MathML, written at build time (docutils' LaTeX converter), which browsers
  draw themselves: no MathJax (260 kB gzipped and about a second of a phone's CPU) on
  a page whose formulas all convert; MathJax stays for a formula that does not;
- a ``<meta name="description">`` on every page (the first paragraph of its text);
- the drawing pad's weights (hundreds of kB of JSON in its notebook output) in scripts of
  their own, which the pad loads when a reader reaches it, not in the page;
- a valid ``index.html`` at the site's root, redirecting to the first page.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ICONS_CSS = "course-icons.css"
DESCRIPTION_CHARACTERS = 160
SITE_DESCRIPTION = "A course book on how a dense neural network reads handwritten digits (MNIST), with TensorFlow and Keras."


# --------------------------------------------------------------------------- assets per page


def _asset_key(asset) -> tuple:
    attributes = {k: v for k, v in getattr(asset, "attributes", {}).items() if k != "priority"}
    # The same inline script comes as filename None from one extension and "" from another.
    return (getattr(asset, "filename", str(asset)) or "", tuple(sorted(attributes.items())))


def _is_thebe(asset) -> bool:
    filename = getattr(asset, "filename", "") or ""
    body = getattr(asset, "attributes", {}).get("body", "") or ""
    return "sphinx-thebe" in filename or "THEBE_JS_URL" in body


def _thebe_on(app: Sphinx) -> bool:
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {}) or {}
    return bool(launch.get("thebe"))


def _is_sphinx_design(asset) -> bool:
    filename = str(getattr(asset, "filename", "") or "")
    return filename.endswith(("sphinx-design.min.css", "design-tabs.js"))


def lean_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    # sphinx-design's stylesheet (render-blocking) and tab script, only where its components are.
    uses_design = "sd-" in context.get("body", "")
    for name in ("script_files", "css_files"):
        assets = context.get(name)
        if assets is None:
            continue
        seen, kept = set(), []
        for asset in assets:
            key = _asset_key(asset)
            if key in seen or (not _thebe_on(app) and _is_thebe(asset)) or (not uses_design and _is_sphinx_design(asset)):
                continue
            seen.add(key)
            kept.append(asset)
        assets[:] = kept  # the builder's own list: it restores it after the page


# --------------------------------------------------------------------------- description


def _first_paragraph(doctree) -> str:
    for paragraph in doctree.findall(nodes.paragraph):
        # Prose, not a code cell's output or a caption.
        if any(isinstance(parent, (nodes.container, nodes.caption, nodes.admonition)) for parent in _parents(paragraph)):
            continue
        text = " ".join(paragraph.astext().split())
        if len(text) >= 40:
            return text
    return ""


def _parents(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def _shorten(text: str, limit: int = DESCRIPTION_CHARACTERS) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "\u2026"


def describe_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    text = _first_paragraph(doctree) if doctree is not None else ""
    description = _shorten(text) if text else SITE_DESCRIPTION
    context["metatags"] = context.get("metatags", "") + f'\n<meta name="description" content="{html.escape(description)}" />'


# --------------------------------------------------------------------------- drawing pad weights

DRAW_MODELS_DIR = "_static/draw-models"


def draw_models_as_files(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Each model in the page's body to ``_static/draw-models/NAME-HASH.js``, a script handing it
    to draw.js (``mnistDraw.receive``: a script loads from a site opened from disk, where fetch()
    does not); the model's element keeps its address in ``data-src`` and nothing else."""
    body = context.get("body", "")
    if "mnist-draw-model" not in body:
        return
    # The element's format has one home, the library that writes it (imported by the one page that needs it).
    from mnist_course.export import EMBEDDED_MODEL_PATTERN, model_element

    folder = Path(app.outdir) / DRAW_MODELS_DIR
    folder.mkdir(parents=True, exist_ok=True)

    def to_file(match) -> str:
        name, text = match.groups()
        script = f"window.mnistDraw.receive({json.dumps(name)}, {text});\n"
        filename = f"{name}-{hashlib.sha256(script.encode()).hexdigest()[:12]}.js"
        # A rebuild into the same folder leaves no older weights of this model behind (a model's
        # name is unique in the site: one page holds the pad).
        this_model = re.compile(re.escape(name) + r"-[0-9a-f]{12}\.js")
        for older in folder.iterdir():
            if this_model.fullmatch(older.name) and older.name != filename:
                older.unlink()
        (folder / filename).write_text(script, encoding="utf-8")
        url = context["pathto"](f"{DRAW_MODELS_DIR}/{filename}", 1)
        return model_element(name, src=url)

    context["body"] = EMBEDDED_MODEL_PATTERN.sub(to_file, body)


# --------------------------------------------------------------------------- math

MATHML_RENDERER = "course_mathml"
# \Big( and friends size a delimiter by hand; docutils' converter does not know them,
# and MathML stretches a \left ... \right pair to its contents by itself.
_SIZED_DELIMITER = re.compile(r"\\[bB]igg?([lr]?)\s*(\\[{}]|[()\[\]])")


def _unsized(tex: str) -> str:
    def replace(match):
        side, delimiter = match[1], match[2]
        opening = side == "l" or (not side and delimiter in ("(", "[", "\\{"))
        return ("\\left" if opening else "\\right") + delimiter

    # \dots (amsmath) is the converter's \ldots.
    return re.sub(r"\\dots(?![a-zA-Z])", r"\\ldots", _SIZED_DELIMITER.sub(replace, tex))


def _mathml(tex: str, block: bool) -> str | None:
    from docutils.utils.math import latex2mathml

    try:
        return latex2mathml.tex2mathml(_unsized(tex.strip()), as_block=block)
    except Exception:  # any LaTeX the converter does not know: MathJax draws that formula
        return None


def _needs_mathjax(translator) -> None:
    translator.builder.env.course_mathjax_pages = getattr(translator.builder.env, "course_mathjax_pages", set())
    translator.builder.env.course_mathjax_pages.add(translator.builder.current_docname)


def visit_math(translator, node) -> None:
    from sphinx.ext import mathjax

    markup = _mathml(node.astext(), block=False)
    if markup is None:
        _needs_mathjax(translator)
        mathjax.html_visit_math(translator, node)
    translator.body.append(translator.starttag(node, "span", "", CLASS="math notranslate nohighlight") + markup + "</span>")
    raise nodes.SkipNode


def visit_displaymath(translator, node) -> None:
    from sphinx.ext import mathjax

    text = node.astext()
    # Numbered, raw or several-line equations: MathJax, which Sphinx's writer knows how to feed.
    markup = None if node.get("number") or node.get("nowrap") or "\n\n" in text.strip() or "\\\\" in text else _mathml(text, block=True)
    if markup is None:
        _needs_mathjax(translator)
        mathjax.html_visit_displaymath(translator, node)
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate nohighlight") + markup + "</div>\n")
    raise nodes.SkipNode


def mathjax_where_needed(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """MathJax (its configuration and loader) on the pages with a formula MathML could not take."""
    if app.builder.format != "html" or pagename not in getattr(app.env, "course_mathjax_pages", set()):
        return
    import json

    if app.config.mathjax3_config:
        app.builder.add_js_file("", body="window.MathJax = " + json.dumps(app.config.mathjax3_config))
    app.builder.add_js_file(app.config.mathjax_path, defer="defer")


def forget_mathjax_pages(app: Sphinx, env, docname: str) -> None:
    getattr(env, "course_mathjax_pages", set()).discard(docname)


# --------------------------------------------------------------------------- templates


_FONTAWESOME_SCRIPT = re.compile(r"\s*<!--[^>]*custom icons[^>]*-->\s*|\s*<script[^>]*fontawesome\.js[^>]*></script>")


def without_fontawesome_script(markup: str) -> str:
    return _FONTAWESOME_SCRIPT.sub("\n", str(markup))


def add_templates(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    app.builder.templates.environment.filters["without_fontawesome_script"] = without_fontawesome_script


# --------------------------------------------------------------------------- icons

_FONTS = {
    # family, weight: the theme's TrueType file (fontTools reads it without brotli)
    ("Font Awesome 6 Free", 900): "fa-solid-900",
    ("Font Awesome 6 Free", 400): "fa-regular-400",
    ("Font Awesome 6 Brands", 400): "fa-brands-400",
}
_ICON_RULE = re.compile(r"([^{}]+)\{content:\"\\([0-9a-f]{4,5})\"\}")
_ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")


def _icon_codepoints(css: str) -> dict[str, int]:
    codepoints = {}
    for selectors, code in _ICON_RULE.findall(css):
        for selector in selectors.split(","):
            match = re.fullmatch(r"\s*\.(fa-[a-z0-9-]+):+before\s*", selector)
            if match:
                codepoints[match[1]] = int(code, 16)
    return codepoints


def subset_icons(app: Sphinx, exception) -> None:
    """Cut Font Awesome's fonts down to the icons that the built pages and the theme's scripts use."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    out = Path(app.outdir)
    static = out / "_static"
    css = (static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    codepoints = _icon_codepoints(css)
    used = set()
    for path in [*out.rglob("*.html"), *(static / "scripts").glob("*.js")]:
        used.update(_ICON_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")))
    wanted = {codepoints[name] for name in used if name in codepoints}
    # Icons the stylesheets draw themselves (admonition titles, the theme's --pst-icon-*
    # variables, dropdown arrows): private-use characters, raw or escaped, outside the
    # icon catalogue itself.
    for sheet in static.rglob("*.css"):
        if "vendor" in sheet.relative_to(static).parts:
            continue
        text = sheet.read_text(encoding="utf-8", errors="replace")
        wanted.update(ord(c) for c in text if 0xE000 <= ord(c) <= 0xF8FF)
        if sheet.name != "pydata-sphinx-theme.css":
            wanted.update(int(code, 16) for code in re.findall(r'content:\s*"\\(f[0-9a-f]{3})"', text))
    unicodes = sorted(wanted)
    rules = ["/* Generated by _ext/course_site.py: Font Awesome cut down to the icons this site shows. */"]
    for (family, weight), name in _FONTS.items():
        source = static / "vendor" / "fontawesome" / "webfonts" / f"{name}.ttf"
        target = static / "icons" / f"{name}-subset.woff"
        target.parent.mkdir(exist_ok=True)
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = []
        options.name_IDs = []
        options.notdef_outline = False
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        subset.save_font(font, str(target), options)
        rules.append(
            f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};font-display:block;'
            f'src:url(icons/{target.name}) format("woff")}}'
        )
    (static / ICONS_CSS).write_text("\n".join(rules) + "\n", encoding="utf-8")
    logger.info("[course_site] %d icons kept in Font Awesome's fonts", len(unicodes))


# --------------------------------------------------------------------------- index.html

REDIRECT_PAGE = """<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta name="description" content="{description}">
<link rel="canonical" href="{target}">
<meta http-equiv="refresh" content="0; url={target}">
</head>
<body>
<p><a href="{target}">{title}</a></p>
</body>
</html>
"""


def write_index(app: Sphinx, exception) -> None:
    """The site's root page: a valid HTML document that redirects to the book's first page."""
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    target = app.builder.get_target_uri(app.config.root_doc)
    page = REDIRECT_PAGE.format(
        language=app.config.language or "en",
        title=html.escape(app.config.html_title or app.config.project),
        description=html.escape(SITE_DESCRIPTION),
        target=html.escape(target),
    )
    (Path(app.outdir) / "index.html").write_text(page, encoding="utf-8")


def add_template_folder(app: Sphinx, config) -> None:
    config.templates_path.append(str(HERE / "templates"))


def fingerprint_static_files(app: Sphinx, config) -> None:
    """Sphinx copies the static files (assets/) only when it writes a page, and writes none when
    no page changed: an edit to course.css alone would never reach the site. Their digest in
    ``html_context``, a setting every page depends on, makes Sphinx rewrite the pages, and so
    copy the files, whenever one of them changes."""
    digest = hashlib.sha256()
    for folder in config.html_static_path:
        root = Path(app.confdir) / folder
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    config.html_context = {**config.html_context, "course_static_files": digest.hexdigest()[:16]}


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", add_template_folder)
    app.connect("config-inited", fingerprint_static_files)
    app.add_html_math_renderer(MATHML_RENDERER, (visit_math, None), (visit_displaymath, None))
    app.connect("html-page-context", mathjax_where_needed)
    app.connect("env-purge-doc", forget_mathjax_pages)
    app.add_css_file(ICONS_CSS)
    app.connect("builder-inited", add_templates)
    # After the other extensions have added their assets to the page.
    app.connect("html-page-context", lean_assets, priority=900)
    app.connect("html-page-context", describe_page)
    app.connect("html-page-context", draw_models_as_files)
    app.connect("build-finished", subset_icons)
    # Before sphinx-external-toc's, which writes a bare redirect when index.html is missing.
    app.connect("build-finished", write_index, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
