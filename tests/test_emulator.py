"""The bit-exact emulator (hlsnake.emulator) against hls4ml's real C simulation.

Random designs: small seeded networks of every supported layer kind (Keras and QKeras) with random
hls4ml settings -- result, weight, bias, accumulator, table and softmax types of 2 to 18 bits,
TRN/RND (and the rarer) rounding, WRAP/SAT (and SAT_SYM, SAT_ZERO, saturation bits) overflow,
reuse factors up to 8, Latency and Resource, io_parallel and io_stream -- and inputs that overflow
the input type. Each hls4ml project holds several independent designs (one input and one output
each) to share g++'s fixed cost; projects compile two at a time. For every design and sample the
emulator must give the C simulation's predicted class, the same fixed-point values in every traced
layer (the logits before the softmax among them) and the same output. The two hlsnake designs
(digits MLP, float and QKeras) go through hlsnake's own conversion (hls.convert).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from hlsnake import kerasenv

import hls4ml  # noqa: E402

from hlsnake.emulator import EmulationMismatch, EmulationUnsupported, Emulator, compare, fixedpoint, verify  # noqa: E402

pytestmark = pytest.mark.slow  # trains, compiles C++ or runs a tool: not in the quick subset

keras = kerasenv.keras
L = keras.layers

HLS = {"backend": "Vitis", "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>"}
N_SAMPLES = 40

# -- random designs ------------------------------------------------------------------------------

ROUNDING, RARE_ROUNDING = ["TRN", "RND"], ["RND_CONV", "RND_ZERO", "RND_INF", "RND_MIN_INF", "TRN_ZERO"]
OVERFLOW, RARE_OVERFLOW = ["WRAP", "SAT"], ["SAT_SYM", "SAT_ZERO"]


def random_type(rng, lo=2, hi=18, int_lo=1, int_hi=None, signed=True, sat_bits=False) -> str:
    """An hls4ml type string of lo..hi bits with random rounding and overflow modes."""
    width = int(rng.integers(lo, hi + 1))
    int_hi = width if int_hi is None else int_hi
    integer = int(rng.integers(int_lo, max(int_lo, min(int_hi, width + 2)) + 1))
    rounding = rng.choice(RARE_ROUNDING) if rng.random() < 0.15 else rng.choice(ROUNDING)
    overflow = rng.choice(RARE_OVERFLOW) if rng.random() < 0.1 else rng.choice(OVERFLOW)
    n = int(rng.integers(1, width)) if overflow == "WRAP" and sat_bits and width > 2 and rng.random() < 0.3 else 0
    return f"{'' if signed else 'u'}fixed<{width},{integer},{rounding},{overflow}{f',{n}' if n else ''}>"


class Design:
    """One design: a sub-network with its own input and output, and its hls4ml layer settings."""

    def __init__(self, rng, prefix: str, io_type: str, strategy: str, variant: int):
        self.rng, self.prefix, self.io_type, self.strategy = rng, prefix, io_type, strategy
        self.variant = variant  # picks the optional layers, so that every kind is covered
        self.settings: dict[str, dict] = {}
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{self.prefix}{kind.lower()}{self.count}"

    def precision(self, name: str, **types) -> None:
        self.settings.setdefault(name, {}).setdefault("Precision", {}).update(types)

    def result(self, name: str, p: float = 0.7, **kw) -> None:
        if self.rng.random() < p:
            self.precision(name, result=random_type(self.rng, **kw))

    def weight_settings(self, name: str) -> None:
        r = self.rng
        if r.random() < 0.8:
            self.precision(name, weight=random_type(r, 2, 18, 1, 4), bias=random_type(r, 2, 18, 1, 6))
        if r.random() < 0.5:
            self.precision(name, result=random_type(r, 4, 18, 3, 10))
        if self.strategy == "Latency" and r.random() < 0.2:
            self.precision(name, accum=random_type(r, 8, 18, 4, 10))  # the running sum may overflow
        self.settings.setdefault(name, {})["ReuseFactor"] = int(r.choice([1, 1, 2, 3, 4, 8]))

    def activation(self, x):
        r = self.rng
        kind = r.choice(["relu", "ReLU", "leaky", "sigmoid", "tanh", "linear", "none"])
        if kind == "none":
            return x
        if kind == "leaky":
            name = self.name("LeakyReLU")
            x = L.LeakyReLU(float(r.choice([0.1, 0.3, 0.05])), name=name)(x)
            if r.random() < 0.5:
                self.precision(name, param=random_type(r, 4, 12, 0, 2))
        elif kind == "ReLU":
            name = self.name("ReLU")
            x = L.ReLU(name=name)(x)
        else:
            name = self.name(kind)
            x = L.Activation(kind, name=name)(x)
            if kind in ("sigmoid", "tanh"):
                self.settings.setdefault(name, {})["TableSize"] = int(r.choice([256, 512, 1024, 2048]))
                if r.random() < 0.5:
                    self.precision(name, table=random_type(r, 8, 18, 1, 3))
        signed = kind not in ("relu", "ReLU") or r.random() < 0.5
        self.result(name, 0.7, lo=3, hi=18, int_lo=1, int_hi=8, signed=signed, sat_bits=True)
        return x

    def batchnorm(self, x, p_typed: float = 0.6):
        name = self.name("BatchNormalization")
        layer = L.BatchNormalization(name=name)
        x = layer(x)
        r, shape = self.rng, layer.get_weights()[0].shape
        layer.set_weights([r.uniform(0.5, 2, shape), r.normal(0, 0.5, shape), r.normal(0, 0.5, shape), r.uniform(0.5, 2, shape)])
        if r.random() < 0.5:
            self.precision(name, scale=random_type(r, 4, 16, 1, 3), bias=random_type(r, 4, 16, 1, 4))
        self.result(name, p_typed, lo=4, hi=18, int_lo=2, int_hi=8)
        return x

    def dense(self, x, units: int, activation=None):
        name = self.name("Dense")
        x = L.Dense(units, activation=activation, use_bias=bool(self.rng.random() < 0.85), name=name)(x)
        self.weight_settings(name)
        return x

    def dense_activation(self, x, units: int, activation=None):
        """A Dense layer and an activation; without one the result gets a narrow type (chained
        'auto' accumulators grow past the 62 bits the emulator holds)."""
        x = self.dense(x, units, activation)
        dense = f"{self.prefix}dense{self.count}"
        y = self.activation(x)
        if y is x and activation is None:
            self.precision(dense, result=random_type(self.rng, 4, 18, 3, 10))
        return y

    def conv(self, layer_class, x, **kw):
        name = self.name(layer_class.__name__)
        taps = int(kw["kernel_size"]) ** (2 if layer_class is L.Conv2D else 1)
        n_in, n_out = taps * x.shape[-1], kw["filters"]
        x = layer_class(name=name, **kw)(x)
        self.weight_settings(name)
        self.precision(name, result=random_type(self.rng, 6, 18, 3, 8))  # chained accumulators stay within 62 bits
        # a reuse factor hls4ml accepts as it is and at most the kernel's inputs: above that io_parallel's
        # conv_*d_resource_cl reads past its buffer, and a pointwise conv keeps an unchecked one
        valid = [rf for rf in hls4ml.backends.get_backend("Vitis").get_valid_reuse_factors(n_in, n_out) if rf <= n_in]
        self.settings[name]["ReuseFactor"] = int(self.rng.choice(valid))
        return x

    def pooling(self, kind: str, x):
        pad = "same" if self.io_type == "io_parallel" and self.rng.random() < 0.3 else "valid"  # streams pool unpadded
        name = self.name(kind)
        x = getattr(L, kind)(2, padding=pad, name=name)(x)
        self.result(name, 0.5, lo=4, hi=18, int_lo=2, int_hi=8)
        return x

    def depthwise(self, kind: str, x):
        r = self.rng
        name = self.name(kind)
        if kind.startswith("Depthwise"):
            x = getattr(L, kind)(3, name=name)(x)
            self.weight_settings(name)
        else:
            x = getattr(L, kind)(int(r.integers(2, 4)), 3, name=name)(x)
            self.precision(name, depthwise=random_type(r, 2, 18, 1, 4), pointwise=random_type(r, 2, 18, 1, 4),
                           depthwise_result=random_type(r, 6, 18, 3, 8))
            self.settings[name].update(DepthwiseReuseFactor=int(r.choice([1, 3])), PointwiseReuseFactor=int(r.choice([1, 2])))
        if self.io_type == "io_parallel":  # hls4ml's io_parallel depthwise conv aborts under Resource
            self.settings.setdefault(name, {})["Strategy"] = "Latency"
        return x

    def global_pooling(self, kind: str, x):
        name = self.name(kind)
        x = getattr(L, kind)(name=name)(x)
        self.result(name, 0.5, lo=4, hi=18, int_lo=2, int_hi=8)
        return x

    def softmax_head(self, x, n_classes: int):
        r = self.rng
        # keras.layers.Softmax() is left out: hls4ml 1.3 writes C++ for it that does not compile
        form = r.choice(["activation", "dense", "none"], p=[0.55, 0.3, 0.15])
        if form == "dense":
            logits = self.name("Dense")
            x = L.Dense(n_classes, activation="softmax", name=logits)(x)
            self.weight_settings(logits)
            softmax = logits + "_softmax"
        else:
            x = self.dense(x, n_classes)
            logits = f"{self.prefix}dense{self.count}"
            if form == "none":
                return x
            softmax = self.name("Softmax")
            x = L.Activation("softmax", name=softmax)(x)
        # the logits' type: random, or what hlsnake gives them (hls._narrow_softmax_input)
        self.precision(logits, result=random_type(r, 6, 18, 3, 8) if r.random() < 0.7 else "fixed<16,6,RND,SAT>")
        cfg = self.settings.setdefault(softmax, {})
        cfg["Implementation"] = str(r.choice(["stable", "stable", "latency"]))
        cfg["TableSize"] = int(r.choice([256, 512, 1024, 2048]))
        if r.random() < 0.6:
            self.precision(softmax, exp_table=random_type(r, 8, 18, 2, 8), inv_table=random_type(r, 8, 18, 2, 8),
                           result=random_type(r, 6, 18, 1, 3))
        return x


def mlp(d: Design, n_in: int):
    r = d.rng
    inp = L.Input((n_in,), name=d.prefix + "in")
    x = inp
    for _ in range(int(r.integers(1, 3))):
        if r.random() < 0.3:
            x = d.batchnorm(d.dense(x, int(r.integers(3, 9))), p_typed=1.0)  # fused into the Dense: a narrow result
            x = d.activation(x)
        else:
            x = d.dense_activation(x, int(r.integers(3, 9)), activation=None if r.random() < 0.8 else "relu")
        if r.random() < 0.2:
            x = L.Dropout(0.3, name=d.name("Dropout"))(x)
    return inp, d.softmax_head(x, int(r.integers(3, 6)))


def conv(d: Design, dims: int):
    r = d.rng
    stream = d.io_type == "io_stream"
    # small maps: g++ time grows with the unrolled im2col code of every output pixel
    shape = (int(r.integers(4, 7)), int(r.integers(4, 7)), int(r.integers(1, 3))) if dims == 2 else (
        int(r.integers(5, 10)), int(r.integers(1, 4)))
    inp = L.Input(shape, name=d.prefix + "in")
    conv_class = L.Conv2D if dims == 2 else L.Conv1D
    # io_parallel: never 1D and 2D depthwise convolutions in one project (hls4ml 1.3's nnet_sepconv1d_latency.h
    # carries nnet_sepconv2d_latency.h's include guard); every option under both io types
    extra = ["depthwise", "separable", "zeropad", "none"][(d.variant // 2 + (2 if dims == 1 else 0)) % 4]
    x = d.conv(conv_class, inp, filters=int(r.integers(2, 5)), kernel_size=int(r.choice([1, 2, 3])),
               strides=2 if not stream and extra in ("zeropad", "none") and r.random() < 0.3 else 1,
               padding="same" if extra in ("depthwise", "separable") else str(r.choice(["valid", "same"])))
    x = d.activation(x)
    if extra == "zeropad":
        x = getattr(L, f"ZeroPadding{dims}D")(1, name=d.name(f"ZeroPadding{dims}D"))(x)
    elif extra != "none":
        x = d.depthwise(f"DepthwiseConv{dims}D" if extra == "depthwise" else f"SeparableConv{dims}D", x)
    if r.random() < 0.7 and min(x.shape[1:-1]) >= 2:
        x = d.pooling(str(r.choice([f"MaxPooling{dims}D", f"AveragePooling{dims}D"])), x)
    if r.random() < 0.4 and extra != "depthwise":  # hls4ml fuses it into a depthwise kernel with a broadcast (wrong) shape
        x = d.batchnorm(x)
    if r.random() < 0.5:
        x = d.global_pooling(str(r.choice([f"GlobalAveragePooling{dims}D", f"GlobalMaxPooling{dims}D"])), x)
    else:
        x = L.Flatten(name=d.name("Flatten"))(x)
    return inp, d.softmax_head(x, int(r.integers(3, 6)))


def branches(d: Design, n_in: int):
    r = d.rng
    inp = L.Input((n_in,), name=d.prefix + "in")
    units = int(r.integers(3, 8))
    a, b = d.dense_activation(inp, units), d.dense_activation(inp, units)
    kind = str(r.choice(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]))
    name = d.name(kind)
    x = getattr(L, kind)(name=name)([a, b])
    d.result(name, 0.7, lo=4, hi=18, int_lo=2, int_hi=8)
    if r.random() < 0.5:
        x = L.Reshape((x.shape[-1], 1), name=d.name("Reshape"))(x)
        x = L.Flatten(name=d.name("Flatten"))(x)
    return inp, d.softmax_head(x, int(r.integers(3, 6)))


def qkeras_net(d: Design, n_in: int):
    from qkeras import QActivation, QConv1D, QDense, quantized_bits, quantized_relu

    r = d.rng
    conv_first = r.random() < 0.4
    inp = L.Input((n_in, 2) if conv_first else (n_in,), name=d.prefix + "in")
    x = inp
    for i in range(int(r.integers(1, 3))):
        bits = int(r.integers(2, 9))
        quantizers = {"kernel_quantizer": quantized_bits(bits, int(r.integers(0, 2)), alpha=1),
                      "bias_quantizer": quantized_bits(bits, int(r.integers(0, 3)), alpha=1)}
        if conv_first and i == 0:
            name = d.name("QConv1D")
            x = QConv1D(int(r.integers(2, 4)), 3, name=name, **quantizers)(x)
        else:
            name = d.name("QDense")
            x = QDense(int(r.integers(3, 9)), name=name, **quantizers)(x)
        d.settings.setdefault(name, {})["ReuseFactor"] = int(r.choice([1, 2, 4]))
        if r.random() < 0.3:
            x = d.batchnorm(x)
        bits = int(r.integers(2, 9))
        integer = int(r.integers(0, 3))
        quantizer = quantized_relu(bits, integer) if r.random() < 0.7 else quantized_bits(bits, integer, alpha=1)
        x = QActivation(quantizer, name=d.name("QActivation"))(x)
        if conv_first and i == 0:  # flatten after the activation: an io_stream activation after an in-place
            x = L.Flatten(name=d.name("Flatten"))(x)  # flatten reads past its input pack (hls4ml 1.3)
    return inp, d.softmax_head(x, int(r.integers(3, 6)))


FAMILIES = {"mlp": mlp, "conv2d": lambda d, _: conv(d, 2), "conv1d": lambda d, _: conv(d, 1), "branches": branches,
            "qkeras": qkeras_net}


def random_project(seed: int, io_type: str, families: list[str], name: str):
    """A Keras model of independent sub-networks (one design each) and its hls4ml config."""
    rng = np.random.default_rng(seed)
    inputs, outputs, designs = [], [], []
    for i, family in enumerate(families):
        d = Design(rng, f"{name}d{i}_", io_type, str(rng.choice(["Latency", "Resource"])), seed)
        inp, out = FAMILIES[family](d, int(rng.integers(4, 12)))
        inputs.append(inp)
        outputs.append(out)
        designs.append(d)
    model = keras.Model(inputs, outputs)
    for layer in model.layers:  # weights large enough to reach saturation and wrap-around
        if layer.weights and not isinstance(layer, L.BatchNormalization):
            layer.set_weights([rng.normal(0, 0.8, w.shape) for w in layer.get_weights()])
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis",
                                               default_precision=random_type(rng, 12, 18, 5, 8))
    for lname, layer_cfg in cfg["LayerName"].items():
        d = next(d for d in designs if lname.startswith(d.prefix))
        layer_cfg["Trace"] = True
        layer_cfg["Strategy"] = d.strategy
        if lname == d.prefix + "in":
            layer_cfg["Precision"] = {"result": random_type(rng, 6, 18, 2, 6)}
    for d in designs:
        for lname, entries in d.settings.items():
            target = cfg["LayerName"].setdefault(lname, {})
            for key, value in entries.items():
                if key == "Precision":
                    known = target.get("Precision") if isinstance(target.get("Precision"), dict) else {}
                    target["Precision"] = {**known, **value}
                else:
                    target[key] = value
    return model, cfg


def random_inputs(hls_model, n: int, seed: int) -> list[np.ndarray]:
    """Normal inputs around the input type's range, a quarter of them far beyond it."""
    rng = np.random.default_rng(seed)
    xs = []
    for var in hls_model.get_input_variables():
        x = rng.normal(0, 0.6 * 2.0 ** (var.type.precision.integer - 1), (n, *var.shape))
        x[: n // 4] *= 3
        xs.append(x.astype(np.float32))
    return xs


# 10 projects x 5 designs (one of each family): fewer, larger projects share g++'s fixed cost per project
PROJECTS = [(seed, "io_stream" if seed % 2 else "io_parallel", list(FAMILIES)) for seed in range(10)]


@dataclasses.dataclass
class Simulated:
    name: str
    hls_model: object
    X: object
    output: object = None
    traces: dict = dataclasses.field(default_factory=dict)
    error: str | None = None


def _convert(model, cfg, io_type: str, outdir: Path, name: str):
    with contextlib.redirect_stdout(io.StringIO()):
        return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, output_dir=str(outdir), project_name=name,
                                                          backend="Vitis", io_type=io_type)


