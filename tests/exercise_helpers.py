"""Helpers for tests/test_exercises.py: build, read and grade the exercise notebooks."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
SOURCES = EXERCISES / "source"
NAMES = sorted(path.stem for path in SOURCES.glob("*.ipynb"))


def env() -> dict:
    variables = dict(os.environ)
    variables.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return variables


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env(), capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def build(student_dir: Path, autograder_dir: Path) -> None:
    """What `make exercises` runs, into other folders, without re-running the tests on the solutions."""
    run([sys.executable, str(EXERCISES / "build.py"), "--no-run-tests", "--student-dir", str(student_dir), "--autograder-dir", str(autograder_dir)])


def grade(paths: list[Path], output: Path, *extra: str) -> list[dict]:
    """The instructor's command; returns the CSV rows."""
    run([sys.executable, str(EXERCISES / "grade.py"), *map(str, paths), "-o", str(output), "-j", "2", *extra])
    with output.open(newline="") as f:
        return list(csv.DictReader(f))


def load_test_cases(autograder_zip: Path) -> dict[str, list]:
    """Every test case (public and hidden) of each question, as otter's `test_case` objects."""
    cases: dict[str, list] = {}
    with zipfile.ZipFile(autograder_zip) as archive:
        for member in sorted(archive.namelist()):
            if member.startswith("tests/") and member.endswith(".py"):
                namespace: dict = {}
                exec(compile(archive.read(member).decode(), member, "exec"), namespace)
                from otter.test_files import test_case

                cases[Path(member).stem] = [v for v in namespace.values() if isinstance(v, test_case)]
    return cases


def failures(cases: list, environment: dict) -> list[tuple[str, str]]:
    """Run test cases against a global environment; the (exception type, message) of each failure."""
    failed = []
    for case in cases:
        try:
            case.call_func(environment)
        except Exception as error:  # what otter does too: any exception fails the case
            failed.append((type(error).__name__, str(error)))
    return failed


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _marker(text: str, name: str) -> str | None:
    """"begin" or "end" for an Otter Assign marker line "# BEGIN NAME" / "# END NAME", else None."""
    found = re.match(rf"#\s*(BEGIN|END)\s+{name}\b", text.strip(), re.I)
    return found.group(1).lower() if found else None


def solution_lines(source_notebook: Path) -> list[str]:
    """The lines of solution code in an Otter Assign source (stripped, long enough to be telling)."""
    lines, inside = [], False
    for cell in cells(source_notebook):
        text = _source(cell)
        if cell["cell_type"] == "raw":
            inside = {"begin": True, "end": False}.get(_marker(text, "SOLUTION"), inside)
            continue
        if not (inside and cell["cell_type"] == "code"):
            continue
        block = False
        for line in text.splitlines():
            stripped = line.strip()
            if _marker(stripped, "SOLUTION"):
                block = _marker(stripped, "SOLUTION") == "begin"
            elif block:
                lines.append(stripped)
            elif re.search(r"#\s*SOLUTION\s*$", stripped):
                lines.append(re.sub(r"\s*#\s*SOLUTION\s*$", "", stripped))
    # A prompt may give a line away on purpose ("Then set `model = build_model()`").
    prompts = "\n".join(_source(cell) for cell in cells(source_notebook) if cell["cell_type"] == "markdown")
    return [line for line in lines if len(line) >= 16 and not line.startswith("#") and line not in prompts]


def split_test_cells(source_notebook: Path) -> tuple[list[str], list[str]]:
    """The sources of the public and of the hidden test cells of an Otter Assign source."""
    public, hidden, inside = [], [], False
    for cell in cells(source_notebook):
        text = _source(cell)
        if cell["cell_type"] == "raw":
            inside = {"begin": True, "end": False}.get(_marker(text, "TESTS"), inside)
        elif inside and cell["cell_type"] == "code":
            first = text.lstrip().splitlines()[0] if text.strip() else ""
            (hidden if first.startswith("#") and re.search(r"\bhidden\b", first, re.I) else public).append(text)
    return public, hidden


def hidden_lines(source_notebook: Path) -> list[str]:
    """Lines of the hidden tests that appear in no public test (those must stay secret)."""
    public, hidden = split_test_cells(source_notebook)
    public_text = "\n".join(public)
    lines = {line.strip() for text in hidden for line in text.splitlines()[1:]}
    return sorted(line for line in lines if len(line) >= 20 and line not in public_text)


def student_text(notebook: Path) -> str:
    """Everything a student can see in a notebook: cell sources and the metadata (public tests)."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    parts = [_source(cell) for cell in data["cells"]]
    parts += list(data["metadata"].get("otter", {}).get("tests", {}).values())
    return "\n".join(parts)
