"""What the config's ``model`` section says about the network, without training it: the
config is checked, and the search space sized, before any job runs."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def layer_counts(model: dict) -> tuple[int, int]:
    """(layers with weights, hidden ReLUs) of a model spec: the lengths of per-layer lists."""
    if model["type"] == "keras":
        from . import graph  # TensorFlow: only for a user's model file

        net = user_model(model["path"])
        return len(graph.weight_layers(net)), len(graph.relu_layers(net))
    hidden = len(model["hidden"])
    convs = len(model["filters"]) if model["type"] == "cnn" else 0
    return convs + hidden + 1, convs + hidden


def user_model(path):
    """The network of a user's model file, checked (:func:`hlsnake.modelfile.load_user_model`);
    read once per process and file version."""
    path = Path(path)
    return _load(str(path.resolve()), path.stat().st_mtime if path.exists() else None, str(path))


@functools.lru_cache(maxsize=4)
def _load(resolved: str, mtime: float | None, given: str):
    from . import modelfile  # TensorFlow loads only for a user's model file

    return modelfile.load_user_model(given)


def user_model_problem(model: dict, n_features: int, image_shape, n_classes: int) -> str | None:
    """Why the network of a user's model file cannot run on this data (it cannot be read, holds
    an unsupported layer, or its input or output does not fit), or None when it can."""
    from . import graph, models  # TensorFlow loads only for a user's model file

    try:
        models.check_shapes(user_model(model["path"]), n_features, image_shape, n_classes, where=f"model.path ({model['path']})")
    except graph.ModelError as err:
        return str(err)
    return None


def file_digest(path) -> str:
    """The content hash of a model file, recorded in the provenance of the stage it starts."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
