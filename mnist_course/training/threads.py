"""How many CPU cores and TensorFlow threads a run had: a training time means little without them."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The CPU cores this process may run on (a container's CPU quota is not seen, only its cpuset)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; macOS and Windows lack it
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tensorflow_threads() -> int:
    """How many threads TensorFlow's operations use here: as configured, else one per available core.

    ``make book`` gives every notebook the same share of the cores (``TF_NUM_INTRAOP_THREADS``);
    a training time means little without it.
    """
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads() or int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0)
    return configured or available_cores()
