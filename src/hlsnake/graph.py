"""What hlsnake knows about a Keras network: the layers it supports and the role of each,
the graph that joins them, and the tensors the tasks work on.

Every task reads a network through this module, so a Sequential network built from the
config and a user's functional graph (residual Adds, Concatenates, BatchNorm, Conv1D,
depthwise convolutions, QKeras layers) go through the same code:

* :data:`ROLES` is the registry of supported layer classes (Keras and QKeras) and what each
  does to a tensor; :func:`check_supported` stops at any other layer, naming it.
* :func:`topology` is the graph (each layer's input layers, in topological order) and
  :func:`rebuild` makes a new network from it layer by layer (quantisation uses it).
* :func:`weight_layers`, :func:`kernel_variables`: the layers that carry weights, and their
  kernels (what pruning sparsifies and quantisation quantises).
* :func:`relu_layers`, :func:`activation_ranges`: the ReLU outputs (standalone or a weight
  layer's own ``activation='relu'``), whose range sets their fixed-point type.
* :func:`width_groups`: which weight layers must keep equal widths when scaling.
* :func:`classes_of`, :func:`output_activation`: how the network's output becomes a class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .kerasenv import keras


class ModelError(ValueError):
    """A network hlsnake cannot work on (unsupported layer, shape mismatch, unreadable
    file); the message names the file, the layer or the shapes on both sides."""


# -- the registry of supported layers ---------------------------------------------------

WEIGHT, BATCHNORM, ACTIVATION, POOLING, PADDING, FLATTEN, RESHAPE, MERGE, DROPOUT, INPUT = (
    "weight layer", "batch normalisation", "activation", "pooling", "zero padding", "flatten",
    "reshape", "merge", "dropout (removed at conversion)", "input",
)  # fmt: skip

# The weight-layer families: class name -> (family, kernel attributes). The family names
# the QKeras class quantisation turns the layer into; QKeras classes map to themselves.
WEIGHT_FAMILIES = {
    "Dense": ("QDense", ("kernel",)),
    "Conv1D": ("QConv1D", ("kernel",)),
    "Conv2D": ("QConv2D", ("kernel",)),
    "DepthwiseConv2D": ("QDepthwiseConv2D", ("depthwise_kernel",)),
    "SeparableConv1D": ("QSeparableConv1D", ("depthwise_kernel", "pointwise_kernel")),
    "SeparableConv2D": ("QSeparableConv2D", ("depthwise_kernel", "pointwise_kernel")),
}
WEIGHT_FAMILIES.update({family: (family, kernels) for family, kernels in list(WEIGHT_FAMILIES.values())})

ROLES: dict[str, str] = {
    **{name: WEIGHT for name in WEIGHT_FAMILIES},
    "BatchNormalization": BATCHNORM, "QBatchNormalization": BATCHNORM,
    "Activation": ACTIVATION, "ReLU": ACTIVATION, "LeakyReLU": ACTIVATION, "Softmax": ACTIVATION, "QActivation": ACTIVATION,
    "MaxPooling1D": POOLING, "MaxPooling2D": POOLING, "AveragePooling1D": POOLING, "AveragePooling2D": POOLING,
    "GlobalAveragePooling1D": POOLING, "GlobalAveragePooling2D": POOLING,
    "GlobalMaxPooling1D": POOLING, "GlobalMaxPooling2D": POOLING,
    "ZeroPadding1D": PADDING, "ZeroPadding2D": PADDING,
    "Flatten": FLATTEN, "Reshape": RESHAPE,
    "Add": MERGE, "Concatenate": MERGE,
    "Dropout": DROPOUT,
    "InputLayer": INPUT,
}  # fmt: skip

# Nonlinearities hls4ml implements, as named by :func:`activation_of` (QKeras quantizers
# by their class name).
ACTIVATIONS = (
    "linear", "relu", "softmax", "sigmoid", "tanh", "leaky_relu",
    "quantized_relu", "quantized_bits", "quantized_tanh", "quantized_sigmoid",
)  # fmt: skip
RELUS = ("relu", "quantized_relu")
HINTS = {  # what to write instead of a layer Keras creates for plain tensor code
    "TFOpLambda": "write the operation as a Keras layer (x + y as Add()([x, y]), tf.concat as Concatenate())",
    "SlicingOpLambda": "slice with a Reshape or Cropping outside the network",
    "Functional": "a model nested inside the model: rebuild it as one flat graph",
    "Sequential": "a model nested inside the model: rebuild it as one flat graph",
}


def role(layer) -> str | None:
    return ROLES.get(type(layer).__name__)


def supported_text() -> str:
    by_role: dict[str, list[str]] = {}
    for name, kind in ROLES.items():
        if kind != INPUT:
            by_role.setdefault(kind, []).append(name)
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in by_role.items())


def _function_name(function) -> str:
    """A Keras activation function by its name, a QKeras quantizer by its class."""
    if function is None:
        return "linear"
    if hasattr(function, "__name__") and not hasattr(function, "get_config"):
        return function.__name__
    return type(function).__name__


ACTIVATION_CLASSES = {"LeakyReLU": "leaky_relu", "Softmax": "softmax"}  # layers that are their function


def activation_of(layer) -> str:
    """The nonlinearity a layer applies last: an activation layer's function, or a weight
    layer's own ``activation`` argument ('linear' when none)."""
    cls = type(layer).__name__
    if cls in ACTIVATION_CLASSES:
        return ACTIVATION_CLASSES[cls]
    if cls == "ReLU":  # hls4ml converts a ReLU layer as a plain relu, whatever its arguments
        cfg = layer.get_config()
        plain = cfg.get("max_value") is None and not cfg.get("negative_slope") and not cfg.get("threshold")
        return "relu" if plain else "relu with max_value/negative_slope/threshold"
    function = layer.quantizer if cls == "QActivation" else getattr(layer, "activation", None)
    name = _function_name(function)
    return "leaky_relu" if name == "quantized_relu" and getattr(function, "negative_slope", 0) else name


