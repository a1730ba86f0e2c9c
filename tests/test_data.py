import numpy as np
import pandas as pd
import pytest

from hlsnake import data
from hlsnake.data import DataError, JET_FEATURES, Split

SPEC = {"name": "digits", "seed": 0, "test_fraction": 0.2, "validation_fraction": 0.2, "max_samples": None}


def test_digits_split_is_stratified_seeded_and_standardised_on_train(tmp_path):
    summary = data.prepare(SPEC, tmp_path / "a.npz")
    data.prepare(SPEC, tmp_path / "b.npz")
    a, b = Split(tmp_path / "a.npz"), Split(tmp_path / "b.npz")
    assert summary["n_train"] + summary["n_val"] + summary["n_test"] == 1797
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])  # same seed, same split
    X_train, y_train = a.xy("train")
    X_test, y_test = a.xy("test")
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-5)  # fitted on train ...
    assert abs(X_test.mean()) > 1e-4  # ... and only applied to test
    assert set(np.unique(y_test)) == set(range(10))  # every class in the test split
    assert a.image_shape == (8, 8, 1)
    assert a.xy("test", (8, 8, 1))[0].shape == (len(y_test), 8, 8, 1)


def test_a_different_seed_gives_a_different_split(tmp_path):
    data.prepare(SPEC, tmp_path / "a.npz")
    data.prepare({**SPEC, "seed": 1}, tmp_path / "b.npz")
    assert not np.array_equal(Split(tmp_path / "a.npz").arrays["y_test"], Split(tmp_path / "b.npz").arrays["y_test"])


def _jets_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 16)), columns=JET_FEATURES)
    frame["class"] = rng.choice(list("gqtwz"), size=n)
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_jets_from_a_local_file(tmp_path, suffix):
    path = tmp_path / f"jets{suffix}"
    frame = _jets_frame()
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    table = data.load_source({"name": "jets", "path": str(path), "label": None})
    assert table.features.shape == (300, 16)
    assert table.feature_names == JET_FEATURES
    assert set(table.labels) == set("gqtwz")


def test_file_npz_with_a_feature_matrix(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(60, 5)), y=np.repeat([0, 1, 2], 20))
    table = data.load_source({"name": "file", "path": str(path), "label": "y"})
    assert table.features.shape == (60, 5)


@pytest.mark.parametrize(
    "frame, label, message",
    [
        (pd.DataFrame({"a": [1.0, np.nan, 3.0] * 4, "y": [0, 1, 0] * 4}), "y", r"column 'a' has 4 NaN"),
        (pd.DataFrame({"a": ["x", "y", "z"] * 4, "y": [0, 1, 0] * 4}), "y", r"column 'a' is not numeric"),
        (pd.DataFrame({"a": range(12), "label": [0] * 10 + [1] * 2}), "label", r"class 1 has only 2 sample"),
        (pd.DataFrame({"a": range(12), "label": [0] * 12}), "label", r"only one class"),
        (pd.DataFrame({"a": range(12), "lable": [0, 1] * 6}), "label", r"did you mean 'lable'"),
    ],
)
def test_bad_tables_are_named(tmp_path, frame, label, message):
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=message):
        data.read_labelled_file(path, label)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        data.read_labelled_file(empty, "y")
    with pytest.raises(DataError, match="does not exist"):
        data.read_labelled_file(tmp_path / "missing.csv", "y")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,y\n")
    with pytest.raises(DataError, match="has no rows"):
        data.read_labelled_file(header_only, "y")


def test_jets_without_a_file_or_network_says_what_to_do(monkeypatch):
    import sklearn.datasets

    def offline(**_):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DataError, match=r"OpenML \(id 42468\).*give its CSV/Parquet file as dataset.path"):
        data.load_source({"name": "jets", "path": None, "label": None})
