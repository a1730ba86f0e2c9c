rule prune:
    """Magnitude pruning (tfmot, polynomial decay) to the sparsity in the directory name."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/prune_s{sparsity}/model.h5",
        metrics="{parent}/prune_s{sparsity}/metrics.json",
    params:
        fit=config["prune"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/prune.py"
