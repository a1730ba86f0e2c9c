rule train:
    """Train the float Keras baseline (seeded, early stopping on the validation loss)."""
    input:
        data=f"{RESULTS}/{{dataset}}/data/split.npz",
    output:
        model=f"{RESULTS}/{{dataset}}/{{model}}/train/model.h5",
        metrics=f"{RESULTS}/{{dataset}}/{{model}}/train/metrics.json",
    params:
        model=config["model"],
        fit=config["train"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(120),
    script:
        "../scripts/train.py"
