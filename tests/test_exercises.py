"""The graded exercise notebooks (exercises/): generated, graded, and free of solutions.

Most tests here execute notebooks in Jupyter kernels with TensorFlow (marked slow).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from exercise_helpers import (
    EXERCISES,
    NAMES,
    ROOT,
    SOURCES,
    build,
    cells,
    failures,
    grade,
    hidden_lines,
    load_test_cases,
    solution_lines,
    student_text,
    split_test_cells,
)

EXPECTED = ["01_dataset", "02_flattening", "03_dense_model", "04_training", "05_results"]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Student notebooks and autograders generated from the sources into a temporary folder."""
    out = tmp_path_factory.mktemp("exercises")
    build(out / "student", out / "autograder")
    return out


def test_one_exercise_per_chapter():
    assert NAMES == EXPECTED
    for name in NAMES:
        assert (EXERCISES / f"{name}.ipynb").is_file(), f"exercises/{name}.ipynb is not committed: run exercises/build.py"


@pytest.mark.parametrize("name", EXPECTED)
def test_questions(name):
    """3-5 questions each, at least one asks for real code (a function), and a Colab cell comes first."""
    questions = [
        cell for cell in cells(SOURCES / f"{name}.ipynb") if cell["cell_type"] == "raw" and "".join(cell["source"]).startswith("# BEGIN QUESTION")
    ]
    assert 3 <= len(questions) <= 5
    student = cells(EXERCISES / f"{name}.ipynb")
    code = ["".join(cell["source"]) for cell in student if cell["cell_type"] == "code"]
    assert any(re.search(r"^def \w+\(", source, re.M) for source in code), "no question asks for a function"
    assert '"google.colab" in sys.modules' in code[0] and "otter-grader==7.0.0" in code[0]
    assert f'otter.Notebook("{name}.ipynb")' in code[1]
    assert any("grader.check_all()" in source for source in code)
    assert any("grader.export(" in source for source in code)
    for index in range(1, len(questions) + 1):
        assert f'grader.check("q{index}")' in code


def test_student_notebooks_are_generated(built):
    """The committed student notebooks are exactly what exercises/build.py makes from the sources."""
    for name in NAMES:
        generated = (built / "student" / f"{name}.ipynb").read_bytes()
        committed = (EXERCISES / f"{name}.ipynb").read_bytes()
        assert committed == generated, f"exercises/{name}.ipynb is stale: run .venv/bin/python exercises/build.py and commit it"


def test_student_notebooks_are_clean():
    for name in NAMES:
        for cell in cells(EXERCISES / f"{name}.ipynb"):
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None


def test_no_solutions_or_hidden_tests_in_student_notebooks():
    for name in NAMES:
        source = SOURCES / f"{name}.ipynb"
        text = student_text(EXERCISES / f"{name}.ipynb")
        solutions = solution_lines(source)
        assert solutions, f"found no solution code in {source}"
        for line in solutions:
            assert line not in text, f"{name}: solution code {line!r} is in the student notebook"
        _, hidden = split_test_cells(source)
        for test in hidden:
            function = re.search(r"def (\w+)\(", test).group(1)
            assert function not in text, f"{name}: the hidden test {function} is in the student notebook"
        for line in hidden_lines(source):
            assert line not in text, f"{name}: hidden test text {line!r} is in the student notebook"


def test_no_solutions_or_hidden_tests_in_built_html():
    folder = ROOT / "_build" / "html" / "exercises"
    pages = sorted(folder.glob("**/*.html")) if folder.is_dir() else []
    if not pages:
        pytest.skip("the book has no built exercise pages (_build/html/exercises)")
    for name in NAMES:
        # Each exercise's page against its own solutions: a later exercise may hand out
        # an earlier one's answer as its starting code (exercise 4 builds exercise 3's model).
        text = html.unescape((folder / f"{name}.html").read_text(encoding="utf-8", errors="replace"))
        source = SOURCES / f"{name}.ipynb"
        for line in solution_lines(source) + hidden_lines(source):
            assert line not in text, f"{name}: {line!r} (solution or hidden test) is in the built HTML"


def test_every_question_has_public_and_hidden_tests(built):
    for name in NAMES:
        cases = load_test_cases(built / "autograder" / name / "autograder.zip")
        assert all(any(not case.hidden for case in question) for question in cases.values()), f"{name}: a question has no public test"
        assert any(case.hidden for question in cases.values() for case in question), f"{name} has no hidden test"
        public = json.loads((EXERCISES / f"{name}.ipynb").read_text())["metadata"]["otter"]["tests"]
        assert sorted(public) == sorted(cases)


class Anything(dict):
    """A notebook where the student left every answer as `...`."""

    def get(self, key, default=None):
        return ...


