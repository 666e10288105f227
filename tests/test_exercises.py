"""The graded exercise notebooks (exercises/): generated, graded, and free of solutions.

The checks must teach without telling: a failing visible check never shows an expected value
(neither in its message nor in the source line otter prints), an answer taken from the course
library scores nothing, Run All reaches the end of a blank notebook, and the feedback names the
root cause. Most tests here run notebooks or their code with TensorFlow (marked slow).
"""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from exercise_helpers import (
    EXERCISES,
    NAMES,
    REPORT_LINE,
    SOURCES,
    answer_names,
    build,
    cells,
    failures,
    feedback,
    grade,
    hidden_lines,
    load_test_cases,
    notebook_environment,
    public_tests,
    secret_patterns,
    shown_source_lines,
    solution_expressions,
    solution_lines,
    student_text,
    split_test_cells,
    checks_source_lines,
    with_code,
)

EXPECTED = ["01_dataset", "02_flattening", "03_dense_model", "04_training", "05_results", "06_numpy_training"]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Student notebooks and autograders generated from the sources into a temporary folder."""
    out = tmp_path_factory.mktemp("exercises")
    build(out / "student", out / "autograder")
    return out


def test_the_six_exercises_are_committed():
    assert NAMES == EXPECTED
    for name in NAMES:
        assert (EXERCISES / f"{name}.ipynb").is_file(), f"exercises/{name}.ipynb is not committed: run make exercises"


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
    from exercises.build import otter_requirement

    assert '"google.colab" in sys.modules' in code[0] and otter_requirement() in code[0], "the Colab cell installs another otter than requirements.txt"
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
        assert committed == generated, f"exercises/{name}.ipynb is stale: run make exercises (.venv/bin/python -m exercises.build) and commit it"


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


def test_no_solution_code_or_reference_values_in_the_public_tests():
    """The checks in the student notebook's metadata hold no solution expression and no list of reference numbers."""
    assert re.search(r"(==|!=|allclose\(\w+,|array_equal\(\w+,)\s*\[\s*-?\d[\d.]*(\s*,\s*-?\d[\d.]*){3,}", "assert counts.tolist() == [5923, 6742, 5958, 6131]")
    for name in NAMES:
        checks = "\n".join(public_tests(EXERCISES / f"{name}.ipynb").values())
        expressions = solution_expressions(SOURCES / f"{name}.ipynb")
        assert expressions, f"found no solution expressions in {name}"
        for expression in expressions:
            assert expression not in checks, f"{name}: the public checks contain the solution {expression!r}"
        # Inputs may be listed; a list of numbers an answer is compared with may not.
        reference = re.search(r"(==|!=|allclose\(\w+,|array_equal\(\w+,)\s*\[\s*-?\d[\d.]*(\s*,\s*-?\d[\d.]*){3,}", checks)
        assert reference is None, f"{name}: the public checks compare with a list of reference numbers: {reference.group(0)}"


def test_every_question_has_public_and_hidden_tests(built):
    for name in NAMES:
        cases = load_test_cases(built / "autograder" / name / "autograder.zip")
        assert all(any(not case.hidden for case in question) for question in cases.values()), f"{name}: a question has no public test"
        assert any(case.hidden for question in cases.values() for case in question), f"{name} has no hidden test"
        public = json.loads((EXERCISES / f"{name}.ipynb").read_text())["metadata"]["otter"]["tests"]
        assert sorted(public) == sorted(cases)


# Correct answers of exercise 6, the starting point of its wrong ones.
_CROSS_ENTROPY = """
def cross_entropy(W, b, x, y):
    p = softmax(x @ W + b)
    return float(-np.log(p[np.arange(len(y)), y]).mean())
"""
_GRADIENTS = """
def gradients(W, b, x, y):
    n = len(y)
    dz = softmax(x @ W + b)
    dz[np.arange(n), y] -= 1
    return x.T @ dz / n, dz.mean(axis=0)
"""
_SGD_EPOCH = """
def sgd_epoch(W, b, x, y, learning_rate, batch_size, rng):
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        dW, db = gradients(W, b, x[batch], y[batch])
        W = W - learning_rate * dW
        b = b - learning_rate * db
    return W, b
"""

