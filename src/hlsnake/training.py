"""Training and evaluation shared by every stage that fits a model."""

from __future__ import annotations

import time

import numpy as np

from .data import Split
from .failures import DesignFailed
from .graph import classes_of, kernel_variables, n_outputs, output_activation
from .kerasenv import keras


class TrainingDiverged(DesignFailed):
    """The loss became NaN or infinite: the design's own failure (its knobs, its data)."""


def loss_and_metric(model: keras.Model):
    """The training loss that fits the network's output: cross-entropy over its class
    scores (softmax probabilities, or logits when there is no softmax), or binary
    cross-entropy on a single score (after a sigmoid, or a logit)."""
    single, activation = n_outputs(model) == 1, output_activation(model)
    if single:
        if activation in ("sigmoid", "quantized_sigmoid"):
            return "binary_crossentropy", "accuracy"
        return keras.losses.BinaryCrossentropy(from_logits=True), keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)
    if activation == "softmax":
        return "sparse_categorical_crossentropy", "accuracy"
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True), "accuracy"


def compile_model(model: keras.Model, learning_rate: float) -> None:
    loss, metric = loss_and_metric(model)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=[metric])


def fit(model: keras.Model, split: Split, cfg: dict, *, early_stopping: bool = True, callbacks=(), log=print) -> dict:
    """Fit on the training split, validating on the validation split, with the settings
    of a config section (``epochs``, ``batch_size``, ``learning_rate``, ``patience``).

    With ``early_stopping`` the run stops on the validation loss after ``patience``
    epochs without improvement and keeps the best weights. A NaN loss stops the run
    with :class:`TrainingDiverged` instead of saving a broken model.
    """
    epochs, batch_size, patience = cfg["epochs"], cfg["batch_size"], cfg.get("patience")
    learning_rate = cfg["learning_rate"]
    shape = model.input_shape[1:]
    X, y = split.xy("train", shape)
    X_val, y_val = split.xy("val", shape)
    compile_model(model, learning_rate)
    cbs = [keras.callbacks.TerminateOnNaN(), *callbacks]
    if early_stopping and patience:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True))
    start = time.time()
    history = model.fit(
        X, y, validation_data=(X_val, y_val), epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=cbs
    )
    losses = history.history["loss"]
    if not np.all(np.isfinite(losses)):
        raise TrainingDiverged(f"training diverged: loss became {losses[-1]} at epoch {len(losses)}")
    log(
        f"  trained {len(losses)} epoch(s) in {time.time() - start:.1f} s: "
        f"loss {losses[-1]:.4f}, val_accuracy {history.history['val_accuracy'][-1]:.4f}"
    )
    return {"epochs_run": len(losses), "final_loss": float(losses[-1]), "fit_seconds": time.time() - start}


def predict_classes(model: keras.Model, X: np.ndarray) -> np.ndarray:
    return classes_of(model, model.predict(X, batch_size=1024, verbose=0))


def accuracy(model: keras.Model, split: Split, part: str = "test") -> float:
    X, y = split.xy(part, model.input_shape[1:])
    return float(np.mean(predict_classes(model, X) == y))


def count_params(model: keras.Model) -> int:
    return int(model.count_params())


class KeepZeros(keras.callbacks.Callback):
    """Hold pruned weights at zero while a later stage fine-tunes the model.

    The mask is the zero pattern of each kernel when training starts: a pruned
    design stays exactly as sparse as it was pruned.
    """

    def __init__(self, layers):
        super().__init__()
        kernels = [kernel for layer in layers for kernel in kernel_variables(layer)]
        self.kernels = [kernel for kernel in kernels if np.any(kernel.numpy() == 0)]
        self.masks = [(kernel.numpy() != 0).astype(np.float32) for kernel in self.kernels]

    def on_train_batch_end(self, batch, logs=None):
        for kernel, mask in zip(self.kernels, self.masks):
            kernel.assign(kernel * mask)
