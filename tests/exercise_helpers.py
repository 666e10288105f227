"""Helpers for tests/test_exercises.py: build, read and grade the exercise notebooks."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
SOURCES = EXERCISES / "source"
NAMES = sorted(path.stem for path in SOURCES.glob("*.ipynb"))


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    # In the tests' environment (tests/conftest.py): TensorFlow quiet.
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def build(student_dir: Path, autograder_dir: Path) -> None:
    """What `make exercises` runs, into other folders, without re-running the tests on the solutions."""
    run([sys.executable, "-m", "exercises.build", "--no-run-tests", "--student-dir", str(student_dir), "--autograder-dir", str(autograder_dir)], cwd=EXERCISES.parent)


def grade(paths: list[Path], output: Path, *extra: str) -> list[dict]:
    """The instructor's command; returns the CSV rows. One submission at a time: the tests already
    grade two exercises at once beside the book build, and a kernel starved of CPU for a minute
    fails to start (otter gives it 60 s)."""
    run([sys.executable, "-m", "exercises.grade", *map(str, paths), "-o", str(output), "-j", "1", *extra], cwd=EXERCISES.parent)
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


def notebook_environment(notebook: Path) -> dict:
    """The globals after running a notebook's code cells in this process, as Run All would leave them.

    Otter's own cells (``import otter``, ``grader.check(...)``, ``grader.export(...)``) are left
    out: the checks are run on these globals by the caller instead.
    """
    environment: dict = {"__name__": "__main__"}
    for index, cell in enumerate(cells(notebook)):
        source = _source(cell)
        if cell["cell_type"] != "code" or "grader" in source or "import otter" in source:
            continue
        exec(compile(source, f"<{notebook.stem} cell {index}>", "exec"), environment)
    return environment


def public_tests(notebook: Path) -> dict[str, str]:
    """The source of each question's public test file, as stored in the student notebook's metadata."""
    return json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["otter"]["tests"]


def feedback(test_source: str, environment: dict, question: str = "q") -> list[tuple[bool, str]]:
    """What a student sees for one check: (passed, otter's message) of each test case, run by otter itself."""
    from otter.test_files.exception_test import ExceptionTestFile

    test_file = ExceptionTestFile.from_string(test_source, path=f"{question}.py")
    test_file.run(environment)
    return [(result.passed, result.message) for result in test_file.test_case_results]


# Every check ends with this line, the one otter shows above a failure's message: it holds no value.
REPORT_LINE = "assert message is None, message"


def with_code(environment: dict, code: str) -> dict:
    """A copy of a notebook's globals with code run on top, as if a student had changed a cell."""
    changed = dict(environment)
    exec(compile(code, "<changed answer>", "exec"), changed)
    return changed


def answer_names(notebook: Path) -> dict[str, list[str]]:
    """The names each question's public check reads, from the answer lines of the student notebook
    (``name = ...``, ``a, b = ..., ...``, ``def name(``), in the order the notebook defines them."""
    tests = public_tests(notebook)
    found: dict[str, list[str]] = {}
    pending: list[str] = []
    for cell in cells(notebook):
        source = _source(cell)
        if cell["cell_type"] != "code":
            continue
        check = re.fullmatch(r'grader\.check\("(q\d+)"\)', source.strip())
        if check:
            question = check.group(1)
            found[question] = [name for name in pending if f'"{name}"' in tests[question] or f"'{name}'" in tests[question]]
            pending = []
            continue
        for line in source.splitlines():
            assigned = re.fullmatch(r"([\w, ]+?) = \.\.\.(, \.\.\.)*", line.strip())
            if assigned:
                pending += [name.strip() for name in assigned.group(1).split(",")]
            defined = re.match(r"def (\w+)\(", line)
            if defined:
                pending.append(defined.group(1))
    return found


def secret_patterns(value) -> list[str]:
    """Regular expressions for the ways feedback could spell out an answer's value (none for functions,
    models or large arrays). One-digit numbers and booleans are too common to look for bare: only
    phrases that state them as the expected value count."""
    import numbers

    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return [rf"(?i)\b(should|must) be {bool(value)}\b", rf"(?i)\banswer is {bool(value)}\b"]
    if isinstance(value, numbers.Integral):
        number = int(value)
        if abs(number) < 10:
            return [rf"(?i)\b(should|must) be {number}\b(?!\.\d)", rf"(?i)\b(answer|expected)( value)? is {number}\b(?!\.\d)"]
        return [rf"(?<![\w.]){re.escape(form)}(?!\w|\.\d)" for form in sorted({str(number), f"{number:,}"})]
    if isinstance(value, numbers.Real):
        number = float(value)
        if number.is_integer():
            return secret_patterns(int(number))
        forms = {f"{number:.{digits}f}" for digits in range(2, 7)} | {f"{100 * number:.{digits}f}%" for digits in range(0, 4)}
        telling = [form for form in forms if len(form.lstrip("-0.").rstrip("%").replace(".", "")) >= 2]
        return [rf"(?<![\d.]){re.escape(form)}(?!\d)" for form in sorted(telling)]
    if isinstance(value, (tuple, list, np.ndarray)):
        try:
            array = np.asarray(value)
        except ValueError:
            return []
        if array.size > 20 or array.dtype.kind not in "iuf":
            return []
        patterns = [re.escape(str(tuple(array.tolist()))), re.escape(str(array.tolist()))] if array.ndim == 1 else []
        for element in array.ravel().tolist():
            if abs(element) >= 10 or not float(element).is_integer():
                patterns += secret_patterns(element)
        return patterns
    return []


def shown_source_lines(message: str) -> list[str]:
    """The lines of test source otter prints in a failure message (under "Error at line N in test q:")."""
    lines = message.splitlines()
    return [lines[index + 1].strip() for index, line in enumerate(lines[:-1]) if re.match(r"Error at line \d+ in test ", line)]


def checks_source_lines(autograder_zip: Path) -> list[str]:
    """Every telling line of every test file (public and hidden), except the common report line."""
    lines = set()
    with zipfile.ZipFile(autograder_zip) as archive:
        for member in archive.namelist():
            if member.startswith("tests/") and member.endswith(".py"):
                lines |= {line.strip() for line in archive.read(member).decode().splitlines()}
    return sorted(line for line in lines if len(line) >= 12 and line != REPORT_LINE)


def solution_expressions(source_notebook: Path) -> list[str]:
    """The right-hand sides of the solution's assignments and returns (long enough to be telling),
    except those the prompts give away."""
    prompts = "\n".join(_source(cell) for cell in cells(source_notebook) if cell["cell_type"] == "markdown")
    expressions = []
    for line in solution_lines(source_notebook):
        found = re.match(r"(?:return\s+|[\w, ]+?\s*=\s*)(.+)$", line)
        if found and len(found.group(1)) >= 12 and found.group(1) not in prompts:
            expressions.append(found.group(1))
    return expressions