# Deliberately wrong answers: code run on top of the solution's globals, words the failing check
# must say, and words it must not say (the feedback blames the root cause, not a bystander).
WRONG_ANSWERS = [
    ("01_dataset", "q1", "n_train, n_test = 10000, 60000", ["swapped"], []),
    ("01_dataset", "q1", "image_shape = x_train.shape", ["whole array"], []),
    ("01_dataset", "q2", "pixel_min, pixel_max = 0.0, 1.0", ["0..255"], []),
    ("01_dataset", "q2", "ink_fraction = float((x_train == 0).mean())", ["background"], []),
    ("01_dataset", "q3", "train_counts = np.bincount(y_test, minlength=10)", ["test set"], []),
    ("01_dataset", "q3", "train_counts = np.bincount(y_train, minlength=10) / 1.0", ["dtype"], []),
    ("01_dataset", "q3", "most_common_digit = int(train_counts.max())", ["largest count"], []),
    ("01_dataset", "q4", "def mean_image(images, labels, digit):\n    return images[labels == digit].mean()", ["single number"], []),
    ("01_dataset", "q4", "def mean_image(images, labels, digit):\n    return images.mean(axis=0)", ["averages all the images"], []),
    ("01_dataset", "q4", "def mean_image(images, labels, digit):\n    return x_train[y_train == digit].mean(axis=0)", ["labelled digit"], []),
    ("01_dataset", "q5", "test_fraction = n_test / n_train", ["training images only"], []),
    ("01_dataset", "q5", "share_gap = float((np.bincount(y_train) / 60000 - np.bincount(y_test) / 10000).min())", ["absolute"], []),
    ("01_dataset", "q5", "n_train = 59000\ntest_fraction = n_test / (n_train + n_test)", ["question 1"], []),
    ("02_flattening", "q1", "def flatten(images):\n    return images.reshape(-1)", ["one long row"], []),
    ("02_flattening", "q1", "def flatten(images):\n    return images.transpose(0, 2, 1).reshape(len(images), -1)", ["wrong order"], []),
    ("02_flattening", "q2", "def scale(images):\n    return images / 255", ["float32"], []),
    ("02_flattening", "q2", "def scale(images):\n    return images // 255", ["integer division"], []),
    ("02_flattening", "q3", "always_blank = 67.0", ["whole number"], []),
    ("02_flattening", "q3", "always_blank = int((x_test.reshape(10000, -1).max(axis=0) == 0).sum())", ["test set"], []),
    ("02_flattening", "q4", "def permute(flat_images, order):\n    return flat_images[:, perm]", ["ignores its perm argument"], ["inverse"]),
    ("02_flattening", "q4", "perm = np.arange(784)[::-1].copy()", ["default_rng(1234)"], []),
    ("02_flattening", "q4", "inverse = perm.copy()", ["inverse does not undo perm"], ["permute"]),
    ("02_flattening", "q5", 'permutation_changes_accuracy = "False"', ["a bool"], []),
    ("02_flattening", "q5", "permutation_changes_accuracy = True", ["not quite"], []),
    ("03_dense_model", "q1", "n_weights = 784 + 10\nn_params = n_weights + n_biases", ["multiply"], []),
    ("03_dense_model", "q1", "n_params = n_weights", ["biases"], []),
    (
        "03_dense_model",
        "q2",
        "def build_model():\n"
        "    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation='softmax')])\n"
        "    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "    return model",
        ["sigmoid"],
        [],
    ),
    (
        "03_dense_model",
        "q2",
        "def build_model():\n    return keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation='sigmoid')])",
        ["not compiled"],
        [],
    ),
    ("03_dense_model", "q3", "def dense_forward(x, W, b):\n    return x @ W + b", ["apply the sigmoid"], []),
    ("03_dense_model", "q3", "def dense_forward(x, W, b):\n    return 1 / (1 + np.exp(-(x @ W)))", ["forgets the bias"], []),
    ("03_dense_model", "q4", "def softmax(z):\n    return np.exp(z) / np.exp(z).sum()", ["each row"], []),
    ("04_training", "q1", "steps_32, steps_128 = 1875, 468", ["round up"], []),
    ("04_training", "q1", "steps_32 = 60000 / 32", ["is a float"], []),
    ("04_training", "q2", "n_fit, n_val = n_val, n_fit", ["swapped"], []),
    ("04_training", "q2", "val_labels = y_train[:6000]", ["last ones"], []),
    ("04_training", "q3", "model, history = train_model(x_train_flat[:512], y_train[:512], epochs=1, batch_size=128, seed=0)", ["epochs=2"], []),
    ("04_training", "q4", "test_loss, test_accuracy = model.evaluate(x_train_flat, y_train, verbose=0)", ["x_test_flat"], []),
    ("04_training", "q4", "model = ...", ["question 3"], []),
    ("05_results", "q1", "y_pred = proba.max(axis=1)", ["argmax"], []),
    ("05_results", "q1", "test_accuracy = float((y_pred != y_test).mean())", ["compare y_pred with y_test"], []),
    (
        "05_results",
        "q2",
        "def confusion_matrix(y_true, y_pred):\n"
        "    counts = np.zeros((10, 10), dtype=int)\n"
        "    np.add.at(counts, (np.asarray(y_pred), np.asarray(y_true)), 1)\n"
        "    return counts\n"
        "cm = confusion_matrix(y_test, y_pred)",
        ["transposed"],
        [],
    ),
    ("05_results", "q3", "per_class = np.diag(cm) / cm.sum(axis=0)", ["column sums"], []),
    ("05_results", "q3", "hardest_digit = int(np.argmax(per_class))", ["np.argmin"], []),
    ("05_results", "q4", "confused_pair = (confused_pair[1], confused_pair[0])", ["reversed"], []),
    # A wrong y_pred (question 1) must be named as the cause, not n_wrong computed from it.
    ("05_results", "q4", "y_pred = np.roll(y_pred, 1)\nn_wrong = int((y_pred != y_test).sum())", ["fix question 1 first"], []),
    ("05_results", "q5", "def weight_templates(W):\n    return W.reshape(10, 28, 28)", ["transpose"], []),
    ("06_numpy_training", "q1", _CROSS_ENTROPY.replace(".mean()", ".sum()"), ["take their mean"], []),
    ("06_numpy_training", "q1", _CROSS_ENTROPY.replace("-np.log", "np.log"), ["minus sign"], []),
    ("06_numpy_training", "q2", _GRADIENTS.replace(" / n, dz.mean(axis=0)", ", dz.sum(axis=0)"), ["times too large"], ["question 1"]),
    ("06_numpy_training", "q2", _GRADIENTS.replace("x.T @ dz / n, dz.mean(axis=0)", "-(x.T @ dz) / n, -dz.mean(axis=0)"), ["wrong sign"], []),
    ("06_numpy_training", "q2", _GRADIENTS.replace("x.T @ dz / n", "dz.T @ x / n"), ["transposed"], []),
    # A wrong loss (question 1) is named as the cause when the gradient check cannot trust it.
    ("06_numpy_training", "q2", _CROSS_ENTROPY.replace(".mean()", ".sum()"), ["fix question 1 first"], []),
    ("06_numpy_training", "q3", "relative_error = 0.5", ["relative_error is not"], []),
    (
        "06_numpy_training",
        "q3",
        "numeric = (cross_entropy(W_up, b0, x_check, y_check) - cross_entropy(W0, b0, x_check, y_check)) / eps",
        ["central difference"],
        [],
    ),
    ("06_numpy_training", "q4", _SGD_EPOCH.replace("W = W - learning_rate * dW", "W = W + learning_rate * dW"), ["uphill"], []),
    ("06_numpy_training", "q4", _SGD_EPOCH.replace("W = W - learning_rate * dW", "W -= learning_rate * dW"), ["changed the W or b"], []),
    ("06_numpy_training", "q4", _SGD_EPOCH.replace("rng.permutation(len(x))", "np.arange(len(x))"), ["order"], []),
    (
        "06_numpy_training",
        "q4",
        "W, b = sgd_epoch(np.zeros((784, 10)), np.zeros(10), x_train_flat[:100], y_train[:100], 0.5, 100, np.random.default_rng(0))\n"
        "test_accuracy = float(np.mean((x_test_flat @ W + b).argmax(axis=1) == y_test))",
        ["less than 88%"],
        [],
    ),
]

