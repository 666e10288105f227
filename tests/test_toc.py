"""tools/toc.py: the documents of _toc.yml in reading order, as Jupyter Book reads them."""

from __future__ import annotations

import textwrap

import pytest
from sphinx_external_toc.parsing import MalformedError

from tools.toc import book_files


def test_nested_sections_come_in_reading_order(tmp_path):
    (tmp_path / "_toc.yml").write_text(textwrap.dedent("""\
        format: jb-book
        root: intro
        parts:
          - caption: One
            chapters:
              - file: a
                sections:
                  - file: a1
                  - file: a2
              - file: b
              - url: https://example.org
                title: Elsewhere
          - caption: Two
            chapters:
              - file: c
        """))
    assert book_files(tmp_path) == ["intro", "a", "a1", "a2", "b", "c"]


def test_a_toc_the_book_would_reject_is_rejected(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: a\n  - file: a\n")
    with pytest.raises(MalformedError, match="used multiple times"):
        book_files(tmp_path)
