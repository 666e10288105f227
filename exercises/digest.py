"""Print the digests a check compares an answer with, for writing or changing a check.

    .venv/bin/python -m exercises.digest 01_dataset 60000 "[28, 28]" 0.1912

A check never holds an expected value: it compares ``digest(answer)`` with a stored digest,
a salted SHA-256 of the value rounded to 4 decimals (the same function is written out in every
check, since each check must stand alone). Each value is read as a Python literal.
"""

from __future__ import annotations

import ast
import hashlib
import sys

import numpy as np


def digest(exercise: str, value) -> str:
    """What ``digest(value)`` gives inside the checks of ``exercise``."""
    rounded = np.round(np.asarray(value, dtype=np.float64), 4) + 0.0
    return hashlib.sha256(f"mnist-course/{exercise}:{rounded.tolist()!r}".encode()).hexdigest()[:16]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    exercise, *values = argv
    for text in values:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            print(f"{text!r} is not a Python literal (a number, or a list or tuple of numbers)", file=sys.stderr)
            return 2
        print(f"{text}\t{digest(exercise, value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
