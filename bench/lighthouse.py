"""Lighthouse on every page of the built site (issue 16): medians of 3 runs, bytes, failing audits, budgets.

Run on its own:

    .venv/bin/python -m bench.lighthouse [--site _build/html] [--runs 3] [--pages book/intro,...]
                                         [--form-factors mobile,desktop]

or as part of ``make bench`` (``bench/run.py --only lighthouse``). The site is served
gzip-compressed from 127.0.0.1 as a static host serves it (``tools/browser.py``), and
Lighthouse (npm, pinned in ``bench/package.json``, installed on first use) drives
Debian's Chromium (``CHROME_PATH``, default /usr/bin/chromium). Scores move between runs
on a shared machine; the budgets are checked here, not in unit tests. The table and the
raw numbers go to ``bench/results/lighthouse.json``; the exit code is 0 whether budgets
pass or fail, 1 only when Lighthouse could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__:
    sys.exit("Run Lighthouse from the repository's folder: .venv/bin/python -m bench.lighthouse")

from tools.browser import serve
from tools.toc import book_files

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")

# Issue 16's budgets: mobile performance per page (>= 90, the explorer and Draw a digit >= 75),
# desktop performance >= 95 everywhere, and 100 for accessibility, best practices and SEO.
MOBILE_PERFORMANCE = {"book/05_explorer": 75, "book/draw_a_digit": 75}
DEFAULT_MOBILE_PERFORMANCE = 90
DESKTOP_PERFORMANCE = 95
OTHER_CATEGORIES = 100
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
}


def log(message: str) -> None:
    print(f"[lighthouse {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pages_of_the_book() -> list[str]:
    return book_files(REPO)


def ensure_lighthouse() -> None:
    if not LIGHTHOUSE.exists():
        log("installing Lighthouse from bench/package-lock.json (npm ci)")
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=BENCH, check=True)


def budget(doc: str, form_factor: str, category: str) -> int:
    if category != "performance":
        return OTHER_CATEGORIES
    if form_factor == "desktop":
        return DESKTOP_PERFORMANCE
    return MOBILE_PERFORMANCE.get(doc, DEFAULT_MOBILE_PERFORMANCE)


def run_once(url: str, form_factor: str) -> dict:
    """One Lighthouse run: scores (0-100), metrics, bytes and the audits that did not pass."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as profile:
        command = [
            str(LIGHTHOUSE), url, "--quiet", "--output=json", "--output-path=stdout",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS} --user-data-dir={profile}",
        ]
        if form_factor == "desktop":
            command.append("--preset=desktop")
        env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"lighthouse failed on {url} ({form_factor}):\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse: {report['runtimeError']}")
    audits = report["audits"]
    failing = set()
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = audits[ref["id"]]
            # Performance's metrics are reported as numbers below; the other audits as pass/fail.
            if ref.get("group") == "metrics" or ref.get("weight", 0) == 0 and category == "performance":
                continue
            if audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings") and audit.get("score") is not None and audit["score"] < 1:
                failing.add(f"{category}:{ref['id']}")
    return {
        "scores": {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES},
        "metrics": {name: audits[key]["numericValue"] for key, name in METRICS.items()},
        "bytes": audits["total-byte-weight"]["numericValue"],
        "failing": sorted(failing),
    }


def measure(site: Path, pages: list[str], runs: int, form_factors: list[str]) -> dict:
    ensure_lighthouse()
    results = {}
    with serve(site) as base_url:
        for form_factor in form_factors:
            for doc in pages:
                url = f"{base_url}/{doc}.html"
                each = []
                for i in range(runs):
                    log(f"{form_factor} {doc} run {i + 1}/{runs}")
                    each.append(run_once(url, form_factor))
                failing_in_most = sorted({a for r in each for a in r["failing"] if sum(a in s["failing"] for s in each) * 2 > len(each)})
                results[f"{form_factor} {doc}"] = {
                    "form_factor": form_factor,
                    "page": doc,
                    "runs": each,
                    "median_scores": {c: statistics.median(r["scores"][c] for r in each) for c in CATEGORIES},
                    "median_metrics": {m: statistics.median(r["metrics"][m] for r in each) for m in METRICS.values()},
                    "median_bytes": statistics.median(r["bytes"] for r in each),
                    "failing_audits": failing_in_most,
                }
    return results


def table(results: dict) -> str:
    header = ("page", "form", "perf", "a11y", "best", "seo", "LCP s", "TBT ms", "CLS", "kB", "budgets", "audits failing in most runs")
    rows = []
    for r in results.values():
        s, m = r["median_scores"], r["median_metrics"]
        missed = [f"{c} {s[c]:g}<{budget(r['page'], r['form_factor'], c)}" for c in CATEGORIES if s[c] < budget(r["page"], r["form_factor"], c)]
        rows.append((
            r["page"], r["form_factor"], f"{s['performance']:g}", f"{s['accessibility']:g}", f"{s['best-practices']:g}", f"{s['seo']:g}",
            f"{m['LCP'] / 1000:.1f}", f"{m['TBT']:.0f}", f"{m['CLS']:.3f}", f"{r['median_bytes'] / 1e3:,.0f}",
            "PASS" if not missed else "FAIL " + ", ".join(missed), ", ".join(a.split(":", 1)[1] for a in r["failing_audits"]),
        ))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    fmt = lambda row: "| " + " | ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)) + " |"  # noqa: E731
    budgets = (f"budgets: performance mobile >= {DEFAULT_MOBILE_PERFORMANCE} (explorer, draw a digit >= 75), desktop >= {DESKTOP_PERFORMANCE}; "
               f"accessibility, best practices, SEO = {OTHER_CATEGORIES}; medians of each page's runs")
    return "\n".join([budgets, "", fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows)])


def run(site: Path, pages: list[str] | None = None, runs: int = 3, form_factors=("mobile", "desktop")) -> dict:
    """Measure and return {"pages": ..., "table": ..., "budgets_met": bool} (what bench/run.py records)."""
    results = measure(site, pages or pages_of_the_book(), runs, list(form_factors))
    met = all(
        r["median_scores"][c] >= budget(r["page"], r["form_factor"], c) for r in results.values() for c in CATEGORIES
    )
    return {"pages": results, "table": table(results), "budgets_met": met, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", help="comma-separated documents (default: every page of _toc.yml)")
    parser.add_argument("--form-factors", default="mobile,desktop")
    args = parser.parse_args()
    if not (args.site / "index.html").exists():
        parser.error(f"{args.site} is not a built site: run make book")
    try:
        outcome = run(args.site, args.pages.split(",") if args.pages else None, args.runs, args.form_factors.split(","))
    except (RuntimeError, subprocess.SubprocessError) as error:
        log(f"FAILED: {error}")
        return 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lighthouse.json").write_text(json.dumps(outcome, indent=1))
    print(outcome["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
