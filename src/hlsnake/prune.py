"""Magnitude pruning with tensorflow-model-optimization."""

from __future__ import annotations

import math

from .kerasenv import keras  # first: tfmot must see tf_keras

import tensorflow_model_optimization as tfmot  # noqa: E402

from .data import Split
from .models import weight_layers
from .training import fit


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

    prunable = {id(layer) for layer in weight_layers(model)}

    def wrap(layer):
        if id(layer) in prunable:
            return sk.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    # clone_function receives the trained layers themselves: the wrappers keep their weights.
    wrapped = keras.models.clone_model(model, clone_function=wrap)
    history = fit(
        wrapped,
        split,
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        callbacks=[sk.UpdatePruningStep()],
        log=log,
    )
    return sk.strip_pruning(wrapped), history
