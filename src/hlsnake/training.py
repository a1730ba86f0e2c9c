"""Training and evaluation shared by every stage that fits a model."""

from __future__ import annotations

import time

import numpy as np

from .data import Split
from .kerasenv import keras


def compile_model(model: keras.Model, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def fit(model: keras.Model, split: Split, cfg: dict, *, early_stopping: bool = True, callbacks=(), log=print) -> dict:
    """Fit on the training split, validating on the validation split, with the settings
    of a config section (``epochs``, ``batch_size``, ``learning_rate``, ``patience``).

    With ``early_stopping`` the run stops on the validation loss after ``patience``
    epochs without improvement and keeps the best weights. A NaN loss stops the run
    with an error instead of saving a broken model.
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
        raise FloatingPointError(f"training diverged: loss became {losses[-1]} at epoch {len(losses)}")
    log(
        f"  trained {len(losses)} epoch(s) in {time.time() - start:.1f} s: "
        f"loss {losses[-1]:.4f}, val_accuracy {history.history['val_accuracy'][-1]:.4f}"
    )
    return {"epochs_run": len(losses), "final_loss": float(losses[-1]), "fit_seconds": time.time() - start}


def predict_classes(model: keras.Model, X: np.ndarray) -> np.ndarray:
    return np.argmax(model.predict(X, batch_size=1024, verbose=0), axis=1)


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
        self.layers = [layer for layer in layers if np.any(layer.get_weights()[0] == 0)]
        self.masks = [(layer.get_weights()[0] != 0).astype(np.float32) for layer in self.layers]

    def on_train_batch_end(self, batch, logs=None):
        for layer, mask in zip(self.layers, self.masks):
            layer.kernel.assign(layer.kernel * mask)
