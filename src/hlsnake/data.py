"""Datasets by name, checked, split and standardised once for every design.

Sources (``dataset.name`` in the config):

* ``digits``: scikit-learn's bundled 8x8 digits (1797 images, 10 classes), no download.
* ``jets``: ``hls4ml_lhc_jets_hlf`` (OpenML 42468, 16 features, 5 classes), from a local
  CSV/Parquet file (``dataset.path``) or fetched from OpenML when no file is given.
* ``file``: any CSV/Parquet/NPZ file with a named label column (``dataset.label``).

The split is stratified and seeded; the standardisation is fitted on the training split
only. The result is one ``.npz`` file that every design reads.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .fileio import atomic_path

JET_FEATURES = [
    "zlogz", "c1_b0_mmdt", "c1_b1_mmdt", "c1_b2_mmdt", "c2_b1_mmdt", "c2_b2_mmdt",
    "d2_b1_mmdt", "d2_b2_mmdt", "d2_a1_b1_mmdt", "d2_a1_b2_mmdt", "m2_b1_mmdt",
    "m2_b2_mmdt", "n2_b1_mmdt", "n2_b2_mmdt", "mass_mmdt", "multiplicity",
]  # fmt: skip
JET_LABEL = "class"
JET_OPENML_ID = 42468
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".npz")


class DataError(ValueError):
    """Bad input data; the message names the file, column or class."""


class Table:
    """Features, labels and their names, as read from a source."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, feature_names, image_shape=None):
        self.features = features
        self.labels = labels
        self.feature_names = list(feature_names)
        self.image_shape = image_shape


# -- reading and checking --------------------------------------------------------------


