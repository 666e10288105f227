"""The vendored JavaScript is exactly what tools/vendor.py fetched and checked."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vendored_files_match_their_checksums():
    spec = importlib.util.spec_from_file_location("vendor", ROOT / "tools" / "vendor.py")
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    assert vendor.check() == []
    listed = vendor.listed_files()
    for needed in ("requirejs-2.3.8/require.js", "html-manager-1.0.15/dist/embed-amd.js", "mathjax-3.2.2/es5/tex-chtml.js"):
        assert needed in listed
