rule quantize:
    """QKeras conversion with the bit widths in the directory name, quantisation-aware fine-tuning."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        model="{parent}/quant_w{wbits}_a{abits}/model.h5",
        metrics="{parent}/quant_w{wbits}_a{abits}/metrics.json",
    params:
        fit=config["quantize"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/quantize.py"
