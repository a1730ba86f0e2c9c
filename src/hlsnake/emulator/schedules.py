"""Which product each multiply-accumulate kernel of nnet_utils adds into which accumulator, in
which order: the index arithmetic of the loops, replayed in Python.

A schedule is validated before it is trusted: every (input k, output f) pair exactly once, every
index in bounds and reading the right weight. Some kernels compute something else for some
reuse factors (e.g. ``conv_*d_resource_cl`` reads past its buffer when the reuse factor exceeds
the kernel's inputs); the emulator then reports them unsupported instead of imitating undefined
behaviour. The order matters only where a saturating accumulator can overflow.
"""

from __future__ import annotations

import math

import numpy as np

from .fixedpoint import EmulationUnsupported


def _blocks(n_in, n_out, rf, multscale):
    """The loops of dense_resource_rf_leq_nin and conv_*d_resource_cl: for each of the rf rounds,
    weights rf apart; the input index wraps back to the round's first, the output index advances
    every ``multscale`` products."""
    block_factor = math.ceil(n_in * n_out / rf)
    for ir in range(rf):
        i, o, step = ir, 0, 0
        for im in range(block_factor):
            yield i, o, ir + rf * im
            i += rf
            if i >= n_in:
                i = ir
            if step + 1 >= multscale:
                step, o = 0, o + 1
            else:
                step += 1


def _dense_rf_leq_nin(n_in, n_out, rf, n_weights):
    return _blocks(n_in, n_out, rf, math.ceil(n_in * n_out / min(n_in, rf)) // n_out)


def _conv_resource(n_in, n_out, rf, n_weights):
    """conv_1d/2d_resource_cl (Vitis, io_parallel): weights_2d[i_blk][i_rf] = weights[i_blk * rf + i_rf]."""
    return _blocks(n_in, n_out, rf, math.ceil(n_in * n_out / rf) // n_out)


def _dense_rf_gt_nin_rem0(n_in, n_out, rf, n_weights):
    rufactor = min(rf, n_in * n_out)
    block_factor = math.ceil(n_in * n_out / rf)
    outscale = rufactor // n_in
    outidx, step = [], 0
    for ir in range(rufactor):
        outidx.append(step)
        if (ir + 1) % n_in == 0:
            step += 1
    i = 0
    for ir in range(rufactor):
        w, o = ir, outidx[ir]
        for _ in range(block_factor):
            yield i, o, w
            w += rufactor
            if w >= n_in * n_out:
                break
            o += outscale
        i = 0 if i + 1 >= n_in else i + 1


def _depthwise_resource(n_in, n_out, rf, n_weights):
    """depthwise_product_resource_rf_leq_nout / _rf_gt_nout_rem0 / _gt_nout, which all come down to:
    round ir reads inputs ir, ir + rf, ... and starts at output ir % n_out, stepping rf % n_out."""
    rufactor = min(rf, n_in)
    block_factor = math.ceil(n_in / rufactor)
    for ir in range(rufactor):
        i, o = ir, ir % n_out
        for _ in range(block_factor):
            yield i, o, i
            i += rufactor
            o = (o + rf % n_out) % n_out


# kernel -> (loop replay, how the weight index maps to (input, output))
_DENSE = lambda w, n_in, n_out: (w % n_in, w // n_in)  # noqa: E731  (weights transposed by the Resource strategy)
_DEPTHWISE = lambda w, n_in, n_out: (w, w % n_out)  # noqa: E731  (tap-major: input k*C + c feeds channel c)
KERNELS = {
    "DenseResource_rf_leq_nin": (_dense_rf_leq_nin, _DENSE),
    "DenseResource_rf_gt_nin_rem0": (_dense_rf_gt_nin_rem0, _DENSE),
    "conv_resource": (_conv_resource, _DENSE),
    "DepthwiseDenseResource_rf_leq_nout": (_depthwise_resource, _DEPTHWISE),
    "DepthwiseDenseResource_rf_gt_nout_rem0": (_depthwise_resource, _DEPTHWISE),
    "DepthwiseDenseResource_rf_gt_nout": (_depthwise_resource, _DEPTHWISE),
}
LATENCY = {"DenseLatency", "DepthwiseDenseLatency"}


def order(kernel: str, n_in: int, n_out: int, rf: int, layer: str, depthwise: bool = False) -> np.ndarray:
    """(steps, n_out) array: the input index added to each accumulator at each step, in the
    kernel's order. Raises EmulationUnsupported if the kernel does not compute the plain sum."""
    per_output = n_in // n_out if depthwise else n_in
    if kernel in LATENCY:
        if depthwise:  # acc[c] += mult[k * C + c] for taps k ascending
            return np.arange(per_output)[:, None] * n_out + np.arange(n_out)[None, :]
        return np.repeat(np.arange(n_in)[:, None], n_out, axis=1)
    if kernel == "DenseResource_rf_gt_nin":  # hls4ml 1.3 names it for reuse factors > n_in that n_in does not divide
        raise EmulationUnsupported(f"layer {layer}: nnet_utils has no {kernel} kernel class (reuse factor {rf} for "
                                   f"{n_in}x{n_out}): the project does not compile")
    if kernel not in KERNELS:
        raise EmulationUnsupported(f"layer {layer}: kernel {kernel} is not emulated")
    replay, weight_of = KERNELS[kernel]
    n_weights = n_in if depthwise else n_in * n_out
    seen = [[] for _ in range(n_out)]
    for i, o, w in replay(n_in, n_out, rf, n_weights):
        if not (0 <= i < n_in and 0 <= o < n_out and 0 <= w < n_weights) or weight_of(w, n_in, n_out) != (i, o):
            raise EmulationUnsupported(
                f"layer {layer}: hls4ml's {kernel} kernel with reuse factor {rf} for {n_in}x{n_out} does not compute the "
                f"layer (its loop reads input {i}, output {o}, weight {w})")
        seen[o].append(i)
    expected = [sorted(range(o, n_in, n_out)) if depthwise else list(range(n_in)) for o in range(n_out)]
    if any(sorted(s) != e for s, e in zip(seen, expected)):
        raise EmulationUnsupported(f"layer {layer}: hls4ml's {kernel} kernel with reuse factor {rf} for {n_in}x{n_out} "
                                   "does not add every product exactly once")
    return np.array(seen).T
