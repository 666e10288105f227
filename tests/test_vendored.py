"""The vendored JavaScript is exactly what tools/vendor.py fetched and checked."""

from tools import vendor


def test_vendored_files_match_their_checksums():
    assert vendor.check() == []
    listed = vendor.listed_files()
    for needed in ("requirejs-2.3.8/require.js", "html-manager-1.0.15/dist/embed-amd.js", "mathjax-3.2.2/es5/tex-chtml.js"):
        assert needed in listed
