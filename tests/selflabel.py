"""Test data labelled by a network's own predictions (a split, or a data file).

For a trained network whose data set is not at hand (e.g. a model kept beside a published
hls4ml project), inputs drawn from a fixed distribution, labelled with the network's own
classes, make a split that every task can run on: the network agrees with itself by
construction, so its accuracy on this split is its agreement with the original, and what
a task costs is the agreement it loses.
"""

from __future__ import annotations

import json

import numpy as np

import pandas as pd

from hlsnake.data import Split
from hlsnake.fileio import atomic_path
from hlsnake.graph import classes_of, n_classes_of
from hlsnake.kerasenv import keras


def split_labelled_by(model: keras.Model, X: np.ndarray, path, seed: int = 0, validation_fraction: float = 0.2, test_fraction: float = 0.2) -> Split:
    """Save ``X`` (inputs, any shape that holds the model's input) labelled by ``model`` as
    a split in ``path`` (the ``.npz`` the stages read) and return it. The split is a
    seeded shuffle; features are taken as they are (mean 0, std 1 recorded)."""
    shape = tuple(int(v) for v in model.input_shape[1:])
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    y = classes_of(model, model.predict(X.reshape(-1, *shape), batch_size=1024, verbose=0)).astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test, n_val = int(round(len(X) * test_fraction)), int(round(len(X) * validation_fraction))
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    arrays = {key: values for part, index in parts.items() for key, values in ((f"X_{part}", X[index]), (f"y_{part}", y[index]))}
    arrays.update(
        mean=np.zeros(X.shape[1], np.float32),
        std=np.ones(X.shape[1], np.float32),
        classes=np.array([str(c) for c in range(n_classes_of(model))]),
        feature_names=np.array([f"x{i}" for i in range(X.shape[1])]),
        image_shape=np.array(shape if len(shape) > 1 else (), dtype=np.int64),
        spec=np.array(json.dumps({"name": "labelled_by_model", "model": model.name, "n": len(X), "seed": seed}, sort_keys=True)),
    )
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return Split(path)


def file_labelled_by(model: keras.Model, X: np.ndarray, path, label: str = "class") -> pd.DataFrame:
    """``X`` (flat features) labelled by ``model`` as a CSV data file (``dataset: file``)."""
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    shape = tuple(int(v) for v in model.input_shape[1:])
    y = classes_of(model, model.predict(X.reshape(-1, *shape), batch_size=1024, verbose=0))
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(**{label: y})
    table.to_csv(path, index=False)
    return table