# -- the graph ----------------------------------------------------------------------------


@dataclass
class Topology:
    """The layers in topological order (input layer excluded), each with the names of the
    layers it reads, and the names of the network's input and output."""

    layers: list
    inputs: dict[str, list[str]]
    input_name: str
    output_name: str
    consumers: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self):
        for layer in self.layers:
            for name in self.inputs[layer.name]:
                self.consumers.setdefault(name, []).append(layer.name)

    def layer(self, name: str):
        return next(layer for layer in self.layers if layer.name == name)


def topology(model: keras.Model) -> Topology:
    """The graph of ``model``: a Sequential model is a chain; a functional model's graph
    comes from its config (the same record Keras saves and rebuilds it from)."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"model {model.name!r} has {len(model.inputs)} input(s) and {len(model.outputs)} output(s); "
            "hlsnake works on networks with one input and one output"
        )
    input_name = model.input_names[0]
    if isinstance(model, keras.Sequential):
        layers = [layer for layer in model.layers if role(layer) != INPUT]
        names = [input_name] + [layer.name for layer in layers]
        return Topology(layers, {layer.name: [names[i]] for i, layer in enumerate(layers)}, input_name, names[-1])
    config = model.get_config()
    by_name = {layer.name: layer for layer in model.layers}
    layers, inputs = [], {}
    for entry in config["layers"]:
        name, nodes = entry["name"], entry["inbound_nodes"]
        if len(nodes) > 1:
            raise ModelError(f"layer {name!r} ({entry['class_name']}) is applied {len(nodes)} times; hlsnake needs each layer applied once")
        if not nodes:
            continue  # the input layer
        layers.append(by_name[name])
        inputs[name] = [inbound[0] for inbound in nodes[0]]
    return Topology(layers, inputs, input_name, config["output_layers"][0][0])


def check_supported(model: keras.Model, where: str = "") -> None:
    """Stop at the first layer (or layer setting) hlsnake cannot take through every task,
    naming the layer, its class and what is supported."""
    where = f"{where}: " if where else ""
    for layer in model.layers:
        cls = type(layer).__name__
        if cls not in ROLES:
            hint = f" ({HINTS[cls]})" if cls in HINTS else ""
            raise ModelError(
                f"{where}layer {layer.name!r} is a {cls}, which hlsnake does not support{hint}. Supported layers: {supported_text()}"
            )
        _check_settings(layer, where)
    try:
        topology(model)
    except ModelError as err:
        raise ModelError(f"{where}{err}") from None
    shape = model.input_shape[1:]
    if any(v is None for v in shape):
        raise ModelError(f"{where}the model input {list(shape)} has an undefined dimension; give the Input a fixed shape")


def _channel_axis(layer) -> bool:
    axis, rank = layer.get_config().get("axis"), len(layer.input_shape)
    return axis in (-1, rank - 1, [-1], [rank - 1])


# Settings of a supported class that hls4ml cannot convert: each check gives the problem or nothing.
SETTING_CHECKS = (
    lambda layer, cfg, kind: kind in (WEIGHT, ACTIVATION) and activation_of(layer) not in ACTIVATIONS
    and f"activation {activation_of(layer)!r} (supported: {', '.join(ACTIVATIONS)})",
    lambda layer, cfg, kind: cfg.get("data_format") == "channels_first" and "data_format 'channels_first' (hls4ml takes channels_last)",
    lambda layer, cfg, kind: kind == WEIGHT and any(int(v) != 1 for v in np.ravel(cfg.get("dilation_rate", 1)))
    and f"dilation_rate {cfg['dilation_rate']} (hls4ml has no dilated convolutions)",
    lambda layer, cfg, kind: kind in (WEIGHT, POOLING) and cfg.get("padding", "valid") not in ("valid", "same")
    and f"padding {cfg['padding']!r} (hls4ml pads 'valid' or 'same')",
    lambda layer, cfg, kind: kind == WEIGHT and int(cfg.get("groups", 1)) != 1 and f"groups={cfg['groups']} (hls4ml has no grouped convolutions)",
    lambda layer, cfg, kind: kind == WEIGHT and int(cfg.get("depth_multiplier", 1)) != 1
    and f"depth_multiplier={cfg['depth_multiplier']} (hls4ml's depthwise convolutions take 1)",
    lambda layer, cfg, kind: kind == BATCHNORM and not _channel_axis(layer) and f"axis {cfg.get('axis')} (hlsnake normalises the last, channel axis)",
)


def _check_settings(layer, where: str) -> None:
    cfg, kind = layer.get_config(), role(layer)
    for check in SETTING_CHECKS:
        problem = check(layer, cfg, kind)
        if problem:
            raise ModelError(f"{where}layer {layer.name!r} ({type(layer).__name__}) has {problem}, which hlsnake does not support")


def rebuild(model: keras.Model, convert, name: str | None = None) -> keras.Model:
    """A new network with the graph of ``model``: ``convert(layer)`` returns the new layers
    that replace ``layer`` (a chain, applied in order; none: the layer is left out and its
    input passes through). A Sequential model gives a Sequential model."""
    graph = topology(model)
    shape = model.input_shape[1:]
    if isinstance(model, keras.Sequential):
        layers = [keras.layers.InputLayer(input_shape=shape, name=graph.input_name)]
        for layer in graph.layers:
            layers.extend(convert(layer))
        return keras.Sequential(layers, name=name or model.name)
    tensors = {graph.input_name: keras.Input(shape=shape, name=graph.input_name)}
    for layer in graph.layers:
        args = [tensors[n] for n in graph.inputs[layer.name]]
        x = args if len(args) > 1 else args[0]
        for new in convert(layer):
            x = new(x)
        tensors[layer.name] = x
    return keras.Model(tensors[graph.input_name], tensors[graph.output_name], name=name or model.name)


# -- weight layers ------------------------------------------------------------------------


def weight_layers(model: keras.Model) -> list:
    """Layers that carry a kernel (Dense, Conv1D/2D, depthwise and separable convolutions
    and their QKeras forms), in the model's order."""
    return [layer for layer in model.layers if role(layer) == WEIGHT]


