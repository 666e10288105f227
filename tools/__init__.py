"""The build's steps around Sphinx and the helpers its tests and benchmark share.

Everything here runs from the repository's folder as a module (``python -m
tools.execute_notebooks``) and is imported as ``tools.NAME``, by the tests (pyproject.toml
puts the repository's folder on their path), the benchmark and the exercise scripts.
"""
