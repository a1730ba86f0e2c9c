rule train:
    """Train the float Keras baseline (seeded, early stopping on the validation loss)."""
    input:
        data=f"{RESULTS}/{{dataset}}/data/split.npz",
    output:
        model=f"{RESULTS}/{{dataset}}/{{model}}/train/{MODEL}",
        metrics=f"{RESULTS}/{{dataset}}/{{model}}/train/{METRICS}",
    log:
        job_log(f"{RESULTS}/{{dataset}}/{{model}}/train"),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(120),
    params:
        model=config["model"],
        fit=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train.py"