def kernel_names(layer) -> tuple[str, ...]:
    return WEIGHT_FAMILIES[type(layer).__name__][1]


def kernel_variables(layer) -> list:
    return [getattr(layer, name) for name in kernel_names(layer)]


def kernel_arrays(layer) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in kernel_variables(layer)]


def n_weights(layer) -> int:
    return sum(int(a.size) for a in kernel_arrays(layer))


def width(layer) -> int | None:
    """The width scaling multiplies: Dense units or Conv filters (a depthwise convolution
    has none: its channels are its input's)."""
    cfg = layer.get_config()
    return cfg.get("units", cfg.get("filters"))


# -- ReLUs and their ranges ---------------------------------------------------------------


def relu_layers(model: keras.Model) -> list:
    """The layers whose output is a ReLU: ReLU/Activation('relu')/QActivation layers, and
    weight layers with ``activation='relu'``, in the model's order."""
    return [layer for layer in model.layers if role(layer) in (WEIGHT, ACTIVATION) and activation_of(layer) in RELUS]


def is_quantised_relu(layer) -> bool:
    return activation_of(layer) == "quantized_relu"


def float_relus(model: keras.Model) -> list:
    """ReLUs without a QKeras quantizer (their type in hls4ml is hls4ml's choice)."""
    return [layer for layer in relu_layers(model) if not is_quantised_relu(layer)]