# Answers taken from the course library (mnist_course): (question, a line the solution cell
# contains, code appended to that cell). Each must score 0 on its question, with a reason.
SHORTCUTS = {
    "02_flattening": [
        ("q1", "def flatten(", "from mnist_course.data import flatten\nx_train_flat = flatten(x_train)"),
        ("q2", "def scale(", "def scale(images):\n    return mnist_course.scale(images)"),
    ],
    "03_dense_model": [
        ("q2", "def build_model(", "from mnist_course import build_model\nmodel = build_model()"),
        ("q4", "def softmax(", "from mnist_course.metrics import softmax"),
    ],
    "04_training": [
        (
            "q3",
            "def train_model(",
            "def train_model(x, y, epochs, batch_size, seed):\n"
            "    model = mnist_course.build_model(mnist_course.TUTORIAL_MODEL.replace(seed=seed, epochs=epochs, batch_size=batch_size))\n"
            "    return model, model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)",
        ),
    ],
    "06_numpy_training": [
        # No library module has these yet; a graded function that reaches into mnist_course at all fails.
        (
            "q1",
            "def cross_entropy(",
            _CROSS_ENTROPY.replace("    p = softmax(", "    from mnist_course.metrics import softmax as library_softmax\n    p = library_softmax("),
        ),
    ],
    "05_results": [
        ("q2", "def confusion_matrix(", "from mnist_course.metrics import confusion_matrix\ncm = confusion_matrix(y_test, y_pred)"),
        ("q3", "per_class =", "from mnist_course.metrics import per_class_accuracy\nper_class = per_class_accuracy(cm)"),
        ("q4", "confused_pair =", "from mnist_course.metrics import most_confused_pairs\nconfused_pair = most_confused_pairs(cm, 1)[0][:2]"),
    ],
}


