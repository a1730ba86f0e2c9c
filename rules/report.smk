from hlsnake.designs import dataset_tag
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
    params:
        designs=lambda w: [d.path for d in DESIGNS if d.root == f"{RESULTS}/{w.dataset}/{w.model}"],
    script:
        "../scripts/report.py"


def reported_studies():
    """The outputs of a search or grid that has run, for `snakemake --report` only: the report
    shows them beside the designs, while a plain run must not rebuild a study whenever the
    config's search section changes."""
    if not any(arg.split("=")[0] == "--report" for arg in sys.argv):
        return []
    return [
        f"{SEARCH_ROOT}/{study}/{name}"
        for study in ("search", "grid")
        if os.path.exists(f"{SEARCH_ROOT}/{study}/{SEARCH_FILES['trials']}")
        for name in SEARCH_FILES.values()
    ]


# outputs of a search or grid (rules/search.smk) that the report shows, with their captions
STUDY_CAPTIONS = {"progress": "search_progress.rst", "fronts": "search_fronts.rst", "pareto": "search_pareto.rst"}


def study_output(key, path):
    """``path`` marked for the report when ``key`` has a caption, in the category of the designs."""
    if key not in STUDY_CAPTIONS:
        return path
    category = f"{dataset_tag(config)}/{config['model']['name']}"
    return report(path, caption=f"../workflow/report/{STUDY_CAPTIONS[key]}", category=category, subcategory="{study}")
