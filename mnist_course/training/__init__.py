"""Model builders and cached training.

Every chapter trains through :func:`train`. A run is stored on disk under a key
made of the model configuration, a fingerprint of the data, the code of this
package and the TensorFlow and Keras versions, so a chapter that needs a model
another chapter trained (or a rebuild with nothing changed) loads it instead of
training again.

The library on the launch branch comes with the runs of the build that made the
launch notebooks, in ``build_runs/`` beside this package (``tools/launch_notebooks.py``
puts them there): in Binder, which installs that copy, a chapter loads the model its
page shows instead of training it in a kernel that has 2 GB of memory at most. (A
JupyterHub whose image installs the course from elsewhere has no such runs and trains.)

One job per module: ``config`` (what decides a run), ``inputs`` (MNIST as a model sees
it), ``model`` (the Keras model), ``fit`` (training one model), ``result`` (a finished
run), ``cache`` (storing runs), ``trainer`` (``train``), ``threads`` (cores and threads).
"""

from .cache import BUILD_RUNS, cache_dir, current_runs
from .config import BEST_MODEL, HIDDEN_MODEL, TUTORIAL_MODEL, ModelConfig, architecture, changes_from, describe, fitted_rows
from .fit import keras_fit
from .inputs import pixel_permutation, prepare_data
from .model import build_model, output_layer_and_loss, print_summary
from .result import TrainedModel
from .threads import available_cores, tensorflow_threads
from .trainer import train

__all__ = [
    "ModelConfig", "TUTORIAL_MODEL", "HIDDEN_MODEL", "BEST_MODEL", "changes_from", "architecture", "describe", "fitted_rows",
    "prepare_data", "pixel_permutation", "build_model", "output_layer_and_loss", "print_summary", "keras_fit",
    "TrainedModel", "train", "cache_dir", "current_runs", "BUILD_RUNS", "available_cores", "tensorflow_threads",
]
