from hlsnake.report import design_files


def _report_inputs(wildcards):
    root = f"{RESULTS}/{wildcards.dataset}/{wildcards.model}"
    return sorted({f for design in DESIGNS if design.root == root for f in design_files(design)})


rule report:
    """One row per design (its parameters, bit-accurate accuracy, resources and their source) and the plot."""
    input:
        _report_inputs,
    output:
        csv=report(
            f"{RESULTS}/{{dataset}}/{{model}}/summary.csv",
            caption="../workflow/report/summary.rst",
            category="{dataset}/{model}",
        ),
        png=report(
            f"{RESULTS}/{{dataset}}/{{model}}/summary.png",
            caption="../workflow/report/summary_plot.rst",
            category="{dataset}/{model}",
        ),
    params:
        designs=lambda w: [d.path for d in DESIGNS if d.root == f"{RESULTS}/{w.dataset}/{w.model}"],
    script:
        "../scripts/report.py"
