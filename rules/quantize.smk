rule quantize:
    """QKeras conversion with the bit widths in the directory name, quantisation-aware fine-tuning."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/quant_w{wbits}_a{abits}/model.h5",
        metrics="{parent}/quant_w{wbits}_a{abits}/metrics.json",
    params:
        sections={"quantize": fit_settings(config["quantize"])},
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(120),
    script:
        "../scripts/model_step.py"


rule quantize_auto:
    """Lowest per-layer bit widths whose bit-accurate hls4ml accuracy stays within the tolerance."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/quant_a{tolerance}/model.h5",
        metrics="{parent}/quant_a{tolerance}/metrics.json",
        candidates="{parent}/quant_a{tolerance}/candidates.csv",
    params:
        sections={"quantize": config["quantize"], "hls": candidate_hls_settings(config["hls"])},
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(900),
    script:
        "../scripts/model_step.py"
