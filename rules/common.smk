# Path helpers and wildcard constraints shared by every rule.
from hlsnake.designs import NAME_PATTERN, hls_stage_regex, model_stage_regex, parse_design_path, synth_stage_regex


wildcard_constraints:
    dataset=NAME_PATTERN,
    model=NAME_PATTERN,
    parent=model_stage_regex(RESULTS),
    hlsdir=hls_stage_regex(RESULTS),
    design=synth_stage_regex(RESULTS),
    k=r"\d+",
    sparsity=r"0\.\d{2}",
    factor=r"\d\.\d{3}",
    tolerance=r"\d\.\d{4}",
    node="[0-9a-f]{8}",
    wbits=r"\d+(-\d+)*",
    abits=r"\d+(-\d+)*",
    rf=r"\d+(-\d+)*",
    strategy="latency|resource",
    io="parallel|stream",
    backend="[a-z0-9]+",


# Params are what a job reads: a change in another key must not rerun it.
FIT_KEYS = ("epochs", "batch_size", "learning_rate", "patience", "recovery_epochs")


def fit_settings(section):
    """The training settings of a task section (a fixed-knob step reads nothing else)."""
    return {k: section[k] for k in FIT_KEYS if k in section}


def project_hls_settings(hls):
    """The hls section without the knobs that a design's hls directory name holds."""
    return {k: v for k, v in hls.items() if k not in ("reuse_factor", "strategy", "io_type")}


def candidate_hls_settings(hls):
    """What automatic quantisation's hls4ml candidates use (they always run reuse factor 1, Latency)."""
    return {k: hls[k] for k in ("backend", "part", "clock_period", "default_precision", "io_type")}


def synth_settings(synth, backend):
    """The synth keys a backend reads: the estimator none; tools their timeout and settings."""
    if backend == "estimate":
        return {"backend": backend}
    return {**{k: v for k, v in synth.items() if k != "requested_backend"}, "backend": backend}


def data_file(stage_dir):
    """The data split of the data set a stage belongs to."""
    design = parse_design_path(stage_dir)
    return f"{design.results}/{design.dataset}/data/split.npz"


def summary_files(designs):
    roots = sorted({d.root for d in designs})
    return [f"{root}/{name}" for root in roots for name in ("summary.csv", "summary.html", "summary.png")]


def per_attempt(value):
    """A resource that grows with each attempt (--retries): a job stopped at its memory or
    time limit gets more the next time. ``value``: a number, or a function of the wildcards."""
    return lambda wildcards, attempt: (value(wildcards) if callable(value) else value) * attempt
