"""tools/launch_notebooks.py turns MyST Markdown into Markdown plain Jupyter renders (no build needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import launch_notebooks as launch

ROOT = Path(__file__).resolve().parents[1]

SITE = "https://example.org/course"


class FakeSite:
    """What SiteIndex would read from the built pages."""

    titles = {"book/02_flattening": "Flattening"}
    anchors = {"sec-split": ("book/01_dataset", "Training set and test set")}
    figure_numbers = {"fig-samples": ("book/01_dataset", "Fig. 1"), "fig-other": ("book/02_flattening", "Fig. 5")}
    terms = {"training set": "book/glossary.html#term-Training-set"}

    def url(self, site, doc, anchor=""):
        return f"{site}/{doc}.html" + (f"#{anchor}" if anchor else "")


@pytest.fixture
def convert():
    converter = launch.ChapterConverter(
        "book/01_dataset", {"n_train": "60000", "acc": "0.92531", "name": "'sigmoid'"}, FakeSite(), {"site": SITE},
        {"lecun1998gradient": "LeCun et al., 1998"},
    )
    return converter.markdown


def test_glued_numbers_are_formatted_as_the_site_formats_them(convert):
    assert convert("{glue:text}`n_train:,` images, {glue:text}`acc:.1%`, {glue:text}`name`") == "60,000 images, 92.5%, sigmoid"


def test_links_into_the_site(convert):
    assert convert("the {term}`training set <Training set>`") == f"the [training set]({SITE}/book/glossary.html#term-Training-set)"
    assert convert("see {doc}`02_flattening`") == f"see [Flattening]({SITE}/book/02_flattening.html)"
    assert convert("{doc}`the next one <./02_flattening>`") == f"[the next one]({SITE}/book/02_flattening.html)"
    assert convert("{ref}`sec-split`") == f"[Training set and test set]({SITE}/book/01_dataset.html#sec-split)"
    assert convert("{cite}`lecun1998gradient`") == f"([LeCun et al., 1998]({SITE}/book/bibliography.html))"


def test_figure_references_name_the_site_numbers(convert):
    assert convert("in {numref}`fig-samples`") == "in Fig. 1"  # this chapter's caption cell carries the number
    assert convert("{numref}`Figure %s <fig-other>`") == f"[Figure 5]({SITE}/book/02_flattening.html#fig-other)"


def test_admonitions_become_block_quotes_and_labels_vanish(convert):
    source = "(sec-split)=\n## Split\n% a comment\n```{admonition} Learning objectives\n:class: tip\n- one {glue:text}`n_train:,`\n```\n\n```{note}\nPlain.\n```"
    assert convert(source) == "## Split\n> **Learning objectives**\n>\n> - one 60,000\n\n> **Note**\n>\n> Plain."


@pytest.mark.parametrize(
    "source, problem",
    [
        ("{glue:text}`missing`", "no glued value"),
        ("{term}`Nothing`", "no such glossary term"),
        ("{unknownrole}`x`", "has no plain-Markdown form"),
        ("```{raw} html\n<b>x</b>\n```", "has no plain-Markdown form"),
        ("{numref}`fig-nowhere`", "no such label"),
    ],
)
def test_what_cannot_be_converted_stops_the_build(convert, source, problem):
    with pytest.raises(launch.LaunchError, match=problem):
        convert(source)


def test_setup_cell_installs_from_the_configured_branch_and_fails_loudly():
    settings = {"repository": "https://github.com/someone/course", "branch": "launch", "site": SITE}
    cell = launch.setup_cell(settings)
    assert '"mnist_course @ git+https://github.com/someone/course@launch"' in cell.source
    assert "raise RuntimeError" in cell.source and "raise ImportError" in cell.source
    compile(cell.source, "setup", "exec")  # valid Python, no IPython magics


def test_settings_come_from_config_yml():
    settings = launch.course_settings(ROOT)
    assert settings["repository"].startswith("https://github.com/") and settings["branch"] and settings["site"].startswith("https://")
