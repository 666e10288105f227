"""``train``: the run of a configuration, from the cache when it is there, else trained now."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from typing import Callable

from . import cache
from .config import TUTORIAL_MODEL, ModelConfig, architecture, describe
from .fit import fit_model
from .result import TrainedModel


def train(
    config: ModelConfig = TUTORIAL_MODEL,
    *,
    use_cache: bool = True,
    quiet: bool = False,
    on_epoch: Callable[[int, int, dict], None] | None = None,
) -> TrainedModel:
    """Train the model of ``config`` on MNIST, or load the identical run from the cache.

    Prints one line per epoch (or, for a cached run, the lines recorded when it
    trained). ``use_cache=False`` always trains and stores nothing.
    ``on_epoch(epoch, epochs, logs)`` is called after each epoch that really trains.
    """
    if not use_cache:
        return _fit_and_report(config, quiet, on_epoch)
    key = cache.cache_key(config)
    folder = cache.cache_dir() / "runs" / key
    # The build executes notebooks in parallel and several need the same run:
    # whoever takes the lock first trains it, the others wait and load it.
    with cache.run_lock(key):
        run = cache.load_run(config, folder)
        if run is None:
            run = cache.load_run(config, cache.BUILD_RUNS / key)
        if run is None:
            run = _fit_and_report(config, quiet, on_epoch)
            cache.save_run(run, folder)
            return run
    if not quiet:
        run.print_log()
    return run


def _fit_and_report(config: ModelConfig, quiet: bool, on_epoch: Callable | None) -> TrainedModel:
    if quiet:
        # Quiet keeps the epoch lines out of the output, but a live notebook must not sit
        # silent for minutes: one progress line on stderr, rewritten each epoch (the
        # book build drops stderr from its pages).
        started = time.perf_counter()
        name = f"{architecture(config)}, {config.output_activation} output"

        def report(epoch, epochs, logs):
            end = "\n" if epoch == epochs else ""
            print(f"\rTraining the {name}: epoch {epoch}/{epochs}, {time.perf_counter() - started:.0f} s", end=end, file=sys.stderr, flush=True)
            if on_epoch is not None:
                on_epoch(epoch, epochs, logs)

        with contextlib.redirect_stdout(io.StringIO()):
            return fit_model(config, report)
    print(f"Training {describe(config)}", flush=True)
    return fit_model(config, on_epoch)
