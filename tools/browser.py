"""Headless Chromium over the built site, served on 127.0.0.1, with the network closed.

Shared by the tests and the benchmark (``from tools.browser import ...``).

The site is served as a static host (GitHub Pages) serves it: text files
gzip-compressed when the browser asks for it, so the bytes a page transfers are
the bytes a reader downloads. Every request the page makes is recorded;
Chromium resolves no host but 127.0.0.1, so a request to any other host fails,
and is reported, so a test can assert that the site loads nothing from third
parties. Console errors, uncaught exceptions and failed requests are recorded
too: the three ways a page can break that a reader may not see at once.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Close the network: every host name but 127.0.0.1 fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# What GitHub Pages compresses: text. Images and fonts (woff2, png) are compressed already.
COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """A static host: gzip for text when the browser accepts it, with the length of what is sent."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "application/javascript", ".mjs": "application/javascript"}

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        content_type = self.guess_type(str(path))
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (path.is_file() and accepts_gzip and content_type.startswith(COMPRESSED_TYPES)):
            return super().send_head()
        body = _gzipped(str(path), path.stat().st_mtime_ns)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(body)


@functools.lru_cache(maxsize=512)
def _gzipped(path: str, mtime_ns: int) -> bytes:
    # Level 6, as nginx-like static hosts use; mtime=0 so the same file gives the same bytes.
    return gzip.compress(Path(path).read_bytes(), compresslevel=6, mtime=0)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A page closed while a file was still being sent: the browser's doing, not the site's.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 at a free port, gzip-compressed; yield the base URL."""
    handler = functools.partial(_StaticHandler, directory=str(folder))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def missing_browser_message() -> str | None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return None
    return (
        f"Chromium is missing ({CHROMIUM} does not exist). The browser tests drive Debian's chromium: "
        "install it with `apt-get install chromium` (make test does so when run as root), "
        "or set CHROMIUM to another Chromium binary."
    )


@contextlib.contextmanager
def launch():
    """A headless Chromium from playwright, started with this workplace's flags."""
    from playwright.sync_api import sync_playwright

    problem = missing_browser_message()
    if problem:
        raise RuntimeError(problem)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Traffic:
    """What a page did: its requests, the ones leaving 127.0.0.1, what broke, what it transferred."""

    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    # Uncaught exceptions (a SyntaxError in a script, a TypeError in a handler): not console messages.
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Bytes on the wire per finished request (body as sent, gzip included, plus headers).
    transferred: dict[str, int] = field(default_factory=dict)

    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"uncaught exception: {m}" for m in self.page_errors]
            + [f"failed request: {m}" for m in self.failed]
            + [f"request to another host: {m}" for m in self.foreign]
        )

    def copy(self) -> "Traffic":
        return Traffic(*(type(v)(v) for v in vars(self).values()))


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


MODES = ("light", "dark")


