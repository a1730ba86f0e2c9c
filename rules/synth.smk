rule csynth:
    """Resources and latency of an hls4ml design from the configured backend."""
    input:
        layers="{hlsdir}/layers.json",
        weights="{hlsdir}/weights.npz",
    output:
        "{hlsdir}/synth_{backend}/resources.json",
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/csynth.py"
