"""Grade a folder of exercise submissions without Docker and write a CSV of scores.

    .venv/bin/python -m exercises.grade SUBMISSIONS/ -o grades.csv   # from the repository's folder

SUBMISSIONS are files or folders; a folder contributes every ``*.zip`` (made by
``grader.export()`` in the notebook) and ``*.ipynb`` (a downloaded notebook, e.g. from
Colab) directly in it. Every submission is graded with ``otter run``, Otter's grading
without containers: the notebook is executed from the top in a fresh Jupyter kernel of
this Python, then every test, public and hidden, is run against it. So run this with the
course's environment (``.venv/bin/python``) and ``MNIST_DIR`` set as for the book, and only
on submissions you are willing to execute on your machine (there is no sandbox).

The exercise is read from the submissions' notebook metadata (or given with ``--exercise``);
its autograder is ``exercises/_autograder/NAME/autograder.zip``, made by
``exercises/build.py`` (or give one with ``--autograder``). The CSV has one row per
submission: the file, the exercise, one column per question (its points), ``total``,
``possible`` and ``error`` (why a submission could not be graded; it then scores 0).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
AUTOGRADER_DIR = HERE / "_autograder"


def _natural(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def find_submissions(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".zip", ".ipynb") and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise SystemExit(f"No such file or folder: {path}")
    return sorted(dict.fromkeys(found), key=lambda p: _natural(p.name))


def assignment_name(submission: Path) -> str | None:
    """The exercise a submission belongs to, from its notebook's metadata (None if unreadable)."""
    try:
        if submission.suffix == ".zip":
            with zipfile.ZipFile(submission) as archive:
                notebooks = [n for n in archive.namelist() if n.endswith(".ipynb") and "/" not in n.strip("/")]
                if len(notebooks) != 1:
                    return None
                notebook = json.loads(archive.read(notebooks[0]))
        else:
            notebook = json.loads(submission.read_text(encoding="utf-8"))
        return notebook.get("metadata", {}).get("otter", {}).get("assignment_name")
    except (OSError, ValueError, zipfile.BadZipFile, AttributeError):
        return None


def questions_of(autograder: Path) -> list[str]:
    with zipfile.ZipFile(autograder) as archive:
        names = [Path(n).stem for n in archive.namelist() if n.startswith("tests/") and n.endswith(".py")]
    return sorted(names, key=_natural)


def _worker(submission: str, autograder: str, out_json: str) -> None:
    """Grade one submission in this process (run as a child of the main command)."""
    import otter.api

    results = otter.api.grade_submission(submission, autograder, quiet=True)
    error = results.catastrophic_error
    payload = {
        "scores": {name: float(test.score) for name, test in results.results.items()},
        "possible": {name: float(test.possible) for name, test in results.results.items()},
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "summary": results.summary(),
    }
    Path(out_json).write_text(json.dumps(payload), encoding="utf-8")


def grade_one(submission: Path, autograder: Path, exercise: str, timeout: float | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        out_json = Path(tmp) / "result.json"
        if submission.suffix == ".ipynb":
            # A downloaded notebook may be renamed ("05_results (1).ipynb"); the notebook opens
            # its checks by its own name, so grade it under that name.
            (Path(tmp) / "submission").mkdir()
            submission = shutil.copyfile(submission, Path(tmp) / "submission" / f"{exercise}.ipynb")
        from tools.environment import QUIET_TENSORFLOW, with_defaults

        env = with_defaults(QUIET_TENSORFLOW)
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(submission.resolve()), str(autograder.resolve()), str(out_json)]
        try:
            run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"grading took longer than {timeout:g} s"}
        if run.returncode != 0 or not out_json.exists():
            lines = [line for line in (run.stderr or run.stdout).strip().splitlines() if line.strip()]
            return {"error": f"could not be graded: {lines[-1] if lines else f'exit {run.returncode}'}"}
        return json.loads(out_json.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker(*argv[1:4])
        return 0
    if not __package__:
        sys.exit("Run this from the repository's folder as a module: .venv/bin/python -m exercises.grade SUBMISSIONS/ -o grades.csv")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="submission files (.zip, .ipynb) or folders of them")
    parser.add_argument("-o", "--output", type=Path, default=Path("grades.csv"), help="the CSV to write (default: grades.csv)")
    parser.add_argument("--exercise", help="the exercise, e.g. 03_dense_model (default: read from the submissions)")
    parser.add_argument("--autograder", type=Path, help="the autograder zip (default: exercises/_autograder/EXERCISE/autograder.zip)")
    parser.add_argument("-j", "--jobs", type=int, default=min(4, os.cpu_count() or 1), help="submissions graded at once")
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per submission (default: no limit)")
    parser.add_argument("--feedback", type=Path, help="also write each submission's test report into this folder")
    args = parser.parse_args(argv)

    submissions = find_submissions(args.paths)
    if not submissions:
        parser.error("no .zip or .ipynb submissions found")
    names = {submission: assignment_name(submission) for submission in submissions}
    exercise = args.exercise
    if exercise is None:
        known = Counter(name for name in names.values() if name)
        if not known:
            parser.error("cannot tell which exercise these submissions are: give --exercise")
        exercise = known.most_common(1)[0][0]
    autograder = args.autograder or AUTOGRADER_DIR / exercise / "autograder.zip"
    if not autograder.is_file():
        parser.error(f"no autograder at {autograder}: run `.venv/bin/python -m exercises.build` first")
    questions = questions_of(autograder)

    def grade(submission: Path) -> dict:
        if names[submission] is not None and names[submission] != exercise:
            return {"error": f"this is a submission for {names[submission]}, not {exercise}"}
        return grade_one(submission, autograder, exercise, args.timeout)

    print(f"Grading {len(submissions)} submission(s) of {exercise} with {autograder}", flush=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(grade, submissions))

    possible = {q: 0.0 for q in questions}
    for result in results:
        for q, points in result.get("possible", {}).items():
            possible[q] = max(possible.get(q, 0.0), points)
    columns = ["submission", "exercise", *possible, "total", "possible", "error"]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for submission, result in zip(submissions, results):
            scores = result.get("scores", {})
            error = result.get("error") or ""
            row = {"submission": submission.name, "exercise": exercise, "error": error}
            row.update({q: round(scores.get(q, 0.0), 4) for q in possible})
            row["total"] = round(sum(scores.get(q, 0.0) for q in possible), 4)
            row["possible"] = round(sum(possible.values()), 4)
            writer.writerow(row)
            print(f"  {submission.name}: {row['total']:g} / {row['possible']:g}{'  (' + error + ')' if error else ''}")
            if args.feedback is not None:
                args.feedback.mkdir(parents=True, exist_ok=True)
                report = result.get("summary") or error
                (args.feedback / f"{submission.stem}.txt").write_text(report + "\n", encoding="utf-8")
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
