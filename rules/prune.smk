rule prune:
    """Magnitude pruning (tfmot, polynomial decay) to the sparsity in the directory name."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/prune_s{sparsity}/model.h5",
        metrics="{parent}/prune_s{sparsity}/metrics.json",
    params:
        sections={"prune": fit_settings(config["prune"])},
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(120),
    script:
        "../scripts/model_step.py"


rule prune_auto:
    """MetaML pruning: bisection on the sparsity within an absolute accuracy drop."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/prune_a{tolerance}/model.h5",
        metrics="{parent}/prune_a{tolerance}/metrics.json",
        candidates="{parent}/prune_a{tolerance}/candidates.csv",
    params:
        sections={"prune": config["prune"]},
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(600),
    script:
        "../scripts/model_step.py"
