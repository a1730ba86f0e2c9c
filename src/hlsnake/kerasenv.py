"""The one place that sets up TensorFlow/Keras for QKeras, tfmot and hls4ml.

Import this module before anything that imports TensorFlow, Keras, QKeras or hls4ml.

Why: QKeras and tensorflow-model-optimization need the Keras 2 API (tf_keras), but
TensorFlow 2.21 installs Keras 3, and hls4ml 1.3 picks its parser by
``import keras; keras.__version__``. With ``TF_USE_LEGACY_KERAS=1`` ``tf.keras`` is
tf_keras, and registering tf_keras as ``keras`` makes hls4ml take its Keras 2 path.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import tempfile
import warnings

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No GPU here and none wanted: identical numbers on every machine.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
# oneDNN reorders float sums; off for bit-identical reruns.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

if "keras" in sys.modules and not sys.modules["keras"].__name__.startswith("tf_keras"):
    raise ImportError(
        "hlsnake.kerasenv must be imported before 'keras' (Keras 3 is already loaded; "
        "QKeras, tfmot and hls4ml need tf_keras)."
    )

import numpy as np  # noqa: E402


@contextlib.contextmanager
def _startup_messages_kept_back():
    """TensorFlow's C++ start-up messages on a machine without CUDA ("Could not find cuda
    drivers", "failed call to cuInit", absl's "before InitializeLog") go to the process's
    stderr, whatever the log level: keep them off the terminal, and show them only when the
    start fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as kept:
        os.dup2(kept.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            kept.seek(0)
            sys.stderr.write(kept.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


with _startup_messages_kept_back():
    import tf_keras

    sys.modules["keras"] = tf_keras
    import tensorflow as tf

    tf.config.list_physical_devices()  # initialises the platforms (the cuInit message)

tf.get_logger().setLevel("ERROR")
# hlsnake saves its models as HDF5 on purpose (one format that tf_keras, QKeras custom
# objects and hls4ml all read); QKeras quantizers warn on serialisation. Both are noise.
warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
warnings.filterwarnings("ignore", message=".*keras.constraints.serialize.*")

keras = tf.keras
assert keras.__name__.startswith("tf_keras"), "tf.keras is not tf_keras: TF_USE_LEGACY_KERAS came too late"


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic."""
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except RuntimeError:  # already initialised: determinism was set before
        pass
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # the TF runtime already started: keep its pools
            pass


def custom_objects() -> dict:
    """Custom objects needed to load hlsnake's models (QKeras layers and quantizers)."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects


def load_model(path) -> "tf.keras.Model":
    return tf.keras.models.load_model(str(path), custom_objects=custom_objects(), compile=False)
