rule hls_convert:
    """hls4ml project and its bit-accurate test accuracy: the design's accuracy."""
    input:
        model=f"{{parent}}/{MODEL}",
        data=lambda w: data_file(w.parent),
    output:
        metrics=f"{{parent}}/{{step}}/{METRICS}",
        layers=f"{{parent}}/{{step}}/{artifacts.LAYERS_FILE}",
        weights=f"{{parent}}/{{step}}/{artifacts.WEIGHTS_FILE}",
        project=directory(f"{{parent}}/{{step}}/{artifacts.PROJECT_DIR}"),
    log:
        job_log("{parent}/{step}"),
    wildcard_constraints:
        step=FIXED_HLS_STEP,
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **step_resources(automatic=False),
    params:
        hls=lambda w: step_sections(w.step, automatic=False)["hls"],
    script:
        "../scripts/hls_convert.py"


rule hls_convert_auto:
    """As hls_convert, with the data types narrowed under the tolerance in the directory name."""
    input:
        model=f"{{parent}}/{MODEL}",
        data=lambda w: data_file(w.parent),
    output:
        metrics=f"{{parent}}/{{step}}/{METRICS}",
        layers=f"{{parent}}/{{step}}/{artifacts.LAYERS_FILE}",
        weights=f"{{parent}}/{{step}}/{artifacts.WEIGHTS_FILE}",
        candidates=f"{{parent}}/{{step}}/{artifacts.CANDIDATES_FILE}",
        project=directory(f"{{parent}}/{{step}}/{artifacts.PROJECT_DIR}"),
    log:
        job_log("{parent}/{step}"),
    wildcard_constraints:
        step=AUTO_HLS_STEP,
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **step_resources(automatic=True),
    params:
        hls=lambda w: step_sections(w.step, automatic=True)["hls"],
    script:
        "../scripts/hls_convert.py"


rule csim_check:
    """The C simulation of a design that reached a front: it must agree with the emulator."""
    input:
        model=f"{{parent}}/{MODEL}",
        data=lambda w: data_file(w.parent),
        hls=f"{{parent}}/{{step}}/{METRICS}",
    output:
        f"{{parent}}/{{step}}/{artifacts.CSIM_CHECK_FILE}",
    log:
        "{parent}/{step}/csim_check.log",
    wildcard_constraints:
        step=f"{FIXED_HLS_STEP}|{AUTO_HLS_STEP}",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        hls=lambda w: step_sections(w.step, automatic=False)["hls"],
    script:
        "../scripts/csim_check.py"
