# Control tasks: reduce keeps the best branch of a fork; branch is bottom-up feedback.
# The nodes come from the config (src/hlsnake/flows.py); each is found by its path.


rule reduce:
    """Evaluate every branch of a fork (hls + synth) and keep the model of the best one."""
    input:
        reduce_inputs,
    output:
        model=f"{{parent}}/{{step}}/{MODEL}",
        metrics=f"{{parent}}/{{step}}/{METRICS}",
        table=f"{{parent}}/{{step}}/{artifacts.REDUCE_TABLE}",
    log:
        job_log("{parent}/{step}"),
    wildcard_constraints:
        step=REDUCE_STEP,
    conda:
        CONDA_ENV
    params:
        branches=lambda w: [branch.path for branch in reduce_node(w).branches],
        objective=lambda w: reduce_node(w).objective,
    script:
        "../scripts/reduce.py"


checkpoint branch_check:
    """Build iteration k of a branch (an ordinary design path) and test the predicate on it."""
    input:
        lambda w: design_files(branch_node(w).iteration(int(w.k))),
    output:
        "{design}/{step}/iter{k}.json",
    log:
        "{design}/{step}/iter{k}.log",
    wildcard_constraints:
        step=BRANCH_STEP,
    conda:
        CONDA_ENV
    params:
        design=lambda w: branch_node(w).iteration(int(w.k)).path,
        when=lambda w: branch_node(w).when,
    script:
        "../scripts/branch_check.py"


rule branch_final:
    """The iteration a branch ended with, and why it stopped."""
    input:
        branch_iterations,
    output:
        f"{{design}}/{{step}}/{artifacts.BRANCH_FINAL_FILE}",
    log:
        job_log("{design}/{step}"),
    wildcard_constraints:
        step=BRANCH_STEP,
    conda:
        CONDA_ENV
    params:
        max_iterations=lambda w: branch_node(w).max_iterations,
    script:
        "../scripts/branch_final.py"
