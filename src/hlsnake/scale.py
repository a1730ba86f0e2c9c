"""Width scaling: the same network with every hidden layer narrower, retrained.

Hidden Dense units and Conv filters are multiplied by a factor; the output layer keeps
its width. The network is rebuilt from the parent's own layer configs (so a QKeras
parent stays quantised with the same quantizers) and trained from scratch.
"""

from __future__ import annotations

from .kerasenv import keras
from .models import weight_layers
from .training import fit

SCALE_STEPS = 8  # MetaML: factors 1 - k/8


def scaled_copy(model: keras.Model, factor: float) -> keras.Model:
    """A fresh (untrained) copy of ``model`` with hidden widths times ``factor``."""
    output = weight_layers(model)[-1]

    def clone(layer):
        cfg = layer.get_config()
        if layer is not output:
            for key in ("units", "filters"):
                if key in cfg:
                    cfg[key] = max(1, int(round(cfg[key] * factor)))
        return layer.__class__.from_config(cfg)

    return keras.models.clone_model(model, clone_function=clone)


def hidden_widths(model: keras.Model) -> list[int]:
    return [layer.get_config().get("units", layer.get_config().get("filters")) for layer in weight_layers(model)[:-1]]


def auto_scale(model: keras.Model, split, tolerance: float, cfg: dict, log=print):
    """MetaML scaling: try factors 1 - k/8 for k = 1, 2, ..., retraining each; reject a
    candidate whose relative accuracy loss against ``model`` exceeds ``tolerance``;
    stop after ``cfg['max_rejections']`` rejections in a row or at k = 8. Returns the
    last accepted model (``model`` itself when none is), its factor, and the log."""
    from .candidates import CandidateLog
    from .training import accuracy

    record = CandidateLog("scale", accuracy(model, split, "val"), tolerance, relative=True, log=log)
    best, best_factor, rejections = model, 1.0, 0
    for k in range(1, SCALE_STEPS):
        factor = 1.0 - k / SCALE_STEPS
        candidate = scaled_copy(model, factor)
        knobs = {"width_factor": factor, "hidden": "-".join(map(str, hidden_widths(candidate)))}

        def work(c=candidate):
            fit(c, split, cfg, log=lambda *_: None)
            return accuracy(c, split, "val"), c

        accepted, _ = record.evaluate(knobs, work)  # a failed candidate counts as a rejection
        if accepted:
            best, best_factor, rejections = candidate, factor, 0
        else:
            rejections += 1
            if rejections >= cfg["max_rejections"]:
                break
    return best, best_factor, record
