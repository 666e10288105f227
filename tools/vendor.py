"""Vendor the site's third-party JavaScript from the npm registry, at pinned versions.

The published site must load nothing from a CDN, so the widget manager (for
widgets that ``assets/js/widgets-loader.js`` cannot draw itself), RequireJS which it needs,
and MathJax live in ``assets/vendor/`` (served as ``_static/vendor/``). They are committed: a reader's
``make book`` then needs neither npm nor a network. This script is how they
got there; run it (it needs npm) only to change a version:

    python -m tools.vendor          # fetch, verify, copy, write SHA256SUMS
    python -m tools.vendor --check  # verify the committed files against SHA256SUMS

Each tarball is checked against the npm integrity hash recorded here, and every
copied file is listed with its SHA-256 in ``assets/vendor/SHA256SUMS``
(the tests check the committed files against it).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "assets" / "vendor"
SUMS = VENDOR / "SHA256SUMS"

# (npm spec, integrity from `npm view SPEC dist.integrity`, folder, files to keep: globs inside package/)
PACKAGES = [
    (
        "@jupyter-widgets/html-manager@1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        "html-manager-1.0.15",
        # embed-amd.js speaks the ipywidgets 8 protocol; the fonts are its icon font.
        ["dist/embed-amd.js", "dist/embed.js.LICENSE.txt", "dist/*.woff2", "dist/*.woff", "package.json"],
    ),
    (
        "requirejs@2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        "requirejs-2.3.8",
        ["require.js", "README.md"],
    ),
    (
        "mathjax@3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "mathjax-3.2.2",
        # TeX input, CommonHTML output and its fonts, and the TeX extensions it loads on demand.
        ["es5/tex-chtml.js", "es5/output/chtml/fonts/woff-v2/*", "es5/input/tex/extensions/*", "LICENSE"],
    ),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed_files() -> dict[str, str]:
    sums = {}
    for line in SUMS.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name] = digest
    return sums


def check() -> list[str]:
    """Problems with the committed vendored files (empty when all match SHA256SUMS)."""
    if not SUMS.exists():
        return [f"{SUMS} is missing: run python -m tools.vendor"]
    problems = []
    expected = listed_files()
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file() and p != SUMS}
    for name in sorted(present - expected.keys()):
        problems.append(f"{name}: not listed in SHA256SUMS")
    for name, digest in sorted(expected.items()):
        path = VENDOR / name
        if not path.exists():
            problems.append(f"{name}: listed but missing")
        elif sha256(path) != digest:
            problems.append(f"{name}: SHA-256 differs from SHA256SUMS")
    return problems


def fetch() -> None:
    if shutil.which("npm") is None:
        sys.exit("npm is needed to fetch the vendored packages (apt-get install npm, or install Node.js).")
    shutil.rmtree(VENDOR, ignore_errors=True)
    VENDOR.mkdir(parents=True)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, integrity, folder, patterns in PACKAGES:
            name = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, check=True, capture_output=True, text=True).stdout.split()[-1]
            tarball = Path(tmp) / name
            algorithm, expected = integrity.split("-", 1)
            actual = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
            if actual != expected:
                sys.exit(f"{spec}: the tarball's {algorithm} is {actual}, expected {expected}; refusing to vendor it.")
            unpacked = Path(tmp) / folder
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
            package = unpacked / "package"
            for pattern in patterns:
                matches = sorted(package.glob(pattern))
                if not matches:
                    sys.exit(f"{spec}: nothing matches {pattern}")
                for source in matches:
                    target = VENDOR / folder / source.relative_to(package)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                    lines.append(f"{sha256(target)}  {target.relative_to(VENDOR)}")
            print(f"vendored {spec} into assets/vendor/{folder}")
    SUMS.write_text("\n".join(sorted(lines, key=lambda line: line.split(maxsplit=1)[1])) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files; fetch nothing")
    if parser.parse_args().check:
        problems = check()
        print("\n".join(problems) or "vendored files match SHA256SUMS")
        sys.exit(1 if problems else 0)
    fetch()