@pytest.mark.parametrize("left", [..., None], ids=["ellipsis", "None"])
def test_untouched_answers_fail_with_a_message(built, left):
    """Every test case fails on `...` or None with an assertion that says what is wrong, never another error."""
    for name in NAMES:
        for question, cases in load_test_cases(built / "autograder" / name / "autograder.zip").items():
            environment = Anything() if left is ... else {}
            failed = failures(cases, environment)
            assert len(failed) == len(cases), f"{name} {question}: a test passed on an empty answer"
            for kind, message in failed:
                assert kind == "AssertionError" and len(message) > 20, f"{name} {question}: unhelpful failure {kind}: {message}"


# Plausible wrong answers, one or more per question, and words the failure message must contain.


def _mnist():
    import mnist_course

    return mnist_course.load_mnist()


def _keras_model(activation="sigmoid", compiled=True, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation=activation)])
    if compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _wrong_answers():
    (x_train, y_train), (x_test, y_test) = _mnist()
    rng = np.random.default_rng(0)
    proba = rng.random((10000, 10)).astype(np.float32)
    y_pred = proba.argmax(axis=1)
    from mnist_course.metrics import confusion_matrix, most_confused_pairs

    (t, p, _), = most_confused_pairs(confusion_matrix(y_test, y_pred), 1)
    cm = confusion_matrix(y_test, y_pred)
    perm = np.random.default_rng(1234).permutation(784)
    return {
        ("01_dataset", "q1"): ({"n_train": 10000, "n_test": 60000, "image_shape": (28, 28)}, "swapped"),
        ("01_dataset", "q1", "shape"): ({"n_train": 60000, "n_test": 10000, "image_shape": x_train.shape}, "whole array"),
        ("01_dataset", "q2"): ({"pixel_min": 0.0, "pixel_max": 1.0, "ink_fraction": 0.1912}, "0..255"),
        ("01_dataset", "q3"): ({"train_counts": np.bincount(y_test, minlength=10), "most_common_digit": 1}, "test set"),
        ("01_dataset", "q3", "dtype"): ({"train_counts": np.bincount(y_train, minlength=10) / 1.0, "most_common_digit": 1}, "dtype"),
        ("01_dataset", "q4"): (
            {"mean_image": lambda images, labels, digit: images[labels == digit].mean(), "mean_seven": x_train[y_train == 7].mean(0)},
            "single number",
        ),
        ("01_dataset", "q5"): ({"test_fraction": 1 / 6, "share_gap": 0.0039}, "divide by all images"),
        ("02_flattening", "q1"): ({"flatten": lambda images: images.reshape(-1), "x_train_flat": x_train.reshape(60000, 784)}, "one row per image"),
        ("02_flattening", "q2"): ({"scale": lambda images: images / 255}, "float32"),
        ("02_flattening", "q3"): ({"always_blank": 67.0}, "whole number"),
        ("02_flattening", "q4"): ({"perm": perm, "permute": lambda x, p: x[p], "inverse": np.argsort(perm)}, "columns"),
        ("02_flattening", "q4", "seed"): ({"perm": np.arange(784)[::-1].copy(), "permute": lambda x, p: x[:, p], "inverse": np.argsort(perm)}, "default_rng(1234)"),
        ("02_flattening", "q5"): ({"permutation_changes_accuracy": "False"}, "not a string"),
        ("03_dense_model", "q1"): ({"n_weights": 7840, "n_biases": 10, "n_params": 7840}, "biases"),
        ("03_dense_model", "q2"): ({"build_model": lambda: _keras_model("softmax"), "model": _keras_model("softmax")}, "sigmoid"),
        ("03_dense_model", "q2", "compile"): ({"build_model": lambda: _keras_model(compiled=False), "model": _keras_model()}, "not compiled"),
        ("03_dense_model", "q3"): ({"dense_forward": lambda x, W, b: x @ W + b}, "sigmoid"),
        ("03_dense_model", "q4"): ({"softmax": lambda z: np.exp(z) / np.exp(z).sum()}, "each row"),
        ("04_training", "q1"): ({"steps_32": 1875, "steps_128": 468}, "math.ceil"),
        ("04_training", "q1", "type"): ({"steps_32": 1875.0, "steps_128": 469}, "whole number"),
        ("04_training", "q2"): ({"n_fit": 54000, "n_val": 6000, "steps_with_split": 1688, "val_labels": y_train[:6000]}, "last"),
        ("04_training", "q3"): (_one_epoch_model(x_train, y_train), "epochs=2"),
        ("04_training", "q4"): ({"test_accuracy": 0.95, "model": _keras_model()}, "evaluate on x_test_flat"),
        ("05_results", "q1"): ({"y_pred": proba.max(axis=1), "test_accuracy": float((y_pred == y_test).mean()), "proba": proba}, "argmax"),
        ("05_results", "q2"): (
            {"confusion_matrix": lambda a, b: confusion_matrix(b, a), "cm": cm, "y_pred": y_pred},
            "transposed",
        ),
        ("05_results", "q3"): ({"per_class": np.diag(cm) / cm.sum(axis=0), "hardest_digit": 0, "y_pred": y_pred}, "column sums"),
        ("05_results", "q4"): ({"confused_pair": (p, t), "n_wrong": int((y_pred != y_test).sum()), "y_pred": y_pred}, "reversed"),
        ("05_results", "q5"): ({"weight_templates": lambda W: W.reshape(10, 28, 28), "templates": None, "model": _keras_model()}, "transpose"),
    }


