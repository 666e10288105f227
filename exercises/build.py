"""Generate the student notebooks and the autograders from the Otter Assign sources.

    .venv/bin/python -m exercises.build            # all exercises (what `make exercises` runs), from the repository's folder
    .venv/bin/python -m exercises.build 03_dense_model --no-run-tests

For each ``exercises/source/NAME.ipynb`` (Otter Assign format: solutions, public and
hidden tests) this runs ``otter assign`` and writes

* ``exercises/NAME.ipynb``: the student notebook (no solutions, public tests only in its
  metadata), committed;
* ``exercises/_autograder/NAME/``: build output, not committed: ``autograder.zip`` (what
  ``exercises/grade.py`` grades with), ``NAME.ipynb`` (the solution notebook) and
  ``otter_config.json``.

The student notebooks are normalised so that the same sources always give the same bytes:
otter's random cell ids are replaced by ids made from the notebook name and the cell's
position, outputs and execution counts are empty, and the JSON is written with sorted keys.
By default ``otter assign`` also runs every test against the solutions, in a Jupyter kernel
(a few seconds per exercise); ``--no-run-tests`` skips that.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE / "source"
# A source's setup cell holds only this line; the student notebook gets the Colab setup,
# written from _config.yml (repository.url and the launch branch, where the exercises are).
SETUP_MARKER = "# Setup: exercises/build.py writes this cell from _config.yml."


def otter_requirement() -> str:
    """The otter-grader pin of requirements.txt ("otter-grader==X"): what Colab installs too."""
    return next(line.strip() for line in (HERE.parent / "requirements.txt").read_text().splitlines() if line.startswith("otter-grader=="))


def colab_setup(name: str) -> str:
    """The first code cell of a student notebook: in Colab, install and fetch what it needs."""
    from tools.launch_notebooks import course_settings, install_requirement

    settings = course_settings(HERE.parent)
    owner_repo = settings["repository"].removeprefix("https://github.com/")
    otter = otter_requirement()
    notebook_url = f"https://raw.githubusercontent.com/{owner_repo}/{settings['branch']}/exercises/{name}.ipynb"
    return f'''# Setup. In Google Colab this installs what the exercise needs (otter-grader and the
# course library) and fetches this exercise's checks; anywhere else it does nothing.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import json
    import pathlib
    import subprocess
    import urllib.request

    missing = [package for module, package in (
        ("otter", "{otter}"),
        ("mnist_course", "{install_requirement(settings)}"),
    ) if importlib.util.find_spec(module) is None]
    if missing and subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing]).returncode != 0:
        raise RuntimeError(
            f"Installing {{', '.join(missing)}} failed: pip says why above. "
            "Check that this Colab session is online, then run this cell again."
        )
    notebook = pathlib.Path("{name}.ipynb")
    if not notebook.exists():
        urllib.request.urlretrieve("{notebook_url}", notebook)
    pathlib.Path("tests").mkdir(exist_ok=True)
    for question, checks in json.loads(notebook.read_text())["metadata"]["otter"]["tests"].items():
        pathlib.Path("tests", question + ".py").write_text(checks)'''


def exercise_names() -> list[str]:
    return sorted(path.stem for path in SOURCE_DIR.glob("*.ipynb"))


def normalise_notebook(notebook: dict, name: str) -> dict:
    """Deterministic ids, no outputs, no execution counts, no volatile metadata."""
    prefix = name.replace("_", "-")
    for index, cell in enumerate(notebook["cells"]):
        cell["id"] = f"{prefix}-{index:02d}"
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            if "".join(cell["source"]).strip() == SETUP_MARKER:
                cell["source"] = colab_setup(name).splitlines(keepends=True)
        cell.get("metadata", {}).pop("execution", None)
    notebook["metadata"] = {
        key: value for key, value in notebook["metadata"].items() if key in ("kernelspec", "language_info", "otter")
    }
    return notebook


def assign(name: str, out_dir: Path, run_tests: bool) -> None:
    """Run Otter Assign on one source into out_dir, in this process: importing otter takes
    seconds, assigning an exercise a fraction of one (otter changes directory and back)."""
    import otter.assign
    from tools.environment import QUIET_TENSORFLOW, with_defaults

    # The kernel in which otter runs the tests on the solution inherits this environment.
    os.environ.update(with_defaults(QUIET_TENSORFLOW))
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            otter.assign.main(str(SOURCE_DIR / f"{name}.ipynb"), str(out_dir), no_pdfs=True, no_run_tests=not run_tests)
    except Exception as error:
        raise SystemExit(f"otter assign failed for {name}: {type(error).__name__}: {error}\n{said.getvalue()[-4000:]}") from error


def build_one(name: str, student_dir: Path, autograder_dir: Path | None, run_tests: bool) -> None:
    with tempfile.TemporaryDirectory(prefix=f"otter-assign-{name}-") as tmp:
        out = Path(tmp) / "dist"
        assign(name, out, run_tests)
        student = nbformat.read(out / "student" / f"{name}.ipynb", as_version=4)
        student_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(normalise_notebook(student, name), student_dir / f"{name}.ipynb")
        if autograder_dir is None:
            return
        target = autograder_dir / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        zips = sorted((out / "autograder").glob(f"{name}-autograder_*.zip"))
        if len(zips) != 1:
            raise SystemExit(f"expected one autograder zip for {name}, found {[z.name for z in zips]}")
        shutil.copyfile(zips[0], target / "autograder.zip")
        solution = nbformat.read(out / "autograder" / f"{name}.ipynb", as_version=4)
        nbformat.write(normalise_notebook(solution, name), target / f"{name}.ipynb")
        shutil.copyfile(out / "autograder" / "otter_config.json", target / "otter_config.json")


def main(argv: list[str] | None = None) -> int:
    if not __package__:
        sys.exit("Run this from the repository's folder as a module: .venv/bin/python -m exercises.build (or make exercises)")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="exercises to build (default: every source in exercises/source)")
    parser.add_argument("--student-dir", type=Path, default=HERE, help="where the student notebooks go (default: exercises/)")
    parser.add_argument(
        "--autograder-dir", type=Path, default=HERE / "_autograder", help="where the autograders go (default: exercises/_autograder/)"
    )
    parser.add_argument("--no-autograder", action="store_true", help="write only the student notebooks")
    parser.add_argument("--no-run-tests", action="store_true", help="do not run the tests against the solutions")
    args = parser.parse_args(argv)

    names = args.names or exercise_names()
    unknown = sorted(set(names) - set(exercise_names()))
    if unknown:
        parser.error(f"no source for {', '.join(unknown)} in {SOURCE_DIR}")
    for name in names:
        print(f"{name}: otter assign{'' if not args.no_run_tests else ' (tests not run)'}", flush=True)
        build_one(name, args.student_dir, None if args.no_autograder else args.autograder_dir, not args.no_run_tests)
    print(f"Student notebooks in {args.student_dir}" + ("" if args.no_autograder else f", autograders in {args.autograder_dir}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