def _hlsnake_digits_designs(outdir: Path) -> list[Simulated]:
    """A trained digits MLP (float and 6-bit QKeras) through hlsnake's own conversion."""
    from sklearn.datasets import load_digits

    from hlsnake import hls, quantize

    kerasenv.seed_everything(0)
    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(0)) / (X.std(0) + 1e-6)).astype(np.float32)
    model = keras.Sequential([L.InputLayer((64,), name="x_in"), L.Dense(16, name="fc1"), L.Activation("relu", name="relu1"),
                              L.Dense(10, name="output"), L.Activation("softmax", name="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(X[:1200], y[:1200], epochs=5, batch_size=64, verbose=0)
    qmodel, _ = quantize.to_qkeras(model, _ArraySplit(X[:1200], y[:1200]), 6, 6)
    out = []
    for label, m, knobs in (("digits_float", model, {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}),
                            ("digits_qkeras", qmodel, {"reuse_factor": 4, "strategy": "resource", "io_type": "io_stream"})):
        hls_model, _ = hls.convert(m, str(outdir / label), HLS, knobs)
        for layer in hls_model.get_layers():
            layer.set_attr("trace", True)
        out.append(Simulated(label, hls_model, X[1200:1200 + N_SAMPLES]))
    return out


class _ArraySplit:
    """The part of hlsnake.data.Split that quantize.to_qkeras reads."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def xy(self, part, input_shape=None):
        return self.X, self.y


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> list[Simulated]:
    """Every project converted, compiled with tracing (two g++ at a time, while the next
    projects are converted) and simulated."""
    root = tmp_path_factory.mktemp("emulator")

    def build(item):
        try:
            item.hls_model._compile()  # g++ runs in a subprocess: two at a time on two cores
        except Exception as exc:  # reported by the test of this project
            item.error = repr(exc)

    items, builds = [], []
    with ThreadPoolExecutor(2) as pool:

        def write_and_build(item):  # hls4ml's writer prints and is not thread-safe: write here, compile in threads
            item.hls_model.config.trace_output = True
            with contextlib.redirect_stdout(io.StringIO()):
                item.hls_model.write()
            items.append(item)
            builds.append(pool.submit(build, item))

        for seed, io_type, families in PROJECTS:
            name = f"p{seed}"
            model, cfg = random_project(seed, io_type, families, name)
            hls_model = _convert(model, cfg, io_type, root / name, name)
            xs = random_inputs(hls_model, N_SAMPLES, seed)
            write_and_build(Simulated(name, hls_model, xs if len(xs) > 1 else xs[0]))
        for item in _hlsnake_digits_designs(root):
            write_and_build(item)
        for done in builds:
            done.result()
    for item in items:
        if item.error is None:
            item.hls_model.compile = lambda: None  # trace() would recompile what is compiled already
            X64 = [np.ascontiguousarray(x, np.float64) for x in item.X] if isinstance(item.X, list) else \
                np.ascontiguousarray(item.X, np.float64)
            with contextlib.redirect_stdout(io.StringIO()):
                item.output, item.traces = item.hls_model.trace(X64)
    return items


@pytest.mark.parametrize("index", range(len(PROJECTS) + 2),
                         ids=[f"p{s}" for s, _, _ in PROJECTS] + ["digits_float", "digits_qkeras"])
def test_emulator_matches_c_simulation(simulated, index):
    item = simulated[index]
    assert item.error is None, item.error
    emulator = Emulator(item.hls_model)
    problem = compare(emulator, item.X, item.output, item.traces)
    assert problem is None, problem
    logits = [h.inputs[0] for h in emulator.handlers if h.kind == "Softmax"]
    traced_logits = [name for name in logits if name in item.traces]
    assert len(traced_logits) == len(logits)  # every softmax input was compared


def test_designs_cover_the_issue(simulated):
    """Every layer kind, widths 2 and 18, TRN/RND, WRAP/SAT, RF > 1, both strategies, both io types."""
    classes, types, strategies, reuse, io_types, softmax = set(), set(), set(), set(), set(), set()
    for item in simulated:
        hm = item.hls_model
        io_types.add(hm.config.get_config_value("IOType"))
        for layer in hm.get_layers():
            classes.add(layer.class_name)
            strategies.add(str(layer.get_attr("strategy", "")).lower())
            reuse.add(int(layer.get_attr("reuse_factor", 1) or 1))
            if layer.class_name == "Softmax":
                softmax.add(layer.get_attr("implementation"))
            for var in layer.get_layer_precision().values():
                p = var.precision
                if type(p).__name__.endswith("FixedPrecisionType"):
                    types.add((p.width, str(p.rounding_mode), str(p.saturation_mode)))
    n_designs = sum(len(f) for _, _, f in PROJECTS) + 2
    assert n_designs >= 50
    assert {"Dense", "Conv1D", "Conv2D", "PointwiseConv1D", "PointwiseConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
            "BatchNormalization", "Activation", "ParametrizedActivation", "Softmax", "Pooling1D", "Pooling2D",
            "GlobalPooling1D", "GlobalPooling2D", "ZeroPadding1D", "ZeroPadding2D", "Reshape", "Merge", "Concatenate",
            "Clone", "Repack"} <= classes
    widths = {w for w, _, _ in types}
    assert {2, 18} <= widths
    assert {"RND", "TRN"} <= {r for _, r, _ in types} and {"WRAP", "SAT"} <= {s for _, _, s in types}
    assert {"latency", "resource"} <= strategies and max(reuse) > 1
    assert io_types == {"io_parallel", "io_stream"} and {"stable", "latency"} <= softmax


def test_a_wrong_emulation_is_detected(simulated, monkeypatch):
    """A handler with a wrong rounding mode must be caught by compare() and verify(), naming it."""
    item = next(i for i in simulated if i.name == "digits_float")
    emulator = Emulator(item.hls_model)
    logits = next(h for h in emulator.handlers if h.name == "output")
    assert logits.result.rounding == "RND"  # hlsnake's saturating, rounding logits
    right = emulator.run(item.X)["output"].codes
    logits.result = dataclasses.replace(logits.result, rounding="TRN")
    assert (emulator.run(item.X)["output"].codes != right).any()  # the mistake changes values
    problem = compare(emulator, item.X, item.output, item.traces)
    assert problem is not None and re.search(r"(^|first difference: )output: sample \d+", problem), problem
    monkeypatch.setattr(item.hls_model, "trace", lambda X: (item.output, item.traces))
    with pytest.raises(EmulationMismatch, match="output"):
        verify(emulator, item.hls_model, item.X)


def test_unsupported_parts_are_named(tmp_path):
    """What the emulator does not reproduce raises EmulationUnsupported naming the layer."""
    inp = L.Input((6, 6, 1), name="x")
    out = L.UpSampling2D(name="upsample")(inp)
    out = L.Flatten(name="flat")(out)
    hls_model = _convert(keras.Model(inp, out), hls4ml.utils.config_from_keras_model(keras.Model(inp, out), granularity="name",
                                                                                      backend="Vitis"), "io_parallel",
                         tmp_path / "up", "up")
    with pytest.raises(EmulationUnsupported, match="upsample"):
        Emulator(hls_model)
    model = keras.Sequential([L.Input((4,), name="x"), L.Dense(3, name="fc"), L.Activation("softmax", name="sm")])
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    cfg["LayerName"]["sm"]["Implementation"] = "legacy"
    with pytest.raises(EmulationUnsupported, match="sm.*legacy"):
        Emulator(_convert(model, cfg, "io_parallel", tmp_path / "legacy", "legacy"))
    with pytest.raises(EmulationUnsupported, match="63 bits"):
        fixedpoint.FixedType(63, 20)


# -- ap_fixed conversions against the ap_types headers hls4ml ships ----------------------------------

def test_conversions_match_ap_fixed(tmp_path):
    """fixedpoint.convert / from_double against ``T b = a;`` in C++ for every code of random type pairs
    (all quantisation and overflow modes, saturation bits, ap_int targets) and for doubles incl. infinities."""
    rng = np.random.default_rng(7)
    modes_q = ["TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV"]
    modes_o = ["WRAP", "SAT", "SAT_ZERO", "SAT_SYM"]

    def target(max_width):
        width = int(rng.integers(1, max_width + 1))
        if rng.random() < 0.15:
            return fixedpoint.FixedType(width, width, bool(rng.random() < 0.6), is_int=True)
        o = modes_o[int(rng.integers(4))] if width > 1 else "SAT"
        n = int(rng.integers(0, width + 1)) if o == "WRAP" and rng.random() < 0.4 else 0
        return fixedpoint.FixedType(width, int(rng.integers(-3, 12)), bool(rng.random() < 0.7),
                                    modes_q[int(rng.integers(7))], o, n)

    pairs = []
    while len(pairs) < 120:
        src, dst = fixedpoint.FixedType(int(rng.integers(1, 11)), int(rng.integers(-3, 13)), bool(rng.random() < 0.7)), target(9)
        # beyond that ap_fixed's own assertion fires (a bit read past the MSB); to_ap_int_base needs integer bits
        if src.frac - dst.frac <= src.width and not (dst.is_int and src.integer < 1):
            pairs.append((src, dst))
    specials = [0.0, -0.0, 1e30, -1e30, 1e-30, -1e-30, -0.3, 2.0**70 + 2.0**20]
    doubles = [float(v) for v in np.concatenate([rng.normal(0, 4, 200), rng.uniform(-3000, 3000, 40), np.arange(-64, 65) / 8,
                                                  np.arange(-40, 40) / 16 + 1e-9, specials])]
    doubles += [float("inf"), float("-inf")]
    targets = [target(12) for _ in range(60)]

    def cpp(t):
        if t.is_int:
            return f"ap_{'' if t.signed else 'u'}int<{t.width}>"
        return f"ap_{'' if t.signed else 'u'}fixed<{t.width},{t.integer},AP_{t.rounding},AP_{t.saturation},{t.sat_bits}>"

    lines = ['#include "ap_fixed.h"', "#include <cstdio>", "int main() {",
             "double vals[] = {" + ",".join("(1.0/0.0)" if v == float("inf") else "(-1.0/0.0)" if v == float("-inf") else repr(v)
                                            for v in doubles) + "};"]
    def show(t):  # print the code's bits
        return f'printf("%lld ", (long long)b.range({t.width - 1}, 0).to_int64());'

    for src, dst in pairs:
        lines.append(f"for (long c = 0; c < (1L << {src.width}); c++) {{ {cpp(src)} a; a.range({src.width - 1}, 0) = c; "
                     f'{cpp(dst)} b = a; {show(dst)} }} printf("\\n");')
    for dst in targets:
        lines.append(f'for (double v : vals) {{ {cpp(dst)} b = v; {show(dst)} }} printf("\\n");')
    lines.append("return 0; }")
    (tmp_path / "t.cpp").write_text("\n".join(lines))
    ap_types = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    subprocess.run(["g++", "-O0", "-std=c++14", f"-I{ap_types}", "t.cpp", "-o", "t"], cwd=tmp_path, check=True,
                   capture_output=True)
    rows = subprocess.run(["./t"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.splitlines()
    for (src, dst), row in zip(pairs, rows):
        codes = fixedpoint.wrap(np.arange(1 << src.width), src.width, src.signed)
        expected = fixedpoint.wrap(np.array(row.split(), dtype=np.int64), dst.width, dst.signed)
        assert np.array_equal(fixedpoint.convert(codes, src.frac, dst), expected), (src, dst)
    for dst, row in zip(targets, rows[len(pairs):]):
        expected = fixedpoint.wrap(np.array(row.split(), dtype=np.int64), dst.width, dst.signed)
        assert np.array_equal(fixedpoint.from_double(np.array(doubles), dst), expected), dst