@pytest.fixture(scope="session")
def solved(built):
    """Each exercise's globals after running its solution notebook's code (in this process)."""
    return {name: notebook_environment(built / "autograder" / name / f"{name}.ipynb") for name in NAMES}


@pytest.fixture(scope="session")
def blank():
    """Each exercise's globals after running the committed student notebook with every answer left `...`."""
    return {name: notebook_environment(EXERCISES / f"{name}.ipynb") for name in NAMES}


def _all_feedback(name, environment) -> list[tuple[str, bool, str]]:
    """(question, passed, message) of every public check of an exercise, run by otter on environment."""
    return [
        (question, passed, message)
        for question, source in public_tests(EXERCISES / f"{name}.ipynb").items()
        for passed, message in feedback(source, environment, question)
    ]


@pytest.mark.slow
def test_solution_passes_every_test_in_process(built, solved):
    """The baseline the wrong answers below are made from: the solution passes every test, hidden ones included."""
    for name in NAMES:
        for question, cases in load_test_cases(built / "autograder" / name / "autograder.zip").items():
            assert failures(cases, solved[name]) == [], f"{name} {question}: the solution fails"


@pytest.mark.slow
def test_blank_answers_fail_every_test_as_not_answered_yet(built, blank):
    """Every test, hidden ones included, fails on the untouched notebook and says the answer is missing."""
    for name in NAMES:
        for question, cases in load_test_cases(built / "autograder" / name / "autograder.zip").items():
            failed = failures(cases, blank[name])
            assert len(failed) == len(cases), f"{name} {question}: a test passed on the blank notebook"
            for kind, message in failed:
                assert kind == "AssertionError" and "not answered yet" in message, f"{name} {question}: {kind}: {message}"


