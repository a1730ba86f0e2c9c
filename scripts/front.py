# The designs of a front (a summary's or a study's) that the C simulation checks.
from hlsnake import report, trials
from hlsnake.designs import parse_design_path
from hlsnake.fileio import write_json

if snakemake.rule == "front":
    hls_dirs = report.unchecked_front([parse_design_path(path) for path in snakemake.params.designs])
else:
    hls_dirs = trials.unchecked_front(trials.study_frame(list(snakemake.input), snakemake.params.score, snakemake.params.budget))
write_json(snakemake.output[0], {"hls": hls_dirs})
