"""A user's own Keras network, without hls4ml: reading model files (.h5, Keras 2 and
Keras 3 .keras archives), the supported-layer check, the shape check against the data,
re-initialisation, the widths that scale together, and BatchNorm folding. Bad input
stops with a ModelError that names the file, the layer or both shapes."""

import zipfile

import numpy as np
import pytest

from conftest import HLS_REPORTS, HLS_REPORTS_MORE, require_fixtures
from hlsnake import graph, kerasenv, modelfile, models, quantize, scale

import selflabel
from hlsnake.graph import ModelError
from hlsnake.kerasenv import keras

L = keras.layers
HAR = "seanlipps__ECE226_CoDesign__conv1d_io_parallel/keras_model.keras"  # a Keras 2.14 archive
IRIS = "Thifjj__Iris_hls4ml_pynqZ2__iris_mlp/keras_model.keras"  # a Keras 3.13 archive
SEPCONV = "calwilee__hls4ml-automated-testing__sepconv2d_pf4/keras_model.keras"  # HDF5 despite its suffix


def residual(filters=8, n_classes=4):
    """Two convolutions joined by an Add (a residual block) with BatchNorm, then a Reshape."""
    inputs = keras.Input((6, 6, 2), name="x")
    a = L.BatchNormalization(name="a_bn")(L.Conv2D(filters, 3, padding="same", name="a")(inputs))
    r = L.ReLU(name="a_relu")(a)
    b = L.BatchNormalization(name="b_bn")(L.Conv2D(filters, 3, padding="same", name="b")(r))
    x = L.Activation("relu", name="add_relu")(L.Add(name="add")([r, b]))
    x = L.Reshape((36, filters), name="flat")(x)
    x = L.Conv1D(6, 1, activation="relu", name="c")(x)
    x = L.GlobalAveragePooling1D(name="gap")(x)
    outputs = L.Dense(n_classes, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="residual")


def _randomise_batchnorms(model, seed=1):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if graph.role(layer) == graph.BATCHNORM:
            g, b, m, v = layer.get_weights()
            layer.set_weights([g * rng.uniform(0.5, 2, g.shape), b + rng.normal(0, 0.3, b.shape),
                               m + rng.normal(0, 0.3, m.shape), v * rng.uniform(0.5, 2, v.shape)])  # fmt: skip


# -- reading model files ------------------------------------------------------------------


def test_reads_keras2_and_keras3_archives_and_hdf5_named_keras():
    require_fixtures(HLS_REPORTS)
    har = modelfile.load_user_model(HLS_REPORTS / HAR)
    assert [type(layer).__name__ for layer in har.layers] == ["Conv1D", "Activation", "GlobalMaxPooling1D", "Dense"]
    assert har.input_shape == (None, 128, 9) and float(np.abs(har.layers[0].get_weights()[0]).sum()) > 0
    # the Keras 3 iris network classifies the iris data: its weights went to the right layers
    from sklearn.datasets import load_iris

    iris = modelfile.load_user_model(HLS_REPORTS / IRIS)
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    assert np.mean(iris.predict(X, verbose=0).argmax(1) == y) > 0.9
    require_fixtures(HLS_REPORTS_MORE)
    sep = modelfile.load_user_model(HLS_REPORTS_MORE / SEPCONV)
    assert "SeparableConv2D" in [type(layer).__name__ for layer in sep.layers]


def test_missing_corrupt_and_weights_only_files_say_what_is_wrong(tmp_path):
    with pytest.raises(ModelError, match=r"model file .*nothere\.h5 does not exist"):
        modelfile.load_user_model(tmp_path / "nothere.h5")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not a model" * 10)
    with pytest.raises(ModelError, match="neither HDF5 nor a Keras zip archive.*corrupt"):
        modelfile.load_user_model(garbage)
    good = tmp_path / "good.h5"
    residual().save(good, save_format="h5")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError, match=r"truncated\.h5 could not be read as a Keras model"):
        modelfile.load_user_model(truncated)
    weights_only = tmp_path / "weights.h5"
    residual().save_weights(weights_only)
    with pytest.raises(ModelError, match="holds weights only"):
        modelfile.load_user_model(weights_only)
    archive = tmp_path / "empty.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(ModelError, match=r"empty\.keras could not be read.*config\.json"):
        modelfile.load_user_model(archive)
    with pytest.raises(ModelError, match="not a Keras model file"):
        modelfile.load_user_model(garbage.rename(tmp_path / "model.onnx"))


def test_an_unsupported_layer_is_named_with_its_class_and_the_supported_list(tmp_path):
    inputs = keras.Input((4, 4, 1), name="x")
    x = L.UpSampling2D(name="up")(L.Conv2D(2, 3, padding="same", name="conv")(inputs))
    path = tmp_path / "up.h5"
    keras.Model(inputs, L.Dense(3, name="out")(L.Flatten()(x))).save(path, save_format="h5")
    with pytest.raises(ModelError) as err:
        modelfile.load_user_model(path)
    text = str(err.value)
    assert "up.h5" in text and "layer 'up' is a UpSampling2D" in text and "Conv1D" in text and "Concatenate" in text
    # a tensor operation written as plain code becomes a layer Keras makes up: say what to write instead
    plus = keras.Model(inputs, L.Flatten()(inputs + 1.0))
    with pytest.raises(ModelError, match=r"TFOpLambda.*Add\(\)"):
        graph.check_supported(plus)
    with pytest.raises(ModelError, match="dilation_rate"):
        graph.check_supported(keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3, dilation_rate=2)]))


