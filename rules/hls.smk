rule hls_convert:
    """hls4ml project, compiled with g++; its bit-accurate test accuracy is the design's accuracy."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        metrics="{parent}/hls_rf{rf}_{strategy}_{io}/metrics.json",
        layers="{parent}/hls_rf{rf}_{strategy}_{io}/layers.json",
        weights="{parent}/hls_rf{rf}_{strategy}_{io}/weights.npz",
        project=directory("{parent}/hls_rf{rf}_{strategy}_{io}/prj"),
    params:
        hls={k: v for k, v in config["hls"].items() if k not in ("reuse_factor", "strategy", "io_type")},
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/hls_convert.py"
