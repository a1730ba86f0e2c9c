rule train:
    """The float Keras baseline: built and trained (seeded, early stopping on the validation
    loss), or a user's model file, as it is or re-initialised and trained."""
    input:
        unpack(train_inputs),
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
        model=model_settings(config["model"]),
        fit=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train.py"
