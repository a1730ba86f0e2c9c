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
        synth=config["synth"],
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/csynth.py"