@pytest.mark.slow
def test_a_name_that_was_never_defined_is_reported_as_such(solved):
    """Without the cell that defines an answer, the check says to run it (not "it is NoneType")."""
    for name in NAMES:
        for question, names in answer_names(EXERCISES / f"{name}.ipynb").items():
            for missing in names:
                environment = {key: value for key, value in solved[name].items() if key != missing}
                messages = [message for passed, message in feedback(public_tests(EXERCISES / f"{name}.ipynb")[question], environment, question) if not passed]
                assert messages, f"{name} {question}: passes without {missing}"
                assert any(f"`{missing}` is not defined: run the cell above" in message for message in messages), (
                    f"{name} {question} without {missing}:\n" + "\n".join(messages))


@pytest.mark.slow
def test_wrong_answers_fail_with_a_message_naming_the_problem(solved):
    covered = set()
    for name, question, code, words, forbidden in WRONG_ANSWERS:
        covered.add((name, question))
        environment = with_code(solved[name], code)
        results = feedback(public_tests(EXERCISES / f"{name}.ipynb")[question], environment, question)
        messages = "\n".join(message for passed, message in results if not passed)
        assert messages, f"{name} {question}: the wrong answer {code!r} passed every visible check"
        for word in words:
            assert word.lower() in messages.lower(), f"{name} {question} {code!r}: no failure message mentions {word!r}:\n{messages}"
        for word in forbidden:
            assert word.lower() not in messages.lower(), f"{name} {question} {code!r}: the feedback blames {word!r}:\n{messages}"
    every_question = {(name, question) for name in NAMES for question in public_tests(EXERCISES / f"{name}.ipynb")}
    assert every_question <= covered, f"questions without a wrong-answer case: {sorted(every_question - covered)}"


@pytest.mark.slow
def test_feedback_shows_no_expected_value_and_no_test_source(built, solved, blank):
    """Run every visible check on the blank notebook and on each wrong, missing or library answer: the
    feedback never holds an answer's value, and the only line of test source otter shows is the
    common last line of every check, which holds nothing."""
    for name in NAMES:
        student = EXERCISES / f"{name}.ipynb"
        prompts = "\n".join("".join(cell["source"]) for cell in cells(student))
        secrets = {}
        for names in answer_names(student).values():
            for answer in names:
                for pattern in secret_patterns(solved[name].get(answer)):
                    if not re.search(pattern, prompts):  # a value the prompt itself states is no secret
                        secrets[pattern] = answer
        assert secrets, f"{name}: no answer values to look for"
        sources = checks_source_lines(built / "autograder" / name / "autograder.zip")
        variants = [("blank", blank[name])]
        variants += [(code, with_code(solved[name], code)) for n, _, code, _, _ in WRONG_ANSWERS if n == name]
        variants += [(code, with_code(solved[name], code)) for _, _, code in SHORTCUTS.get(name, [])]
        for names in answer_names(student).values():
            variants += [(f"del {missing}", {k: v for k, v in solved[name].items() if k != missing}) for missing in names]
        for label, environment in variants:
            for question, passed, message in _all_feedback(name, environment):
                if passed:
                    continue
                assert shown_source_lines(message) == [REPORT_LINE], f"{name} {question} ({label}) shows test source:\n{message}"
                # The catch-all for answers of unforeseen types must not be how a known mistake is reported.
                assert "this check stopped at" not in message, f"{name} {question} ({label}): the check broke:\n{message}"
                text = message.split(REPORT_LINE, 1)[1]
                for line in sources:
                    assert line not in text, f"{name} {question} ({label}): the feedback shows the test line {line!r}:\n{message}"
                for pattern, answer in secrets.items():
                    assert not re.search(pattern, text), f"{name} {question} ({label}): the feedback gives away {answer} ({pattern}):\n{message}"


@pytest.mark.slow
def test_answers_from_the_course_library_score_nothing(built, solved):
    """A function or value taken from mnist_course fails every test of its question (hidden ones too) and
    says why, while the other questions keep their points."""
    for name, shortcuts in SHORTCUTS.items():
        cases = load_test_cases(built / "autograder" / name / "autograder.zip")
        for question, _, code in shortcuts:
            environment = with_code(solved[name], code)
            failed = failures(cases[question], environment)
            assert len(failed) == len(cases[question]), f"{name} {question}: {code!r} still scores: {failed}"
            assert any("course library" in message for _, message in failed), f"{name} {question}: {failed}"
            for other, other_cases in cases.items():
                if other != question:
                    assert failures(other_cases, environment) == [], f"{name}: {code!r} also costs {other}"


