rule scale:
    """Every hidden layer narrower by the factor in the directory name, retrained."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/scale_f{factor}/model.h5",
        metrics="{parent}/scale_f{factor}/metrics.json",
    params:
        sections={"scale": fit_settings(config["scale"])},
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(120),
    script:
        "../scripts/model_step.py"


rule scale_auto:
    """MetaML scaling: widths 1 - k/8, retrained, within a relative accuracy loss."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/scale_a{tolerance}/model.h5",
        metrics="{parent}/scale_a{tolerance}/metrics.json",
        candidates="{parent}/scale_a{tolerance}/candidates.csv",
    params:
        sections={"scale": config["scale"]},
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(600),
    script:
        "../scripts/model_step.py"
