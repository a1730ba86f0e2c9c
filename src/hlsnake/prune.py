"""Magnitude pruning with tensorflow-model-optimization.

Every weight layer (Dense, Conv1D/2D, depthwise and separable convolutions, and their
QKeras forms, which tfmot prunes through their ``get_prunable_weights``) is pruned to the
same sparsity; BatchNorm and the other layers keep their weights as they are. Works on
Sequential and functional graphs alike (tfmot wraps the layers of a clone of the graph).
The sparsity reached per layer is ``models.sparsity_per_layer``.
"""

from __future__ import annotations

import math

from .kerasenv import keras  # first: tfmot must see tf_keras

import tensorflow_model_optimization as tfmot  # noqa: E402

from .candidates import CandidateLog
from .data import Split
from .graph import weight_layers
from .training import accuracy, fit


def prune(model: keras.Model, split: Split, sparsity: float, cfg: dict, log=print) -> tuple[keras.Model, dict]:
    """Prune every weight layer to ``sparsity`` with a polynomial-decay schedule, fine-tune,
    and strip the wrappers. The last ``cfg['recovery_epochs']`` epochs run at the final
    sparsity so the network recovers from the last pruning step."""
    sk = tfmot.sparsity.keras
    n_train = len(split.arrays["y_train"])
    steps_per_epoch = math.ceil(n_train / cfg["batch_size"])
    ramp_epochs = max(1, cfg["epochs"] - cfg["recovery_epochs"])
    schedule = sk.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=float(sparsity),
        begin_step=0,
        end_step=ramp_epochs * steps_per_epoch,
        frequency=max(1, steps_per_epoch // 2),
    )

    # work on a copy: the caller's model stays as it was (automatic pruning tries several)
    base = keras.models.clone_model(model)
    base.set_weights(model.get_weights())
    prunable = {id(layer) for layer in weight_layers(base)}
    copied = []  # (new layer, weights) of the non-prunable layers that carry weights

    def wrap(layer):
        if id(layer) in prunable:
            return sk.prune_low_magnitude(layer, pruning_schedule=schedule)
        # a new layer (not the copy's own object, which would then sit in two graphs)
        new = layer.__class__.from_config(layer.get_config())
        if layer.weights:
            copied.append((new, layer.get_weights()))
        return new

    # clone_function receives the trained layers themselves: the wrappers keep their weights.
    wrapped = keras.models.clone_model(base, clone_function=wrap)
    for new, weights in copied:
        new.set_weights(weights)
    # no early stopping: the schedule must run to the final sparsity
    history = fit(wrapped, split, cfg, early_stopping=False, callbacks=[sk.UpdatePruningStep()], log=log)
    return _detached(sk.strip_pruning(wrapped)), history


def _detached(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with layers of its own. strip_pruning returns the wrapped
    layers themselves, which also belong to the training graph: their ``output`` is a
    tensor of that graph, and a model built on it (``graph.activation_ranges``)
    would be disconnected."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def auto_prune(model: keras.Model, split: Split, tolerance: float, cfg: dict, log=print):
    """Bisection on the sparsity (MetaML): start at 0.5, step 0.25; accept a candidate
    while its absolute accuracy drop against ``model`` stays within ``tolerance`` (then
    try sparser, else denser); stop when the step falls below ``cfg['min_step']``.
    Returns the sparsest accepted model (``model`` itself when none is accepted), its
    sparsity, and the candidate log."""
    record = CandidateLog("prune", accuracy(model, split, "val"), tolerance, relative=False, log=log)
    best, best_sparsity = model, 0.0
    sparsity, step = 0.5, 0.25
    while True:
        def work(s=sparsity):
            pruned, _ = prune(model, split, s, cfg, log=lambda *_: None)
            return accuracy(pruned, split, "val"), pruned

        accepted, candidate = record.evaluate({"sparsity": round(sparsity, 4)}, work)  # a failed one is rejected
        if accepted:
            best, best_sparsity = candidate, sparsity
            sparsity += step
        else:
            sparsity -= step
        if step < cfg["min_step"]:
            break
        step /= 2
    return best, best_sparsity, record