class Tab:
    """One browser tab (in a context of its own) that visits pages one after another.

    Each visit is a first visit: the tab forgets what it loaded and what the site stored
    before, so every request reaches the server and its bytes are counted. Each visit records
    into its own :class:`Traffic` (other hosts cannot be reached). Navigating one tab costs Chromium a
    third of the CPU of a new context per page: the audits of every page use one tab.

    ``mode`` ("light" or "dark") is the theme's colour mode, chosen as a reader
    chooses it: the theme keeps it in localStorage ``mode`` and sets ``data-theme``
    on <html> from it; the browser's own colour scheme is set to match.
    """

    def __init__(self, browser, *, viewport=(1280, 900), mode: str | None = None, touch: bool = False):
        self.viewport = {"width": viewport[0], "height": viewport[1]}  # the size it opens at
        options = {"viewport": self.viewport}
        if mode is not None:
            if mode not in MODES:
                raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
            options["color_scheme"] = mode
        if touch:
            options.update(has_touch=True, is_mobile=True)
        self.context = browser.new_context(**options)
        if mode is not None:
            self.context.add_init_script(f"try {{ localStorage.setItem('mode', '{mode}'); }} catch (e) {{}}")
        self.page = page = self.context.new_page()
        self._devtools = self.context.new_cdp_session(page)
        self.traffic = Traffic()

        def on_request(request):
            self.traffic.requests.append(request.url)
            if not is_local(request.url):
                self.traffic.foreign.append(request.url)

        def on_finished(request):
            if urlsplit(request.url).scheme in ("http", "https"):
                sizes = request.sizes()
                sent = sizes["responseBodySize"] + sizes["responseHeadersSize"]
                self.traffic.transferred[request.url] = self.traffic.transferred.get(request.url, 0) + sent

        def failed(message: str) -> None:
            self.traffic.failed.append(message)

        # Listening rather than routing: routed requests lose CSS @import's base URL in Chromium.
        page.on("request", on_request)
        page.on("requestfinished", on_finished)
        page.on("console", lambda m: self.traffic.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.traffic.page_errors.append(f"{error.name}: {error.message}"))
        page.on("requestfailed", lambda r: failed(f"{r.failure} {r.url}") if is_local(r.url) else None)
        page.on("response", lambda r: failed(f"{r.status} {r.url}") if r.status >= 400 and is_local(r.url) else None)

    def visit(self, url: str) -> Traffic:
        """Load ``url`` in this tab; what it does from now on goes into the returned Traffic."""
        # Forget the last page, as a new context would: leave it (a blank page drops what the
        # renderer keeps in memory, web fonts included), then clear the HTTP cache and what the
        # site stored, so that the bytes counted are a first visit's and no page sees another's state.
        self.page.goto("about:blank")
        self._devtools.send("Network.clearBrowserCache")
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            self._devtools.send("Storage.clearDataForOrigin", {
                "origin": f"{parts.scheme}://{parts.netloc}",
                "storageTypes": "cookies,local_storage,session_storage,indexeddb,cache_storage,service_workers",
            })
        self.traffic = Traffic()
        self.page.goto(url, wait_until="load")
        return self.traffic

    def close(self) -> None:
        self.context.close()


def open_page(browser, url: str, *, viewport=(1280, 900), mode: str | None = None, touch: bool = False):
    """``url`` in a new :class:`Tab`: the page (close it with ``page.context.close()``) and its Traffic."""
    tab = Tab(browser, viewport=viewport, mode=mode, touch=touch)
    return tab.page, tab.visit(url)


# A widget view saved in a page: assets/js/widgets-loader.js draws it from the saved state
# when it comes into view.
SAVED_WIDGET_SELECTOR = "script[type='application/vnd.jupyter.widget-view+json']"


def show_first_widget(page, drawn_selector: str) -> None:
    """Scroll to the page's first saved widget and wait until ``drawn_selector`` is visible."""
    page.locator(f".cell_output:has({SAVED_WIDGET_SELECTOR})").first.scroll_into_view_if_needed()
    page.wait_for_selector(drawn_selector, state="visible", timeout=60000)


def settle(page, traffic, quiet_checks: int = 3) -> None:
    """Wait until the page has asked for nothing new for a few checks and every request has ended."""
    stable, seen = 0, -1
    for _ in range(200):  # at most ~40 s; what never ended is in the Traffic for the caller to see
        page.wait_for_timeout(200)
        count = len(traffic.requests)
        ended = len(traffic.transferred) + len(traffic.failed) + len(traffic.foreign)
        stable = stable + 1 if count == seen and ended >= len(set(traffic.requests)) - 1 else 0
        seen = count
        if stable >= quiet_checks:
            return


def read_to_the_end(page, traffic) -> None:
    """Scroll down a screen at a time, as a reader does, letting what loads on the way load."""
    height = page.evaluate("document.documentElement.scrollHeight")
    step = page.viewport_size["height"]
    for y in range(0, height + step, step):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(50)
    settle(page, traffic)
    if page.locator(SAVED_WIDGET_SELECTOR).count():
        # Drawn from the saved state by widgets-loader.js (or by the widget manager it fetches).
        page.wait_for_selector(".widget-subarea .lite-widget, .widget-subarea .jupyter-widgets", timeout=60000)
        settle(page, traffic)


def visit_and_read(tab: Tab, url: str) -> tuple[Traffic, int]:
    """A first visit to ``url`` in ``tab``, settled, then read to the end: the visit's Traffic
    and the bytes it had transferred before the reading (the page's first-visit weight)."""
    traffic = tab.visit(url)
    settle(tab.page, traffic)  # (as Playwright's "networkidle" would, and then until every request has ended)
    first_visit = sum(traffic.transferred.values())
    read_to_the_end(tab.page, traffic)
    return traffic, first_visit
