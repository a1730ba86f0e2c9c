"""quantize: QKeras with per-layer bit widths, quantisation-aware fine-tuning.

Fixed: ``quant_w6_a6`` (or per layer, ``quant_w6-4-8_a6-4``). Automatic: ``quant_a0.0100``
lowers the widths as far as the bit-accurate hls4ml accuracy stays within an absolute
drop (MetaML's QUANTIZATION, :func:`hlsnake.quantize.auto_quantize`).
"""

from __future__ import annotations

from ..artifacts import SCRATCH_DIR
from .hls import DEFAULT_EVALUATOR
from .base import BITS, KnobKind, Resources, bits_text, bits_value, fit_settings, model_task, register

# what automatic quantisation's hls4ml candidates read of the hls section (they always run
# reuse factor 1, Latency)
CANDIDATE_HLS_KEYS = ("backend", "part", "clock_period", "default_precision", "io_type", "evaluate")


def complete(knobs: dict) -> dict:
    """Activation bits default to the weight bits."""
    if "weight_bits" in knobs and knobs.get("activation_bits") is None:
        return {**knobs, "activation_bits": knobs["weight_bits"]}
    return dict(knobs)


def _fixed(parent, split, knobs: dict, sections: dict, out_dir, log):
    from .. import quantize  # TensorFlow loads in the job, not where the Snakefile reads the registry

    wbits, abits = knobs["weight_bits"], knobs["activation_bits"]
    model, precisions, _ = quantize.quantize(parent, split, wbits, abits, sections["quantize"], log=log)
    return model, {"weight_bits": wbits, "activation_bits": abits, "quantizers": precisions}, None


def _auto(parent, split, knobs: dict, sections: dict, out_dir, log):
    from .. import quantize

    model, wbits, abits, precisions, record = quantize.auto_quantize(
        parent, split, knobs["tolerance"], sections["quantize"], sections["hls"], out_dir / SCRATCH_DIR, log=log
    )
    return model, {"weight_bits": wbits, "activation_bits": abits, "quantizers": precisions}, record


def _sections(config: dict, auto: bool) -> dict:
    if not auto:
        return {"quantize": fit_settings(config["quantize"])}
    hls = {k: config["hls"][k] for k in CANDIDATE_HLS_KEYS if not (k == "evaluate" and config["hls"][k] == DEFAULT_EVALUATOR)}
    return {"quantize": config["quantize"], "hls": hls}


def _from_point(point: dict) -> dict | None:
    if point.get("weight_bits") is None:
        return None  # no quantize step
    return complete({"weight_bits": point["weight_bits"], "activation_bits": point.get("activation_bits")})


TASK = register(
    model_task(
        name="quantize",
        prefix="quant",
        pattern=rf"w(?P<weight_bits>{BITS})_a(?P<activation_bits>{BITS})",
        format=lambda k: f"w{bits_text(k['weight_bits'])}_a{bits_text(k['activation_bits'])}",
        parse=lambda m: {"weight_bits": bits_value(m["weight_bits"]), "activation_bits": bits_value(m["activation_bits"])},
        run_fixed=_fixed,
        run_auto=_auto,
        sections=_sections,
        resources=Resources(minutes=120, auto_minutes=900, cpus=2, auto_cpus=2),
        realised=("weight_bits", "activation_bits"),
        knobs=(
            KnobKind("weight_bits", int, layers="weight", none_means="no quantize step"),
            KnobKind("activation_bits", int, layers="activation"),  # absent/null: the weight bits
        ),
        from_point=_from_point,
        complete=complete,
    )
)
