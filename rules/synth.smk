rule csynth:
    """Resources and latency of an hls4ml design from the backend its directory names."""
    input:
        layers=f"{{hlsdir}}/{artifacts.LAYERS_FILE}",
        weights=f"{{hlsdir}}/{artifacts.WEIGHTS_FILE}",
        data=lambda w: data_file(w.hlsdir),
    output:
        f"{{hlsdir}}/synth_{{backend}}/{artifacts.RESOURCES_FILE}",
    log:
        job_log("{hlsdir}/synth_{backend}"),
    wildcard_constraints:
        backend=SYNTH_BACKEND,
    conda:
        CONDA_ENV
    resources:
        mem_mb=per_attempt(lambda w: 2000 if w.backend == "estimate" else 16000),
        runtime=per_attempt(synth_minutes),
    params:
        hls=synthesis_hls_settings(config["hls"]),
        synth=lambda w: synth_settings(config["synth"], w.backend),
    script:
        "../scripts/csynth.py"
