"""The environment the course's commands run in: each setting written here, once.

- ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's start-up chatter on stderr is not course
  content, nor test output.
- ``MNIST_COURSE_CACHE``: trained models are cached beside the build, in
  ``_build/.training_cache``, so that ``make clean`` starts from nothing and the tests
  load the runs the pages show (outside the build, ``mnist_course`` caches in
  ``~/.cache/mnist_course``).

A value already in the environment wins. Who applies them: the Makefile, for everything
make runs (``python3 -m tools.environment`` prints the missing ones as ``NAME=value``);
``tests/conftest.py``, for the tests and every process they start; ``bench/run.py`` and the
exercise scripts (``exercises.build``, ``exercises.grade``) quiet TensorFlow in the
processes they start. Standard library only: the Makefile runs this before the virtual
environment exists.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "2"}
BUILD_TRAINING_CACHE = {"MNIST_COURSE_CACHE": str(ROOT / "_build" / ".training_cache")}
# What `make` and the tests run with.
BUILD = QUIET_TENSORFLOW | BUILD_TRAINING_CACHE


def with_defaults(settings: dict[str, str] = BUILD, environ=None) -> dict[str, str]:
    """A copy of ``environ`` (default: this process's environment) with each of ``settings`` it lacks."""
    environ = dict(os.environ if environ is None else environ)
    return {name: value for name, value in settings.items() if name not in environ} | environ


if __name__ == "__main__":
    for name, value in BUILD.items():
        if name not in os.environ:
            print(f"{name}={value}")