def _execute(notebook: Path) -> dict:
    """Run a notebook from the top in a Jupyter kernel in its folder, as a student does with Run All
    (as the book's execution step runs a chapter: a kernel that dies as it starts is started again)."""
    from tools.execute_notebooks import execute

    executed, _, error = execute(notebook, timeout=600, allow_errors=False, environment={})
    if error is not None:
        raise AssertionError(f"{notebook.name} did not run to the end:\n{error}")
    return executed


def _for_each_exercise(work) -> dict:
    """{name: work(name)} for every exercise, two at a time (each runs a kernel: this keeps both cores busy)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(NAMES, pool.map(work, NAMES)))


@pytest.fixture(scope="session")
def blank_runs(tmp_path_factory) -> dict:
    """Each untouched student notebook, run with Run All as a student would (two at a time):
    name -> (the executed notebook, the zips its last cell's grader.export() wrote)."""
    root = tmp_path_factory.mktemp("blank-runs")

    def run(name):
        folder = root / name
        folder.mkdir()
        notebook = folder / f"{name}.ipynb"
        shutil.copyfile(EXERCISES / f"{name}.ipynb", notebook)
        try:
            executed = _execute(notebook)
        except Exception as error:  # reported by that exercise's test
            return error
        return executed, sorted(folder.glob(f"{name}_*.zip"))

    return _for_each_exercise(run)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_blank_notebook_runs_to_the_end(name, blank_runs):
    """Run All on the untouched student notebook raises nowhere, every check says "not answered yet",
    and grader.export() writes the zip a student hands in."""
    run = blank_runs[name]
    if isinstance(run, BaseException):
        raise run  # a cell raised, or the kernel died
    executed, exported = run
    checks = {}
    for cell in executed.cells:
        found = re.fullmatch(r'grader\.check\("(q\d+)"\)', cell.source.strip())
        if found:
            checks[found.group(1)] = "\n".join(
                str(output.get("data", {}).get("text/plain", "")) + str(output.get("text", "")) for output in cell.outputs
            )
    assert sorted(checks) == sorted(public_tests(EXERCISES / f"{name}.ipynb")), f"{name}: check cells {sorted(checks)}"
    for question, text in checks.items():
        assert "not answered yet" in text, f"{name} {question}: the check of a blank answer says:\n{text}"
    assert len(exported) == 1, f"{name}: grader.export() wrote {exported}"


def _shortcut_notebook(solution: Path, target: Path, shortcuts) -> None:
    """The solution notebook with each shortcut's code appended to the cell that holds its marker."""
    notebook = json.loads(solution.read_text(encoding="utf-8"))
    for _, marker, code in shortcuts:
        cell = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code" and marker in "".join(cell["source"]))
        cell["source"] = "".join(cell["source"]) + "\n" + code + "\n"
    target.write_text(json.dumps(notebook), encoding="utf-8")


# One exercise's exports are graded: its solution, run and exported as a student would, must
# score full marks, and the zip its untouched notebook exported (see blank_runs) zero. The
# export cell and the grading of a zip are the same in every exercise; what differs, each
# exercise's tests on blank answers, is run on every exercise in process above.
GRADED_EXPORTS = "02_flattening"


@pytest.fixture(scope="session")
def graded(built, blank_runs, tmp_path_factory):
    """For each exercise, graded by the instructor's command (exercises/grade.py): the solution as a
    downloaded notebook (for GRADED_EXPORTS, as the zip a student hands in instead, and the zip of
    the untouched notebook) and, where the library has answers, the solution with answers taken
    from the library."""
    root = tmp_path_factory.mktemp("grading")

    def one(name):
        submissions = root / name / "submissions"
        submissions.mkdir(parents=True)
        solution = built / "autograder" / name / f"{name}.ipynb"
        if name != GRADED_EXPORTS:
            shutil.copyfile(solution, submissions / "solved.ipynb")
        else:
            # What a student hands in: the zip grader.export() writes at the end of a complete Run All.
            work = root / name / "student-work"
            work.mkdir()
            shutil.copyfile(solution, work / f"{name}.ipynb")
            _execute(work / f"{name}.ipynb")
            exported = sorted(work.glob(f"{name}_*.zip"))
            assert len(exported) == 1, f"{name}: grader.export() made {exported}"
            shutil.copyfile(exported[0], submissions / "solved.zip")
            # What a student hands in who answered nothing: the zip of Run All on the untouched notebook.
            if not isinstance(blank_runs[name], BaseException) and len(blank_runs[name][1]) == 1:
                shutil.copyfile(blank_runs[name][1][0], submissions / "untouched.zip")
        if name in ("02_flattening", "05_results"):
            _shortcut_notebook(solution, submissions / "library.ipynb", SHORTCUTS[name])
        rows = grade(
            [submissions],
            root / name / "grades.csv",
            "--autograder",
            str(built / "autograder" / name / "autograder.zip"),
            "--feedback",
            str(root / name / "feedback"),
        )
        return {row["submission"]: row for row in rows}

    return _for_each_exercise(one)


def _solution_row(rows: dict) -> dict:
    """The grade of an exercise's solution, handed in as a notebook or (GRADED_EXPORTS) as a zip."""
    return rows.get("solved.ipynb") or rows["solved.zip"]


@pytest.mark.slow
def test_solution_scores_full_marks(graded):
    """The solution as a downloaded notebook, and GRADED_EXPORTS' as the zip its Run All exported."""
    assert "solved.zip" in graded[GRADED_EXPORTS], "the exported solution was not graded"
    for name, row in ((name, _solution_row(rows)) for name, rows in graded.items()):
        assert row["error"] == "", f"{name}: {row['error']}"
        assert float(row["possible"]) > 0 and float(row["total"]) == float(row["possible"]), f"{name}: the solution scored {row}"
        questions = [column for column in row if re.fullmatch(r"q\d+", column)]
        assert 3 <= len(questions) <= 5, f"{name}: CSV columns {list(row)}"


@pytest.mark.slow
def test_untouched_notebook_scores_zero_without_crashing(graded):
    """The zip exported from GRADED_EXPORTS' untouched notebook: every question 0, no grading error."""
    rows = graded[GRADED_EXPORTS]
    assert "untouched.zip" in rows, "Run All on the untouched notebook exported no zip (see test_blank_notebook_runs_to_the_end)"
    row = rows["untouched.zip"]
    assert row["error"] == "", f"the untouched notebook could not be graded: {row['error']}"
    questions = [column for column in row if re.fullmatch(r"q\d+", column)]
    assert questions and float(row["possible"]) > 0, f"the grade of the untouched notebook has no questions: {row}"
    assert all(float(row[q]) == 0 for q in questions) and float(row["total"]) == 0, f"the untouched notebook scored {row}"


@pytest.mark.slow
def test_library_answers_score_zero_when_graded(graded):
    """The issue's own examples, graded end to end: `from mnist_course.data import flatten, scale` and the
    imports from mnist_course.metrics cost exactly their questions."""
    for name in ("02_flattening", "05_results"):
        row = graded[name]["library.ipynb"]
        assert row["error"] == "", f"{name}: {row['error']}"
        taken = {question for question, _, _ in SHORTCUTS[name]}
        for question in [column for column in row if re.fullmatch(r"q\d+", column)]:
            full = float(_solution_row(graded[name])[question])
            assert float(row[question]) == (0 if question in taken else full), f"{name} {question}: the library answers scored {row}"


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


def test_digest_tool_matches_the_checks():
    """exercises/digest.py computes the digests the checks store (for instructors writing new checks)."""
    from exercises import digest as tool

    for name, value in (("01_dataset", 60000), ("01_dataset", 0.1912), ("04_training", 469), ("02_flattening", 67)):
        assert tool.digest(name, value) in (SOURCES / f"{name}.ipynb").read_text(), f"{name}: no check stores the digest of {value}"
    assert tool.digest("01_dataset", 60000) != tool.digest("04_training", 60000), "the digests are not salted per exercise"
