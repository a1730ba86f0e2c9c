"""Width scaling: the same network with every hidden layer narrower, retrained.

Hidden Dense units and Conv filters are multiplied by a factor; the layers that make the
network's output keep their width, so input and output shapes stay as they are. On a
graph, widths that must agree scale together (``graph.width_groups``): the layers joined
by an Add, and the layers feeding a Reshape, whose target shape then follows them (when
no whole number of channels fits at the factor, the group takes the nearest width that
fits, the narrower on a tie). BatchNorm and depthwise convolutions follow their input's width. The network is
rebuilt from the parent's own layer configs (so a QKeras parent stays quantised with the
same quantizers) and trained from scratch.
"""

from __future__ import annotations

from .candidates import CandidateLog
from .failures import DesignFailed
from .graph import reshape_target, tensor_sizes, topology, weight_layers, width, width_groups
from .kerasenv import keras
from .training import accuracy, fit

SCALE_STEPS = 8  # MetaML: factors 1 - k/8


def _scaled(value: int, factor: float) -> int:
    return max(1, int(round(value * factor)))


def scaled_widths(model: keras.Model, factor: float) -> tuple[dict[str, int], dict[str, tuple]]:
    """New widths (weight layer -> units/filters) and Reshape targets at ``factor``."""
    groups, bound = width_groups(model)
    graph = topology(model)
    widths: dict[str, int] = {}
    targets: dict[str, tuple] = {}
    for members in groups:
        reshapes = [graph.layer(name) for name in bound.get(members[0], [])]
        first = width(graph.layer(members[0]))
        # the factor itself first, then the nearest widths of the first layer (Reshapes need whole channels)
        candidates = sorted(range(1, 2 * first + 1), key=lambda w: (abs(w - first * factor), w))
        for w0 in [None, *candidates]:
            f = factor if w0 is None else w0 / first
            trial = {name: _scaled(width(graph.layer(name)), f) for name in members}
            sizes = tensor_sizes(model, {**widths, **trial}) if reshapes else {}
            shapes = {r.name: reshape_target(r, sizes[graph.inputs[r.name][0]]) for r in reshapes}
            if all(shape is not None for shape in shapes.values()):
                widths.update(trial)
                targets.update(shapes)
                break
    return widths, targets


def scaled_copy(model: keras.Model, factor: float) -> keras.Model:
    """A fresh (untrained) copy of ``model`` with hidden widths times ``factor``."""
    widths, targets = scaled_widths(model, factor)

    def clone(layer):
        cfg = layer.get_config()
        if layer.name in widths:
            cfg["units" if "units" in cfg else "filters"] = widths[layer.name]
        if layer.name in targets:
            cfg["target_shape"] = targets[layer.name]
        return layer.__class__.from_config(cfg)

    try:
        copy = keras.models.clone_model(model, clone_function=clone)
    except ValueError as err:  # a graph whose shapes the scaled widths no longer fit
        raise DesignFailed(f"scale: widths x {factor} do not fit the graph: {err}") from None
    if copy.output_shape != model.output_shape:
        raise DesignFailed(f"scale: widths x {factor} change the output shape {model.output_shape} to {copy.output_shape}")
    return copy


def hidden_widths(model: keras.Model) -> list[int]:
    """Widths of the weight layers that scaling changes, in the model's order."""
    groups, _ = width_groups(model)
    scalable = {name for members in groups for name in members}
    return [width(layer) for layer in weight_layers(model) if layer.name in scalable]


def auto_scale(model: keras.Model, split, tolerance: float, cfg: dict, log=print):
    """MetaML scaling: try factors 1 - k/8 for k = 1, 2, ..., retraining each; reject a
    candidate whose relative accuracy loss against ``model`` exceeds ``tolerance``;
    stop after ``cfg['max_rejections']`` rejections in a row or at k = 8. Returns the
    last accepted model (``model`` itself when none is), its factor, and the log."""
    record = CandidateLog("scale", accuracy(model, split, "val"), tolerance, relative=True, log=log)
    best, best_factor, rejections = model, 1.0, 0
    for k in range(1, SCALE_STEPS):
        factor = 1.0 - k / SCALE_STEPS
        widths, _ = scaled_widths(model, factor)
        hidden = [widths[layer.name] for layer in weight_layers(model) if layer.name in widths]
        knobs = {"width_factor": factor, "hidden": "-".join(map(str, hidden))}

        def work(f=factor):
            c = scaled_copy(model, f)
            fit(c, split, cfg, log=lambda *_: None)
            return accuracy(c, split, "val"), c

        accepted, candidate = record.evaluate(knobs, work)  # a failed candidate counts as a rejection
        if accepted:
            best, best_factor, rejections = candidate, factor, 0
        else:
            rejections += 1
            if rejections >= cfg["max_rejections"]:
                break
    return best, best_factor, record
