localrules:
    front,


checkpoint front:
    """The designs on the front of the summary whose accuracy the emulator computed."""
    input:
        report_inputs,
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/{artifacts.FRONT_FILE}",
    log:
        f"{RESULTS}/{{dataset}}/{{model}}/front.log",
    conda:
        CONDA_ENV
    params:
        designs=lambda w: [d.path for d in designs_of(w.dataset, w.model)],
    script:
        "../scripts/front.py"


rule report:
    """One row per design (its parameters, bit-accurate accuracy, resources and their source) and the plot."""
    input:
        report_inputs,
        front_checks,
    output:
        csv=report(
            f"{RESULTS}/{{dataset}}/{{model}}/summary.csv",
            caption="../workflow/report/summary_csv.rst",
            category="{dataset}/{model}",
            subcategory="designs",
        ),
        html=report(
            f"{RESULTS}/{{dataset}}/{{model}}/summary.html",
            caption="../workflow/report/summary.rst",
            category="{dataset}/{model}",
            subcategory="designs",
        ),
        png=report(
            f"{RESULTS}/{{dataset}}/{{model}}/summary.png",
            caption="../workflow/report/summary_plot.rst",
            category="{dataset}/{model}",
            subcategory="designs",
        ),
    log:
        f"{RESULTS}/{{dataset}}/{{model}}/summary.log",
    conda:
        CONDA_ENV
    params:
        designs=lambda w: [d.path for d in designs_of(w.dataset, w.model)],
    script:
        "../scripts/report.py"
