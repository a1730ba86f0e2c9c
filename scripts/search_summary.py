from hlsnake import trials

w = snakemake.wildcards
frame = trials.summarise(
    list(snakemake.input.rounds),
    dict(snakemake.output.items()),
    snakemake.params.score,
    snakemake.params.hypervolume,
    snakemake.params.budget,
    title=f"{w.study}: {snakemake.config['dataset']['name']} / {snakemake.config['model']['name']}",
)
columns = ["trial", "round", "origin", "label", "status", "accuracy", "DSP", "LUT", "latency_cycles", "score", "pareto"]
print(frame[[c for c in columns if c in frame]].to_string(index=False), flush=True)