def _read_frame(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise DataError(f"data file {path} is empty") from None
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            columns = {}
            for name in arrays.files:
                array = arrays[name]
                if array.ndim == 1:
                    columns[name] = array
                elif array.ndim == 2:
                    columns.update({f"{name}_{i}": array[:, i] for i in range(array.shape[1])})
                else:
                    raise DataError(f"data file {path}: array {name!r} has {array.ndim} dimensions, expected 1 or 2")
            lengths = {len(c) for c in columns.values()}
            if len(lengths) > 1:
                raise DataError(f"data file {path}: arrays have different lengths {sorted(lengths)}")
            return pd.DataFrame(columns)
    raise DataError(f"data file {path}: unsupported type {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")


def read_labelled_file(path, label: str, feature_columns=None, min_per_class: int = 3) -> Table:
    """Read a table, check it, and return its numeric features and its labels."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"data file {path} is empty")
    frame = _read_frame(path)
    if frame.empty:
        raise DataError(f"data file {path} has no rows")
    if label not in frame.columns:
        close = difflib.get_close_matches(label, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns are {', '.join(map(str, frame.columns[:20]))}"
        raise DataError(f"data file {path} has no label column {label!r} (config key dataset.label){hint}")
    if feature_columns is None:
        feature_columns = [c for c in frame.columns if c != label]
    missing = [c for c in feature_columns if c not in frame.columns]
    if missing:
        raise DataError(f"data file {path} lacks the feature column(s) {', '.join(missing)}")
    if not feature_columns:
        raise DataError(f"data file {path} has no feature columns besides the label {label!r}")
    for column in feature_columns:
        if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            sample = frame[column].iloc[0]
            raise DataError(f"data file {path}: feature column {column!r} is not numeric (e.g. {sample!r})")
        values = frame[column].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(
                f"data file {path}: feature column {column!r} has {int(bad.sum())} NaN/infinite value(s), "
                f"first at row {int(np.argmax(bad))}"
            )
    labels = frame[label]
    if labels.isna().any():
        raise DataError(f"data file {path}: label column {label!r} has {int(labels.isna().sum())} missing value(s)")
    check_class_counts(labels.to_numpy(), min_per_class, where=f"data file {path}, column {label!r}")
    return Table(frame[feature_columns].to_numpy(dtype=np.float32), labels.to_numpy(), feature_columns)


def _text(value) -> str:
    """A label as the user wrote it: 1, or 'g' (not np.int64(1))."""
    value = value.item() if hasattr(value, "item") else value
    return repr(value)


def check_class_counts(labels: np.ndarray, min_per_class: int, where: str) -> None:
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise DataError(f"{where}: only one class ({_text(classes[0])}); a classifier needs at least two")
    for cls, count in zip(classes, counts):
        if count < min_per_class:
            raise DataError(
                f"{where}: class {_text(cls)} has only {count} sample(s); at least {min_per_class} are needed "
                "to split into train/validation/test"
            )


# -- sources ---------------------------------------------------------------------------


def _load_digits(spec: dict) -> Table:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return Table(bunch.data.astype(np.float32), bunch.target, names, image_shape=(8, 8, 1))


def _load_jets(spec: dict) -> Table:
    if spec.get("path"):
        return read_labelled_file(spec["path"], spec.get("label") or JET_LABEL, JET_FEATURES)
    from sklearn.datasets import fetch_openml

    try:
        bunch = fetch_openml(data_id=JET_OPENML_ID, as_frame=True, parser="auto")
    except Exception as err:  # no network, proxy, server down: say what to do instead
        raise DataError(
            f"could not fetch the jet data set from OpenML (id {JET_OPENML_ID}): {err}. "
            "Download hls4ml_lhc_jets_hlf once and give its CSV/Parquet file as dataset.path"
        ) from None
    frame = bunch.frame
    return Table(frame[JET_FEATURES].to_numpy(np.float32), frame[JET_LABEL].to_numpy(), JET_FEATURES)


def _load_file(spec: dict) -> Table:
    table = read_labelled_file(spec["path"], spec["label"])
    if spec.get("image_shape"):
        table.image_shape = tuple(spec["image_shape"])
    return table


SOURCES = {"digits": _load_digits, "jets": _load_jets, "file": _load_file}


def load_source(spec: dict) -> Table:
    """Read the data set that the ``dataset`` section of the config names."""
    try:
        loader = SOURCES[spec["name"]]
    except KeyError:
        raise DataError(f"unknown dataset {spec['name']!r} (config key dataset.name); known: {', '.join(SOURCES)}")
    table = loader(spec)
    if table.image_shape and int(np.prod(table.image_shape)) != table.features.shape[1]:
        raise DataError(
            f"dataset.image_shape {list(table.image_shape)} holds {int(np.prod(table.image_shape))} values "
            f"but the data has {table.features.shape[1]} features"
        )
    return table


# -- split and standardise -------------------------------------------------------------


def split_and_standardise(table: Table, spec: dict) -> dict:
    """Stratified, seeded train/validation/test split; standardisation fitted on train
    (unless ``standardise`` is false)."""
    from sklearn.model_selection import train_test_split

    classes, y = np.unique(table.labels, return_inverse=True)
    X = table.features
    seed = int(spec["seed"])
    if spec.get("max_samples") and len(X) > spec["max_samples"]:
        X, _, y, _ = train_test_split(X, y, train_size=int(spec["max_samples"]), stratify=y, random_state=seed)
    check_class_counts(y, 3, where=f"dataset {spec['name']!r}")
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=spec["test_fraction"], stratify=y, random_state=seed
    )
    val_of_rest = spec["validation_fraction"] / (1.0 - spec["test_fraction"])
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_of_rest, stratify=y_rest, random_state=seed
    )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1.0  # constant features (blank pixels) stay at zero
    if not spec.get("standardise", True):  # the features as the file holds them
        mean, std = np.zeros_like(mean), np.ones_like(std)

    def scale(a):
        return ((a - mean) / std).astype(np.float32)

    return {
        "X_train": scale(X_train), "y_train": y_train.astype(np.int64),
        "X_val": scale(X_val), "y_val": y_val.astype(np.int64),
        "X_test": scale(X_test), "y_test": y_test.astype(np.int64),
        "mean": mean.astype(np.float32), "std": std.astype(np.float32),
        "classes": np.array([str(c) for c in classes]),
        "feature_names": np.array(table.feature_names),
        "image_shape": np.array(table.image_shape or (), dtype=np.int64),
    }  # fmt: skip


def prepare(spec: dict, out_path) -> dict:
    """Load, split, standardise and save the data set; return a summary for the log."""
    split = split_and_standardise(load_source(spec), spec)
    split["spec"] = np.array(json.dumps(spec, sort_keys=True))  # how the split was made, for provenance
    with atomic_path(out_path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **split)
    return {
        "dataset": spec["name"],
        "n_train": len(split["y_train"]),
        "n_val": len(split["y_val"]),
        "n_test": len(split["y_test"]),
        "n_features": int(split["X_train"].shape[1]),
        "classes": split["classes"].tolist(),
    }


class Split:
    """The saved split, with features shaped for a given model input."""

    def __init__(self, path):
        self.path = Path(path)
        with np.load(path, allow_pickle=False) as f:
            self.arrays = {k: f[k] for k in f.files}
        self.classes = self.arrays["classes"].tolist()
        self.spec = json.loads(str(self.arrays["spec"])) if "spec" in self.arrays else None  # the dataset section and seed
        self.image_shape = tuple(int(v) for v in self.arrays["image_shape"])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        return int(self.arrays["X_train"].shape[1])

    def xy(self, part: str, input_shape=None):
        X = self.arrays[f"X_{part}"]
        if input_shape is not None:
            X = X.reshape((-1, *input_shape))
        return np.ascontiguousarray(X), self.arrays[f"y_{part}"]
