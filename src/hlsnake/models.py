"""Networks: built from the config (one builder per model type), or a user's own
network checked against the data and re-initialised; their sparsity."""

from __future__ import annotations

import numpy as np

from .graph import ModelError, kernel_arrays, n_weights, weight_layers
from .kerasenv import keras, seed_everything


def build_mlp(spec: dict, input_shape, n_classes: int) -> keras.Model:
    layers = [keras.layers.InputLayer(input_shape=(_size(input_shape),), name="x_in")]
    for i, units in enumerate(spec["hidden"], start=1):
        layers.append(keras.layers.Dense(units, name=f"fc{i}"))
        layers.append(keras.layers.Activation("relu", name=f"relu{i}"))
    layers.append(keras.layers.Dense(n_classes, name="output"))
    layers.append(keras.layers.Activation("softmax", name="softmax"))
    return keras.Sequential(layers, name=spec["name"])


def build_cnn(spec: dict, input_shape, n_classes: int) -> keras.Model:
    if len(input_shape) != 3:
        raise ValueError(
            f"model type 'cnn' needs image data (height, width, channels); the data set has shape {list(input_shape)}: "
            "set dataset.image_shape or use model.type: mlp"
        )
    layers = [keras.layers.InputLayer(input_shape=tuple(int(v) for v in input_shape), name="x_in")]
    k = int(spec["kernel_size"])
    size = min(int(input_shape[0]), int(input_shape[1]))
    for i, filters in enumerate(spec["filters"], start=1):
        if size < k:
            raise ValueError(f"model.filters: conv layer {i} gets a {size}x{size} input, smaller than its {k}x{k} kernel")
        layers.append(keras.layers.Conv2D(filters, (k, k), name=f"conv{i}"))
        layers.append(keras.layers.Activation("relu", name=f"relu_c{i}"))
        size = size - k + 1
        if spec.get("pool", True) and size >= 4:  # pool while the map is large enough to halve
            layers.append(keras.layers.MaxPooling2D((2, 2), name=f"pool{i}"))
            size //= 2
    layers.append(keras.layers.Flatten(name="flatten"))
    for i, units in enumerate(spec.get("hidden", []), start=1):
        layers.append(keras.layers.Dense(units, name=f"fc{i}"))
        layers.append(keras.layers.Activation("relu", name=f"relu{i}"))
    layers.append(keras.layers.Dense(n_classes, name="output"))
    layers.append(keras.layers.Activation("softmax", name="softmax"))
    return keras.Sequential(layers, name=spec["name"])


def _size(shape) -> int:
    n = 1
    for v in shape:
        n *= int(v)
    return n


BUILDERS = {"mlp": build_mlp, "cnn": build_cnn}


def input_shape_for(spec: dict, n_features: int, image_shape) -> tuple:
    """The model's input shape: flat for an MLP, the image shape for a CNN."""
    if spec["type"] == "cnn":
        return tuple(image_shape) if image_shape else (n_features,)
    return (n_features,)


def build(spec: dict, input_shape, n_classes: int) -> keras.Model:
    """The network of a ``model`` config section (widths are scaled by the scale task)."""
    return BUILDERS[spec["type"]](spec, input_shape, n_classes)


def sparsity_per_layer(model: keras.Model) -> dict[str, float]:
    """Fraction of zero weights of every weight layer (all its kernels; biases excluded)."""
    return {layer.name: _zeros(layer) / n_weights(layer) for layer in weight_layers(model)}


def total_sparsity(model: keras.Model) -> float:
    total = sum(n_weights(layer) for layer in weight_layers(model))
    return sum(_zeros(layer) for layer in weight_layers(model)) / total if total else 0.0


def _zeros(layer) -> int:
    return sum(int(np.sum(kernel == 0)) for kernel in kernel_arrays(layer))


# -- a user's own network ---------------------------------------------------------------


def check_shapes(model: keras.Model, n_features: int, image_shape, n_classes: int, where: str = "model") -> None:
    """Stop (before any training) when the network does not fit the data: its input must
    hold the data's features (and be ``dataset.image_shape`` when that is set and the input
    is not a flat vector); its output must give one score per class (or one score for two
    classes)."""
    shape = tuple(int(v) for v in model.input_shape[1:])
    image_shape = tuple(int(v) for v in image_shape) if image_shape else ()
    if _size(shape) != int(n_features):
        images = f" (images {'x'.join(map(str, image_shape))})" if image_shape else ""
        raise ModelError(f"{where}: the model input {list(shape)} holds {_size(shape)} values, but the data has {n_features} features{images}")
    if image_shape and len(shape) > 1 and shape != image_shape:
        raise ModelError(f"{where}: the model input {list(shape)} differs from dataset.image_shape {list(image_shape)}")
    out = model.output_shape
    if len(out) != 2:
        raise ModelError(f"{where}: the model output has shape {list(out[1:])}; a classifier outputs one score per class (a vector)")
    if not (out[1] == n_classes or (out[1] == 1 and n_classes == 2)):
        raise ModelError(f"{where}: the model output has {out[1]} unit(s), but the data set has {n_classes} classes")


def reinitialise(model: keras.Model, seed: int) -> keras.Model:
    """The same architecture with fresh, seeded initial weights (``pretrained: false``)."""
    seed_everything(seed)
    return keras.models.clone_model(model)
