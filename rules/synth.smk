def _synth_minutes(wildcards):
    """The estimator takes seconds; a tool may take synth.timeout per run (Yosys: the RTL
    simulation, then the synthesis; vendor HLS: the C synthesis)."""
    return 10 if wildcards.backend == "estimate" else 15 + 2 * int(config["synth"]["timeout"]) // 60


rule csynth:
    """Resources and latency of an hls4ml design from the configured backend."""
    input:
        layers="{hlsdir}/layers.json",
        weights="{hlsdir}/weights.npz",
        data=lambda w: data_file(w.hlsdir),
    output:
        "{hlsdir}/synth_{backend}/resources.json",
    params:
        hls=config["hls"],
        synth=lambda w: synth_settings(config["synth"], w.backend),
    resources:
        mem_mb=per_attempt(lambda w: 2000 if w.backend == "estimate" else 16000),
        runtime=per_attempt(_synth_minutes),
    script:
        "../scripts/csynth.py"
