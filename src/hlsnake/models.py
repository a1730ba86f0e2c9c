"""Network architectures from the config: one builder per model type."""

from __future__ import annotations

from .kerasenv import keras


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


def weight_layers(model: keras.Model) -> list:
    """Layers that carry a kernel (Dense, Conv2D and their QKeras forms), in order."""
    return [layer for layer in model.layers if hasattr(layer, "kernel")]


def sparsity_per_layer(model: keras.Model) -> dict[str, float]:
    import numpy as np

    return {layer.name: float(np.mean(layer.get_weights()[0] == 0)) for layer in weight_layers(model)}


def total_sparsity(model: keras.Model) -> float:
    import numpy as np

    zeros = sum(int(np.sum(layer.get_weights()[0] == 0)) for layer in weight_layers(model))
    total = sum(int(layer.get_weights()[0].size) for layer in weight_layers(model))
    return zeros / total if total else 0.0
