# The model steps of every task (scale, prune, quantize, ...: src/hlsnake/tasks/): the
# output directory names the task and its knobs, and the task says what the job reads.


rule model_step:
    """A model step with the knobs in its directory name (e.g. prune_s0.50), fine-tuned."""
    input:
        model=f"{{parent}}/{MODEL}",
        data=lambda w: data_file(w.parent),
    output:
        model=f"{{parent}}/{{step}}/{MODEL}",
        metrics=f"{{parent}}/{{step}}/{METRICS}",
    log:
        job_log("{parent}/{step}"),
    wildcard_constraints:
        step=FIXED_MODEL_STEP,
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **step_resources(automatic=False),
    params:
        sections=lambda w: step_sections(w.step, automatic=False),
        seed=config["seed"],
    script:
        "../scripts/model_step.py"


rule model_step_auto:
    """A model step that searches its own knob under the tolerance in its directory name
    (e.g. prune_a0.0200), recording every candidate it tried."""
    input:
        model=f"{{parent}}/{MODEL}",
        data=lambda w: data_file(w.parent),
    output:
        model=f"{{parent}}/{{step}}/{MODEL}",
        metrics=f"{{parent}}/{{step}}/{METRICS}",
        candidates=f"{{parent}}/{{step}}/{artifacts.CANDIDATES_FILE}",
    log:
        job_log("{parent}/{step}"),
    wildcard_constraints:
        step=AUTO_MODEL_STEP,
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **step_resources(automatic=True),
    params:
        sections=lambda w: step_sections(w.step, automatic=True),
        seed=config["seed"],
    script:
        "../scripts/model_step.py"
