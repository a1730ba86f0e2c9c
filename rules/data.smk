rule prepare_data:
    """Load the data set, split it (stratified, seeded) and standardise it on the training split."""
    output:
        f"{RESULTS}/{{dataset}}/data/split.npz",
    params:
        spec=config["dataset"],
        seed=config["seed"],
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(30),
    script:
        "../scripts/prepare_data.py"
