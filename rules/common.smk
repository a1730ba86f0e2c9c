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
