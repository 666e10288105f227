"""The graded exercises' scripts, run from the repository's folder as modules:
``python -m exercises.build``, ``python -m exercises.grade``, ``python -m exercises.digest``."""
