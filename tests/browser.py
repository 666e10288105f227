"""Headless Chromium over the built site, served on 127.0.0.1, with the network closed.

Every request the page makes is recorded; Chromium resolves no host but
127.0.0.1, so a request to any other host fails, and is reported, so a test can
assert that the site loads nothing from third parties.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
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
    """What a page asked for: all request URLs, the ones leaving 127.0.0.1, console errors."""

    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


def open_page(browser, url: str, *, viewport=(1280, 900)):
    """Open ``url`` in a new page, recording every request (other hosts cannot be reached)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    traffic = Traffic()

    def on_request(request):
        traffic.requests.append(request.url)
        if not is_local(request.url):
            traffic.foreign.append(request.url)

    # Listening rather than routing: routed requests lose CSS @import's base URL in Chromium.
    page.on("request", on_request)
    page.on("console", lambda m: traffic.console_errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: traffic.failed.append(r.url) if is_local(r.url) else None)
    page.on("response", lambda r: traffic.failed.append(f"{r.status} {r.url}") if r.status >= 400 and is_local(r.url) else None)
    page.goto(url, wait_until="load")
    return page, traffic
