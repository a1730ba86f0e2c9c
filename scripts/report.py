from hlsnake import report
from hlsnake.designs import parse_design_path

frame = report.write(
    [parse_design_path(path) for path in snakemake.params.designs],
    snakemake.output.csv,
    snakemake.output.png,
    snakemake.output.html,
)
print(frame.drop(columns=["design", "dataset", "model"]).to_string(index=False), flush=True)
