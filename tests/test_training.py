"""The model builder (the two ways of writing the output layer) and where runs are loaded from."""

import pytest

from mnist_course import TUTORIAL_MODEL, build_model

LOGITS_MODEL = TUTORIAL_MODEL.replace(output_activation="linear", from_logits=True)


def test_the_tutorial_model_has_a_sigmoid_layer_and_a_named_loss():
    model = build_model(TUTORIAL_MODEL)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    assert model.loss == "sparse_categorical_crossentropy"


def test_from_logits_builds_a_linear_layer_and_a_loss_that_takes_logits():
    model = build_model(LOGITS_MODEL)
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert model.loss.get_config()["from_logits"] is True
    # Same seed, same starting weights as the tutorial's model: the chapter compares the two.
    for mine, theirs in zip(model.get_weights(), build_model(TUTORIAL_MODEL).get_weights()):
        assert (mine == theirs).all()


@pytest.mark.parametrize("changes", [dict(output_activation="softmax"), dict(loss="categorical_crossentropy")])
def test_from_logits_refuses_an_activation_or_another_loss(changes):
    with pytest.raises(ValueError, match="from_logits"):
        build_model(LOGITS_MODEL.replace(**changes))


@pytest.mark.slow
def test_a_run_shipped_with_the_launch_notebooks_is_loaded_not_trained(tmp_path, monkeypatch):
    """The launch tree's mnist_course/build_runs: a learner's empty cache loads them, and only current runs are shipped."""
    import shutil

    from mnist_course import training

    quick = TUTORIAL_MODEL.replace(epochs=1, batch_size=256)
    monkeypatch.setenv("MNIST_COURSE_CACHE", str(tmp_path / "build"))
    built = training.train(quick, quiet=True)
    [run] = training.current_runs()
    stale = tmp_path / "build" / "runs" / ("0" * 20)  # a run of other code: its key no longer matches
    shutil.copytree(run, stale)
    assert training.current_runs() == [run]

    monkeypatch.setattr(training.cache, "BUILD_RUNS", tmp_path / "launch" / "build_runs")
    shutil.copytree(run, training.cache.BUILD_RUNS / run.name)
    monkeypatch.setenv("MNIST_COURSE_CACHE", str(tmp_path / "learner"))
    loaded = training.train(quick, quiet=True)
    assert loaded.from_cache and loaded.test_accuracy == built.test_accuracy
    assert training.current_runs() == [], "a run loaded from the launch tree is not copied into the learner's cache"


@pytest.mark.parametrize("split", [1 / 6, 0.1, 0.15, 0.3])
def test_fitted_rows_are_the_rows_keras_validation_split_trains_on(split):
    import numpy as np
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split  # what fit(validation_split=) calls

    from mnist_course.training import fitted_rows

    rows = np.arange(60_000)
    kept, held_out = train_validation_split(rows, validation_split=split)
    assert fitted_rows(TUTORIAL_MODEL.replace(validation_split=split)) == len(kept) == 60_000 - len(held_out)
    assert fitted_rows(TUTORIAL_MODEL) == 60_000


def test_the_cache_key_changes_with_any_module_of_the_training_package(tmp_path, monkeypatch):
    """A run's key hashes every module of mnist_course.training (and the data loader): a module added
    or edited later makes old runs train again instead of being loaded under code that no longer made them."""
    import shutil

    from mnist_course.training import cache

    package = tmp_path / "mnist_course" / "training"
    shutil.copytree(cache.Path(cache.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(cache.Path(cache.__file__).parent.parent / "data.py", package.parent / "data.py")

    def key_with(package_folder):
        cache._code_fingerprint.cache_clear()
        monkeypatch.setattr(cache, "__file__", str(package_folder / "cache.py"))
        return cache.cache_key(TUTORIAL_MODEL)

    try:
        before = key_with(package)
        assert key_with(package) == before
        (package / ".#fit.py").symlink_to("an editor's lock, not a module")  # dangling: must be skipped
        assert key_with(package) == before
        (package / "new_module.py").write_text("# a module added after the runs were stored\n")
        added = key_with(package)
        assert added != before
        (package.parent / "data.py").write_text((package.parent / "data.py").read_text() + "\n# edited\n")
        assert key_with(package) not in (before, added)
    finally:
        cache._code_fingerprint.cache_clear()  # the next key is the real package's again


def test_the_keras_code_the_dense_model_chapter_shows_builds_the_librarys_model():
    """Chapter 3 shows the tutorial's model as two lines of plain Keras and says the library's
    build_model makes the same one: run those lines and compare layer by layer, loss and optimizer."""
    import json
    from pathlib import Path

    import keras

    notebook = json.loads((Path(__file__).resolve().parents[1] / "book" / "03_dense_model.ipynb").read_text())
    [shown] = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code" and "keras.Sequential(" in "".join(c["source"])]
    namespace = {"keras": keras}
    exec(shown, namespace)
    theirs, ours = namespace["model"], build_model(TUTORIAL_MODEL)

    def layers(model):
        return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"}) for layer in model.layers]

    assert layers(theirs) == layers(ours)
    assert theirs.input_shape == ours.input_shape == (None, 784)
    assert theirs.loss == ours.loss
    assert type(theirs.optimizer) is type(ours.optimizer)
    assert float(theirs.optimizer.learning_rate) == float(ours.optimizer.learning_rate)


def test_the_cache_key_reads_framework_versions_without_importing_them():
    """Asking which runs are current (every make book does) must not cost TensorFlow's import: the
    versions in a run's key come from the installed metadata, equal to what the modules report."""
    import importlib
    import subprocess
    import sys

    from mnist_course.training import cache

    program = (
        "import sys, mnist_course\n"
        "from mnist_course.training import cache\n"
        "cache.cache_key(mnist_course.TUTORIAL_MODEL)\n"
        "print(sorted(name for name in ('tensorflow', 'keras') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"computing a cache key imported {done.stdout.strip()}"
    for module in ("tensorflow", "keras"):
        assert cache._installed_version(module) == importlib.import_module(module).__version__
