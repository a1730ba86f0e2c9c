from pathlib import Path

from hlsnake import stages
from hlsnake.designs import parse_design_path

out_dir = Path(snakemake.output.model).parent
knobs = parse_design_path(str(out_dir)).steps[-1].params
stages.quantize(
    snakemake.input.data,
    Path(snakemake.input.model).parent,
    out_dir,
    knobs["weight_bits"],
    knobs["activation_bits"],
    snakemake.params.fit,
    snakemake.params.seed,
)
