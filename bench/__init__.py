"""The benchmark: run from the repository's folder as ``python -m bench.run`` (``make bench``)."""