def _one_epoch_model(x_train, y_train):
    model = _keras_model()
    x = x_train[:512].reshape(512, -1).astype(np.float32) / 255
    history = model.fit(x, y_train[:512], epochs=1, batch_size=128, verbose=0)
    return {"model": model, "history": history}


@pytest.mark.slow
def test_wrong_answers_fail_with_a_message_naming_the_problem(built):
    cases = {name: load_test_cases(built / "autograder" / name / "autograder.zip") for name in NAMES}
    answers = _wrong_answers()
    covered = set()
    for key, (environment, words) in answers.items():
        name, question = key[:2]
        covered.add((name, question))
        failed = failures(cases[name][question], environment)
        assert failed, f"{name} {question}: the wrong answer {key} passed every test"
        messages = "\n".join(message for _, message in failed)
        assert words.lower() in messages.lower(), f"{name} {question} {key}: no failure message mentions {words!r}:\n{messages}"
    every_question = {(name, question) for name in NAMES for question in cases[name]}
    assert every_question <= covered, f"questions without a wrong-answer case: {sorted(every_question - covered)}"


def _execute(notebook: Path) -> None:
    """Run a notebook from the top in a Jupyter kernel in its folder, as a student does with Run All."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}}).execute()


@pytest.fixture(scope="session")
def graded(built, tmp_path_factory):
    """For each exercise: the solution, run top to bottom and exported with grader.export(), and the
    untouched student notebook, graded by the instructor's command (exercises/grade.py)."""
    root = tmp_path_factory.mktemp("grading")

    def one(name):
        work = root / name / "student-work"
        work.mkdir(parents=True)
        solution = work / f"{name}.ipynb"
        shutil.copyfile(built / "autograder" / name / f"{name}.ipynb", solution)
        _execute(solution)  # its last cells run grader.check_all() and grader.export(pdf=False)
        exported = sorted(work.glob(f"{name}_*.zip"))
        assert len(exported) == 1, f"{name}: grader.export() made {exported}"
        submissions = root / name / "submissions"
        submissions.mkdir()
        shutil.copyfile(exported[0], submissions / "solved.zip")
        shutil.copyfile(EXERCISES / f"{name}.ipynb", submissions / "untouched.ipynb")
        rows = grade(
            [submissions],
            root / name / "grades.csv",
            "--autograder",
            str(built / "autograder" / name / "autograder.zip"),
            "--feedback",
            str(root / name / "feedback"),
        )
        return name, {row["submission"]: row for row in rows}

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, NAMES))


@pytest.mark.slow
def test_exported_solution_scores_full_marks(graded):
    for name, rows in graded.items():
        row = rows["solved.zip"]
        assert row["error"] == "", f"{name}: {row['error']}"
        assert float(row["possible"]) > 0 and float(row["total"]) == float(row["possible"]), f"{name}: the solution scored {row}"
        questions = [column for column in row if re.fullmatch(r"q\d+", column)]
        assert 3 <= len(questions) <= 5, f"{name}: CSV columns {list(row)}"


@pytest.mark.slow
def test_untouched_notebook_scores_zero_without_crashing(graded):
    for name, rows in graded.items():
        row = rows["untouched.ipynb"]
        assert row["error"] == "", f"{name}: the untouched notebook could not be graded: {row['error']}"
        questions = [column for column in row if re.fullmatch(r"q\d+", column)]
        assert all(float(row[q]) == 0 for q in questions) and float(row["total"]) == 0, f"{name}: untouched scored {row}"


@pytest.mark.slow
def test_grade_command_rejects_another_exercise(built, tmp_path):
    """A submission of the wrong exercise gets a row with score 0 and the reason, not a crash."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copyfile(EXERCISES / "01_dataset.ipynb", folder / "wrong.ipynb")
    (folder / "broken.ipynb").write_text("not a notebook")
    rows = grade([folder], tmp_path / "grades.csv", "--exercise", "02_flattening", "--autograder", str(built / "autograder" / "02_flattening" / "autograder.zip"))
    by_name = {row["submission"]: row for row in rows}
    assert "01_dataset" in by_name["wrong.ipynb"]["error"] and float(by_name["wrong.ipynb"]["total"]) == 0
    assert by_name["broken.ipynb"]["error"] and float(by_name["broken.ipynb"]["total"]) == 0
