"""Every built page, in headless Chromium over 127.0.0.1: no console error, nothing loaded from
third parties, internal links that resolve, images with alt text, and no serious or critical
accessibility violation (axe-core). Prints a table of page weights."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from browser import Traffic, launch, open_page, serve
from pages import toc_files

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGES = ["index"] + toc_files()


@pytest.fixture(scope="module")
def audit(built_book):
    """Open every page once and record what the tests below check."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    results = {}
    with serve(built_book) as base_url, launch() as browser:
        for doc in PAGES:
            page, traffic = open_page(browser, f"{base_url}/{doc}.html")
            page.wait_for_load_state("networkidle")
            links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src') || '', e.getAttribute('alt')])")
            # What the page itself did, before axe runs (axe-core fetches stylesheets itself to
            # read them, and resolves their @import against the page: a 404 that is axe's, not ours).
            seen = Traffic(list(traffic.requests), list(traffic.foreign), list(traffic.console_errors), list(traffic.failed))
            violations = axe.run(page).response["violations"]
            local_bytes = sum(_size(built_book, base_url, url) for url in set(seen.requests))
            results[doc] = {
                "traffic": seen,
                "links": links,
                "images": images,
                "violations": [v for v in violations if v.get("impact") in ("serious", "critical")],
                "html_bytes": (built_book / f"{doc}.html").stat().st_size,
                "loaded_bytes": local_bytes,
            }
            page.context.close()
    return results, built_book


def _size(root: Path, base_url: str, url: str) -> int:
    if not url.startswith(base_url):
        return 0
    path = root / unquote(urlsplit(url).path).lstrip("/")
    return path.stat().st_size if path.is_file() else 0


def test_no_console_errors(audit):
    results, _ = audit
    errors = {doc: r["traffic"].console_errors for doc, r in results.items() if r["traffic"].console_errors}
    assert not errors


def test_no_request_leaves_127_0_0_1(audit):
    results, _ = audit
    foreign = {doc: r["traffic"].foreign for doc, r in results.items() if r["traffic"].foreign}
    assert not foreign
    failed = {doc: r["traffic"].failed for doc, r in results.items() if r["traffic"].failed}
    assert not failed


def test_internal_links_resolve(audit):
    results, root = audit
    broken = []
    for doc, r in results.items():
        for href in r["links"]:
            parts = urlsplit(href)
            if parts.hostname != "127.0.0.1":
                continue
            target = root / unquote(parts.path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append((doc, href))
    assert not broken


def test_every_image_has_alt_text(audit):
    results, _ = audit
    missing = [(doc, src[:80]) for doc, r in results.items() for src, alt in r["images"] if not (alt or "").strip()]
    assert not missing


def test_no_serious_or_critical_accessibility_violations(audit):
    results, _ = audit
    found = {
        doc: [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"]) for v in r["violations"]]
        for doc, r in results.items()
        if r["violations"]
    }
    assert not found


def test_page_weights(audit, capsys):
    results, root = audit
    site = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    with capsys.disabled():
        print("\n\npage weights (HTML file / everything the page loaded from 127.0.0.1)")
        for doc, r in results.items():
            print(f"  {doc:<28} {r['html_bytes'] / 1e3:>9,.0f} kB {r['loaded_bytes'] / 1e6:>8.2f} MB")
        print(f"  {'whole site (_build/html)':<28} {site / 1e6:>9.1f} MB\n")
    assert all(r["html_bytes"] < 3_000_000 for r in results.values())
