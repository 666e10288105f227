"""The build's steps around Sphinx and the helpers its tests and benchmark share.

Its scripts run as files (``python tools/execute_notebooks.py``) and import their neighbours
by name; the benchmark, run from the repository's folder as ``python -m bench.run``, imports
them as ``tools.browser``, ``tools.toc`` and ``tools.environment``.
"""
