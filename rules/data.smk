rule prepare_data:
    """Load the data set, split it (stratified, seeded) and standardise it on the training split."""
    output:
        f"{RESULTS}/{{dataset}}/data/split.npz",
    log:
        f"{RESULTS}/{{dataset}}/data/{artifacts.LOG_FILE}",
    conda:
        CONDA_ENV
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(30),
    params:
        spec=dataset_settings(config["dataset"]),
        seed=config["seed"],
    script:
        "../scripts/prepare_data.py"