def relu_tensor_name(layer) -> str:
    """The name hls4ml gives a ReLU output: the layer's own, or for a weight layer's
    ``activation='relu'`` the activation layer hls4ml splits off (``<name>_relu``)."""
    return layer.name if role(layer) == ACTIVATION else f"{layer.name}_relu"


def activation_ranges(model: keras.Model, split, layers=None) -> list[float]:
    """99.9th percentile of each ReLU output (all of :func:`relu_layers` unless given) on up
    to 4096 training samples."""
    X, _ = split.xy("train", model.input_shape[1:])
    layers = relu_layers(model) if layers is None else layers
    if not layers:
        return []
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    outputs = probe.predict(X[:4096], batch_size=1024, verbose=0)
    if len(layers) == 1:
        outputs = [outputs]
    return [float(np.percentile(out, 99.9)) for out in outputs]


# -- widths that scale together -----------------------------------------------------------

FIXED = "<fixed>"  # the pseudo-layer of widths that cannot change (input and output)


def width_groups(model: keras.Model) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Which weight layers must scale by one factor, and which Reshapes they feed.

    A tensor's channel count comes from the weight layers that produced it (through
    BatchNorm, activations, pooling, padding and depthwise convolutions, which keep it).
    An Add needs equal channels on its inputs, so their weight layers form one group; a
    Reshape's target shape fixes the size of its input, so the weight layers feeding it
    form one group too, and the Reshape's target follows the group. The weight layers
    that make the network's output (and any joined to them or to the input) keep their
    width: they are not in any group.

    Returns (groups of weight-layer names, in model order; group index -> Reshape names as
    a dict keyed by the group's first layer)."""
    graph = topology(model)
    parent: dict[str, str] = {FIXED: FIXED}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(names):
        roots = [find(n) for n in names]
        target = FIXED if FIXED in roots else roots[0] if roots else None
        for r in roots:
            parent[r] = target

    sources: dict[str, set[str]] = {graph.input_name: {FIXED}}
    reshapes: dict[str, set[str]] = {}
    for layer in graph.layers:
        ins = [sources[n] for n in graph.inputs[layer.name]]
        cls, kind = type(layer).__name__, role(layer)
        if kind == WEIGHT and width(layer) is not None:
            sources[layer.name] = {layer.name}
            find(layer.name)
        elif cls == "Add" or (cls == "Concatenate" and not _concatenates_channels(layer)):
            union(set().union(*ins))
            sources[layer.name] = set().union(*ins)
        elif cls == "Concatenate":
            sources[layer.name] = set().union(*ins)
        elif kind == RESHAPE:
            union(ins[0])
            reshapes[layer.name] = ins[0]
            # the free axis of the target takes the change; a fixed last axis is fixed
            sources[layer.name] = ins[0] if _free_axis(layer) == len(layer.target_shape) - 1 else {FIXED}
        else:
            sources[layer.name] = ins[0]
    union(sources[graph.output_name] | {FIXED})
    groups: dict[str, list[str]] = {}
    for layer in weight_layers(model):
        if width(layer) is not None and find(layer.name) != FIXED:
            groups.setdefault(find(layer.name), []).append(layer.name)
    bound = {}
    for name, feeding in reshapes.items():
        roots = {find(n) for n in feeding}
        for members in groups.values():
            if find(members[0]) in roots:
                bound.setdefault(members[0], []).append(name)
    return list(groups.values()), bound


def _concatenates_channels(layer) -> bool:
    axis, rank = layer.get_config()["axis"], len(layer.output_shape)
    return axis in (-1, rank - 1)


def _free_axis(layer) -> int:
    """The axis of a Reshape target that absorbs a change of size: its -1, else the last."""
    target = list(layer.target_shape)
    return target.index(-1) if -1 in target else len(target) - 1


def reshape_target(layer, new_size: int) -> tuple | None:
    """The target shape of a Reshape whose input now has ``new_size`` values, or None when
    no whole number of channels fits."""
    target = list(layer.target_shape)
    free = _free_axis(layer)
    known = int(np.prod([v for i, v in enumerate(target) if i != free]))
    if new_size % known:
        return None
    if target[free] != -1:
        target[free] = new_size // known
    return tuple(target)


def tensor_sizes(model: keras.Model, widths: dict[str, int]) -> dict[str, int]:
    """The number of values of every layer's output when weight layers take ``widths``
    (name -> new width); sizes follow the widths linearly (spatial shapes do not change)."""
    graph = topology(model)
    terms: dict[str, dict[str, float]] = {graph.input_name: {FIXED: float(np.prod(model.input_shape[1:]))}}
    for layer in graph.layers:
        ins = [terms[n] for n in graph.inputs[layer.name]]
        size_out = float(np.prod(layer.output_shape[1:]))
        if role(layer) == WEIGHT and width(layer) is not None:
            terms[layer.name] = {layer.name: size_out / width(layer)}
        elif type(layer).__name__ == "Concatenate":
            merged: dict[str, float] = {}
            for t in ins:
                for k, v in t.items():
                    merged[k] = merged.get(k, 0.0) + v
            terms[layer.name] = merged
        else:
            size_in = sum(v * (width(graph.layer(k)) if k != FIXED else 1) for k, v in ins[0].items())
            terms[layer.name] = {k: v * size_out / size_in for k, v in ins[0].items()}
    return {
        name: int(round(sum(v * (widths.get(k, width(graph.layer(k))) if k != FIXED else 1) for k, v in t.items())))
        for name, t in terms.items()
    }


# -- the output: class scores -------------------------------------------------------------


def output_activation(model: keras.Model) -> str:
    """The nonlinearity of the network's output ('softmax', 'sigmoid', 'linear', ...)."""
    graph = topology(model)
    name = graph.output_name
    while True:
        layer = graph.layer(name)
        if role(layer) in (WEIGHT, ACTIVATION):
            return activation_of(layer)
        if role(layer) not in (DROPOUT, FLATTEN, RESHAPE) or not graph.inputs[name]:
            return "linear"
        name = graph.inputs[name][0]
        if name == graph.input_name:
            return "linear"


def n_outputs(model: keras.Model) -> int:
    return int(model.output_shape[-1])


def n_classes_of(model: keras.Model) -> int:
    """Classes the network tells apart: its output width, or 2 for a single score."""
    return max(2, n_outputs(model))


def classes_of(model: keras.Model, outputs: np.ndarray) -> np.ndarray:
    """The class of each output row: the largest score, or for a single score (binary
    classifier) whether it passes 0.5 after a sigmoid (0 for a logit)."""
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        threshold = 0.5 if output_activation(model) in ("sigmoid", "quantized_sigmoid") else 0.0
        return (outputs[:, 0] > threshold).astype(np.int64)
    return np.argmax(outputs, axis=1)
