""""The next chapter" is the next one in _toc.yml: references to neighbouring chapters name them.

A sentence that says *next*, *previous* or *last chapter* (or a closing "Next:")
must link ({doc}) the chapter it means, and that chapter must really stand
there in the table of contents, so that reordering the book breaks this test
instead of the prose.
"""

from __future__ import annotations

import json
import re

import pytest

from pages import source_of, toc_files

COURSE = [doc for doc in toc_files() if doc.startswith("book/") and doc not in ("book/intro", "book/glossary", "book/bibliography")]
DOC_LINK = re.compile(r"\{doc\}`(?:[^`<]*<)?([\w./-]+?)>?`")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z{*(])")
REFERENCES = {
    "next": re.compile(r"\bnext chapter\b|^Next:", re.I),
    "previous": re.compile(r"\b(previous|last) chapter\b(?! of)|\bthe chapter before\b", re.I),
}


def _prose(doc: str) -> str:
    path = source_of(doc)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # code and directives' bodies
    return text


def _sentences(doc: str):
    """Each sentence, with the text in which its link may stand: the sentence, or for a
    closing "Next: ..." the whole paragraph it opens."""
    for paragraph in re.split(r"\n\s*\n", _prose(doc)):
        paragraph = " ".join(paragraph.split())
        for sentence in SENTENCE_END.split(paragraph):
            yield sentence, paragraph if paragraph.startswith("Next:") else sentence


def _linked(sentence: str, doc: str) -> set[str]:
    folder = doc.rsplit("/", 1)[0]
    return {target if "/" in target else f"{folder}/{target}" for target in DOC_LINK.findall(sentence)}


@pytest.mark.parametrize("doc", COURSE)
def test_neighbouring_chapters_are_named_and_in_place(doc):
    position = COURSE.index(doc)
    for sentence, context in _sentences(doc):
        if REFERENCES["next"].search(sentence):
            assert position + 1 < len(COURSE), f"{doc} is the last chapter: {sentence!r}"
            assert COURSE[position + 1] in _linked(context, doc), (
                f"{doc}: 'next' must link the next chapter in _toc.yml, {COURSE[position + 1]}: {sentence!r}"
            )
        match = REFERENCES["previous"].search(sentence)
        if match:
            word = match.group(1) or ""
            # "the last chapter" may mean the book's final chapter; "previous" the one before this.
            allowed = {COURSE[-1]} if word.lower() == "last" else set()
            if position:
                allowed.add(COURSE[position - 1])
            assert _linked(sentence, doc) & allowed, f"{doc}: {match.group(0)!r} must link one of {sorted(allowed)}: {sentence!r}"


def test_the_rule_catches_a_wrong_next_chapter(monkeypatch):
    doc = COURSE[0]
    monkeypatch.setattr(__import__(__name__), "_prose", lambda _: "Next: the {doc}`explorer <05_explorer>`.")
    with pytest.raises(AssertionError, match="next chapter in _toc.yml"):
        test_neighbouring_chapters_are_named_and_in_place(doc)


# The glossary's terms that chapters used without defining (issue 14): each chapter that
# uses one links it to the glossary at least once.
LINKED_TERMS = {
    "Unit": r"\bunits?\b",
    "Hidden layer": r"\bhidden layers?\b",
    "Kernel": r"\bkernels?\b",
    "Logits": r"\blogits?\b",
    "One-hot": r"\bone-hot\b",
    "Seed": r"\bseeds?\b",
    "Template": r"\btemplates?\b",
    "Validation split": r"\bvalidation split\b|`validation_split`",
}
TERM_LINK = re.compile(r"\{term\}`(?:[^`<]*<)?([^`<>]+?)>?`")


def _plain_prose(doc: str) -> str:
    """The prose without maths, inline code, roles' targets and link texts."""
    text = _prose(doc)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text, flags=re.S)
    text = re.sub(r"\{(term|doc|ref|numref|cite|glue:text|glue)\}`[^`]*`", " ", text)
    return re.sub(r"`[^`]*`", lambda m: m.group(0) if m.group(0) == "`validation_split`" else " ", text)


@pytest.mark.parametrize("doc", COURSE)
def test_glossary_terms_are_linked_where_used(doc):
    linked = {target.strip().lower() for target in TERM_LINK.findall(_prose(doc))}
    prose = _plain_prose(doc)
    missing = [term for term, pattern in LINKED_TERMS.items() if re.search(pattern, prose, re.I) and term.lower() not in linked]
    assert not missing, f"{doc} uses {missing} without a {{term}} link to the glossary"
