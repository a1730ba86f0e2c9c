rule prepare_data:
    """Load the data set, split it (stratified, seeded) and standardise it on the training split."""
    output:
        f"{RESULTS}/{{dataset}}/data/split.npz",
    params:
        spec=config["dataset"],
        seed=config["seed"],
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/prepare_data.py"