def test_shape_check_names_both_sides():
    model = residual(n_classes=4)  # input 6x6x2 (72 values), 4 outputs
    models.check_shapes(model, 72, None, 4)
    models.check_shapes(model, 72, (6, 6, 2), 4)
    with pytest.raises(ModelError, match=r"model input \[6, 6, 2\] holds 72 values, but the data has 64 features"):
        models.check_shapes(model, 64, None, 4)
    with pytest.raises(ModelError, match=r"model input \[6, 6, 2\] differs from dataset.image_shape \[12, 3, 2\]"):
        models.check_shapes(model, 72, (12, 3, 2), 4)
    with pytest.raises(ModelError, match="model output has 4 unit.*data set has 10 classes"):
        models.check_shapes(model, 72, None, 10)
    binary = keras.Sequential([keras.Input((5,)), L.Dense(1, activation="sigmoid")])
    models.check_shapes(binary, 5, None, 2)  # one score for two classes


@pytest.mark.slow
def test_reinitialise_is_seeded_and_keeps_the_architecture():
    model = residual()
    a, b, c = models.reinitialise(model, 1), models.reinitialise(model, 1), models.reinitialise(model, 2)
    assert a.to_json() == model.to_json()
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_layer("a").get_weights()[0], c.get_layer("a").get_weights()[0])
    assert not np.array_equal(a.get_layer("a").get_weights()[0], model.get_layer("a").get_weights()[0])


# -- the graph ----------------------------------------------------------------------------


def test_add_joined_layers_and_a_reshape_scale_together():
    model = residual(filters=8)
    groups, bound = graph.width_groups(model)
    assert groups == [["a", "b"], ["c"]]  # 'out' makes the output: never scaled
    assert bound == {"a": ["flat"]}
    copy = scale.scaled_copy(model, 0.5)
    assert scale.hidden_widths(model) == [8, 8, 6] and scale.hidden_widths(copy) == [4, 4, 3]
    assert copy.get_layer("flat").target_shape == (36, 4)
    assert copy.input_shape == model.input_shape and copy.output_shape == model.output_shape
    # a Reshape that needs whole channels moves the group to the nearest width that fits (narrower on a tie)
    inputs = keras.Input((6,))
    x = L.Reshape((2, 3), name="r")(L.Dense(6, name="d")(inputs))  # 6 values as 2 x 3: widths stay even
    odd = keras.Model(inputs, L.Dense(2, name="o")(L.Flatten()(x)))
    assert scale.scaled_widths(odd, 0.5) == ({"d": 2}, {"r": (2, 1)})
    assert scale.scaled_widths(odd, 0.75) == ({"d": 4}, {"r": (2, 2)})


def test_relus_and_the_class_of_a_single_score():
    model = residual()
    assert [layer.name for layer in graph.relu_layers(model)] == ["a_relu", "add_relu", "c"]
    assert [graph.relu_tensor_name(layer) for layer in graph.float_relus(model)] == ["a_relu", "add_relu", "c_relu"]
    sigmoid = keras.Sequential([keras.Input((2,)), L.Dense(1, activation="sigmoid")])
    logit = keras.Sequential([keras.Input((2,)), L.Dense(1)])
    assert list(graph.classes_of(sigmoid, np.array([[0.2], [0.7]]))) == [0, 1]
    assert list(graph.classes_of(logit, np.array([[-0.2], [0.1]]))) == [0, 1]
    assert graph.n_classes_of(sigmoid) == 2


@pytest.mark.slow
def test_batchnorm_folds_into_the_layer_before_it_exactly(tmp_path):
    kerasenv.seed_everything(0)
    model = residual()
    _randomise_batchnorms(model)
    split = selflabel.split_labelled_by(model, np.random.default_rng(0).normal(size=(200, 72)), tmp_path / "split.npz")
    assert quantize.batchnorm_folds(model) == {"a_bn": "a", "b_bn": "b"}
    # wide quantizers: what differs is the fold's float arithmetic and the ReLUs saturating
    # above the 99.9th percentile of their range
    qmodel, precisions = quantize.to_qkeras(model, split, 24, 24)
    kinds = {layer.name: type(layer).__name__ for layer in qmodel.layers}
    assert "a_bn" not in kinds and kinds["a"] == "QConv2D" and kinds["c_relu"] == "QActivation" and kinds["out_softmax"] == "Activation"
    assert set(precisions) >= {"a", "b", "c", "out", "a_relu", "add_relu", "c_relu"}
    X, _ = split.xy("test", model.input_shape[1:])
    normalised = keras.Model(model.inputs, model.get_layer("a_bn").output).predict(X, verbose=0)
    folded = keras.Model(qmodel.inputs, qmodel.get_layer("a").output).predict(X, verbose=0)
    np.testing.assert_allclose(folded, normalised, atol=1e-4)
    np.testing.assert_allclose(qmodel.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-2)
    assert np.array_equal(qmodel.predict(X, verbose=0).argmax(1), model.predict(X, verbose=0).argmax(1))


def test_what_hls4ml_cannot_build_fails_the_design_before_any_cpp():
    from hlsnake import hls
    from hlsnake.failures import DesignFailed

    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, L.Dense(3)(L.Flatten()(L.DepthwiseConv2D(3, name="dw")(inputs))))
    hls.check_convertible(model, {"io_type": "io_parallel", "strategy": "latency"})
    hls.check_convertible(model, {"io_type": "io_stream", "strategy": "resource"})
    # the generated C++ would abort the process with an assert
    with pytest.raises(DesignFailed, match="no Resource strategy for DepthwiseConv2D in io_parallel"):
        hls.check_convertible(model, {"io_type": "io_parallel", "strategy": "resource"})
    with pytest.raises(ModelError, match="depth_multiplier=2"):
        graph.check_supported(keras.Sequential([keras.Input((6, 6, 2)), L.DepthwiseConv2D(3, depth_multiplier=2)]))
