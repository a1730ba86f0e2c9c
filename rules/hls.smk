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
        hls=project_hls_settings(config["hls"]),
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    script:
        "../scripts/hls_convert.py"


rule hls_convert_auto:
    """As hls_convert, with the data types narrowed under the tolerance in the directory name."""
    input:
        model="{parent}/model.h5",
        data=lambda w: data_file(w.parent),
    output:
        metrics="{parent}/hls_rf{rf}_{strategy}_{io}_a{tolerance}/metrics.json",
        layers="{parent}/hls_rf{rf}_{strategy}_{io}_a{tolerance}/layers.json",
        weights="{parent}/hls_rf{rf}_{strategy}_{io}_a{tolerance}/weights.npz",
        candidates="{parent}/hls_rf{rf}_{strategy}_{io}_a{tolerance}/candidates.csv",
        project=directory("{parent}/hls_rf{rf}_{strategy}_{io}_a{tolerance}/prj"),
    params:
        hls=project_hls_settings(config["hls"]),
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(600),
    script:
        "../scripts/hls_convert.py"
